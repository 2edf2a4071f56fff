//! One thread per camera: read frames at the configured rate, run the pipeline, queue events.
//! A live source that drops is reopened with backoff; the other cameras are not affected.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio::{self, VideoCapture};

use crate::config::{CameraConfig, Recognition, Role, Source};
use crate::pipeline::{
    FaceEngine, GalleryHandle, Processor, SharedEmbedder, VideoFrames, event_for,
};
use crate::queue::Outbox;
use crate::track::Decision;
use crate::{Error, Result};

/// What every camera thread shares.
#[derive(Clone)]
pub struct CameraContext {
    pub models: PathBuf,
    pub recognition: Recognition,
    pub embedder: SharedEmbedder,
    pub outbox: Arc<Outbox>,
    pub stop: Arc<AtomicBool>,
    /// Unknown faces seen today, shared by every camera and the kiosk answers.
    pub strangers: crate::strangers::Strangers,
}

pub fn spawn(
    cam: CameraConfig,
    ctx: CameraContext,
    gallery: GalleryHandle,
) -> Result<JoinHandle<()>> {
    let name = format!("camera-{}", cam.id);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || run_camera(&cam, &ctx, gallery))
        .map_err(|e| Error::io("thread", e))
}

fn run_camera(cam: &CameraConfig, ctx: &CameraContext, gallery: GalleryHandle) {
    let source = match Source::parse(&cam.source) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(camera = %cam.id, "source {e}");
            return;
        }
    };
    let engine = match FaceEngine::new(
        &ctx.models,
        ctx.recognition.detect_score,
        ctx.recognition.detect_max_side,
        ctx.embedder.clone(),
    ) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(camera = %cam.id, "{e}");
            return;
        }
    };
    let mut processor =
        Processor::new(engine, &ctx.recognition, gallery).with_strangers(ctx.strangers.clone());
    let result = match &source {
        Source::File(path) => {
            play_file(path, cam, ctx, &mut processor, crate::now_ms(), true).map(|_| ())
        }
        live => {
            run_live(live, cam, ctx, &mut processor);
            Ok(())
        }
    };
    if let Err(e) = result {
        tracing::error!(camera = %cam.id, "{e}");
    }
    tracing::info!(camera = %cam.id, "camera stopped");
}

fn emit(decisions: Vec<Decision>, cam_id: &str, role: Role, outbox: &Outbox) {
    for d in decisions {
        let event = event_for(&d, role, cam_id);
        tracing::info!(
            camera = %cam_id,
            kind = event.kind,
            client = ?event.client_id,
            similarity = ?event.similarity,
            votes = d.votes,
            "decision"
        );
        if let Err(e) = outbox.push(cam_id, event) {
            // The disk is the last resort; nothing else can keep the event.
            tracing::error!(camera = %cam_id, "event lost, queue not writable: {e}");
        }
    }
}

/// Plays a video file as a camera. Event times are `start_ms` plus the frame's position in the
/// video; with `realtime` the file is paced like a live camera, otherwise it runs flat out
/// (tests). Returns the number of frames processed.
pub fn play_file(
    path: &Path,
    cam: &CameraConfig,
    ctx: &CameraContext,
    processor: &mut Processor,
    start_ms: i64,
    realtime: bool,
) -> Result<u64> {
    let mut video = VideoFrames::open(path)?;
    let interval = 1000.0 / cam.fps;
    let started = Instant::now();
    let mut next_due = 0.0;
    let mut frame = Mat::default();
    let mut processed = 0;
    while !ctx.stop.load(Ordering::SeqCst) {
        let Some(pos) = video.next_frame(&mut frame)? else {
            break;
        };
        if (pos as f64) + 0.5 < next_due {
            continue;
        }
        next_due += interval;
        if (pos as f64) > next_due {
            next_due = pos as f64 + interval;
        }
        if realtime {
            let ahead = Duration::from_millis(pos as u64).saturating_sub(started.elapsed());
            std::thread::sleep(ahead);
        }
        let decisions = processor.process(&frame, start_ms + pos)?;
        processed += 1;
        emit(decisions, &cam.id, cam.role, &ctx.outbox);
    }
    emit(processor.finish(), &cam.id, cam.role, &ctx.outbox);
    Ok(processed)
}

fn open_live(source: &Source) -> Result<VideoCapture> {
    let cap = match source {
        Source::Device(i) => VideoCapture::new(*i, videoio::CAP_ANY)?,
        Source::Url(url) => VideoCapture::from_file(url, videoio::CAP_ANY)?,
        Source::File(p) => VideoCapture::from_file(p, videoio::CAP_ANY)?,
    };
    if !cap.is_opened()? {
        return Err(Error::Source {
            source_name: source.to_string(),
            message: "cannot be opened".into(),
        });
    }
    Ok(cap)
}

fn run_live(source: &Source, cam: &CameraConfig, ctx: &CameraContext, processor: &mut Processor) {
    let interval = Duration::from_secs_f64(1.0 / cam.fps);
    let mut backoff = Duration::from_secs(1);
    let mut frame = Mat::default();
    while !ctx.stop.load(Ordering::SeqCst) {
        match open_live(source) {
            Ok(mut cap) => {
                tracing::info!(camera = %cam.id, "connected to {source}");
                let mut last: Option<Instant> = None;
                loop {
                    if ctx.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    // Reading every frame keeps the driver's buffer fresh; only some are processed.
                    match cap.read(&mut frame) {
                        Ok(true) if !frame.empty() => {}
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(camera = %cam.id, "read failed: {e}");
                            break;
                        }
                    }
                    backoff = Duration::from_secs(1);
                    if last.is_some_and(|l| l.elapsed() < interval) {
                        continue;
                    }
                    last = Some(Instant::now());
                    match processor.process(&frame, crate::now_ms()) {
                        Ok(d) => emit(d, &cam.id, cam.role, &ctx.outbox),
                        Err(e) => tracing::warn!(camera = %cam.id, "frame skipped: {e}"),
                    }
                }
                tracing::warn!(camera = %cam.id, "{source} dropped");
                emit(processor.finish(), &cam.id, cam.role, &ctx.outbox);
            }
            Err(e) => tracing::warn!(camera = %cam.id, "{e}"),
        }
        tracing::info!(camera = %cam.id, "reconnecting in {backoff:?}");
        sleep_unless_stopped(&ctx.stop, backoff);
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::SeqCst) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
}
