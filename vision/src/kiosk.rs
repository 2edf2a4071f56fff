//! Faces at the kiosk: the server relays the tablet's frames to the camera program of its
//! branch (which holds the gallery and the models) and this answers who is in front of the
//! tablet — a client id, or nobody. Only clients are named, with the same threshold and
//! margin as at the doors; a staff member or a stranger is nobody. Frames are not kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::api::{self, KioskAnswer};
use crate::gallery::{MatchParams, decode_image};
use crate::pipeline::{FaceEngine, GalleryHandle};
use crate::strangers::Strangers;
use crate::{Error, Result};

/// Answers one round of kiosk frames (waiting for them up to the server's poll time).
/// Returns the answers sent.
pub fn answer_round(
    api: &api::Client,
    token: &str,
    gallery: &GalleryHandle,
    strangers: &Strangers,
    engine: &mut FaceEngine,
    params: MatchParams,
) -> Result<Vec<KioskAnswer>> {
    use base64::Engine as _;
    let frames = api.kiosk_frames(token)?;
    let mut answers = Vec::with_capacity(frames.len());
    for frame in frames {
        let answer = match base64::engine::general_purpose::STANDARD.decode(frame.jpeg.trim()) {
            Ok(bytes) => who(&bytes, gallery, strangers, engine, params, frame.id)?,
            Err(_) => KioskAnswer {
                id: frame.id,
                client_id: None,
                similarity: None,
                stranger: None,
            },
        };
        api.kiosk_answer(token, &answer)?;
        answers.push(answer);
    }
    Ok(answers)
}

fn who(
    jpeg: &[u8],
    gallery: &GalleryHandle,
    strangers: &Strangers,
    engine: &mut FaceEngine,
    params: MatchParams,
    id: u64,
) -> Result<KioskAnswer> {
    let nobody = KioskAnswer {
        id,
        client_id: None,
        similarity: None,
        stranger: None,
    };
    let Ok(image) = decode_image(jpeg, "kiosk frame") else {
        return Ok(nobody);
    };
    let Some((_, embedding)) = engine.embed_largest(&image)? else {
        return Ok(nobody);
    };
    let gallery = gallery.read().unwrap_or_else(|p| p.into_inner()).clone();
    let m = gallery.best_match(&embedding, params);
    let client_id = m.person.and_then(|i| gallery.people[i].client_id);
    // Nobody the gallery knows: perhaps the stranger whose face opened a visit at the door.
    let stranger = match (m.person, client_id) {
        (None, _) => strangers.recognise(&embedding, params).map(|(key, _)| key),
        _ => None,
    };
    Ok(KioskAnswer {
        id,
        client_id,
        similarity: client_id.map(|_| m.similarity),
        stranger,
    })
}

/// Answers kiosk frames for one camera's branch until `stop`; an unreachable server is
/// retried with a pause that doubles up to 30 s.
pub fn serve(
    api: api::Client,
    token: String,
    gallery: GalleryHandle,
    strangers: Strangers,
    mut engine: FaceEngine,
    params: MatchParams,
    stop: Arc<AtomicBool>,
) {
    let mut pause = Duration::from_secs(1);
    while !stop.load(Ordering::SeqCst) {
        match answer_round(&api, &token, &gallery, &strangers, &mut engine, params) {
            Ok(answers) => {
                pause = Duration::from_secs(1);
                for a in answers {
                    tracing::info!(named = a.client_id.is_some(), "kiosk frame answered");
                }
            }
            Err(e) => {
                if !matches!(e, Error::Unreachable(_)) {
                    tracing::warn!("kiosk frames: {e}");
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}
