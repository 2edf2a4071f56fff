//! `vision run`: the cameras, the gallery refresher and the event sender, together.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::api;
use crate::camera::{self, CameraContext};
use crate::config::Config;
use crate::gallery::{Gallery, GallerySync};
use crate::pipeline::{self, FaceEngine, GalleryHandle, PHOTO_MAX_SIDE};
use crate::queue::Outbox;
use crate::{Error, Result};

pub fn run(config: Config) -> Result<()> {
    let models = config.models_dir();
    let embedder = pipeline::load_embedder(&models)?;
    let api = api::Client::new(&config.server)?;
    let outbox = Outbox::open(&config.data_dir.join("queue"))?;
    if !outbox.is_empty() {
        tracing::info!(
            "{} queued events from before will be sent first",
            outbox.len()
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let tokens: HashMap<String, String> = config
        .cameras
        .iter()
        .map(|c| (c.id.clone(), c.token.clone()))
        .collect();

    // Galleries: one per camera (biometrics may be off at one camera's branch).
    let handles: Vec<GalleryHandle> = config
        .cameras
        .iter()
        .map(|_| Arc::new(RwLock::new(Arc::new(Gallery::default()))))
        .collect();
    let mut sync = GallerySync::new(config.data_dir.join("gallery"))?;
    let mut photo_engine = FaceEngine::new(
        &models,
        config.recognition.detect_score,
        PHOTO_MAX_SIDE,
        embedder.clone(),
    )?;
    let camera_tokens: Vec<&str> = config.cameras.iter().map(|c| c.token.as_str()).collect();
    let strangers = crate::strangers::Strangers::default();
    let refresh = |sync: &mut GallerySync, engine: &mut FaceEngine| -> Result<()> {
        let galleries = sync.refresh(&api, &camera_tokens, engine)?;
        for (h, g) in handles.iter().zip(galleries) {
            *h.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(g);
        }
        let forgotten = strangers.forget(&sync.take_forget_strangers());
        if forgotten > 0 {
            tracing::info!("{forgotten} stranger(s) forgotten: they became clients");
        }
        Ok(())
    };
    match refresh(&mut sync, &mut photo_engine) {
        Ok(()) => tracing::info!("gallery: {} clients", sync.cached_ids().len()),
        Err(e) => {
            let cached = Arc::new(sync.load_cached());
            tracing::warn!(
                "gallery not refreshed ({e}); using {} cached clients",
                cached.people.len()
            );
            for h in &handles {
                *h.write().unwrap_or_else(|p| p.into_inner()) = cached.clone();
            }
        }
    }

    let ctx = CameraContext {
        models,
        recognition: config.recognition,
        embedder,
        outbox: outbox.clone(),
        stop: stop.clone(),
        strangers: strangers.clone(),
    };
    let mut cameras = Vec::new();
    for (cam, gallery) in config.cameras.iter().zip(&handles) {
        cameras.push(camera::spawn(cam.clone(), ctx.clone(), gallery.clone())?);
    }

    // Kiosk frames: each camera's thread answers for its branch's tablets.
    let params = crate::gallery::MatchParams {
        threshold: config.recognition.threshold,
        margin: config.recognition.margin,
    };
    for (cam, gallery) in config.cameras.iter().zip(&handles) {
        let engine = FaceEngine::new(
            &ctx.models,
            config.recognition.detect_score,
            PHOTO_MAX_SIDE,
            ctx.embedder.clone(),
        )?;
        let (api, token, gallery, strangers, stop) = (
            api.clone(),
            cam.token.clone(),
            gallery.clone(),
            ctx.strangers.clone(),
            stop.clone(),
        );
        std::thread::Builder::new()
            .name(format!("kiosk-{}", cam.id))
            .spawn(move || {
                crate::kiosk::serve(api, token, gallery, strangers, engine, params, stop)
            })
            .map_err(|e| Error::io("thread", e))?;
    }

    let sender = {
        let (outbox, stop, api) = (outbox.clone(), stop.clone(), api.clone());
        std::thread::Builder::new()
            .name("sender".into())
            .spawn(move || outbox.run_sender(&api, &tokens, &stop, false))
            .map_err(|e| Error::io("thread", e))?
    };

    let refresh_every = Duration::from_secs(config.gallery_refresh_secs);
    let mut last_refresh = Instant::now();
    while cameras.iter().any(|c| !c.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        if last_refresh.elapsed() >= refresh_every {
            last_refresh = Instant::now();
            if let Err(e) = refresh(&mut sync, &mut photo_engine) {
                tracing::warn!("gallery not refreshed: {e}");
            }
        }
    }
    // Only file sources end: deliver what they produced, then stop.
    tracing::info!(
        "all cameras stopped; sending {} queued events",
        outbox.len()
    );
    while !outbox.is_empty() && !sender.is_finished() {
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::SeqCst);
    outbox.notify();
    let _ = sender.join();
    Ok(())
}
