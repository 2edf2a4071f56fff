//! A tiny server on 127.0.0.1 speaking the `/api/vision` contract, with switches to make it
//! fail: answer 503, or take an event and drop the connection before answering.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub const TOKEN: &str = "kd_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[derive(Default)]
pub struct State {
    /// client id → (version, photo JPEG)
    pub clients: Vec<(i64, i64, Vec<u8>)>,
    pub biometrics_enabled: bool,
    /// staff id → (version, photo JPEG)
    pub staff: Vec<(i64, i64, Vec<u8>)>,
    /// Kiosk frames waiting for the camera program: (id, JPEG).
    pub kiosk_frames: Vec<(u64, Vec<u8>)>,
    /// The camera program's answers, as received.
    pub kiosk_answers: Vec<Value>,
    /// (client id, rejected image id, JPEG): faces staff marked "not this person".
    pub rejected: Vec<(i64, i64, Vec<u8>)>,
    /// (client id, template id, JPEG): faces of the client captured at the doors.
    pub templates: Vec<(i64, i64, Vec<u8>)>,
    /// Events stored, in the order first received.
    pub events: Vec<Value>,
    /// When each stored event arrived (Unix ms).
    pub received_ms: Vec<i64>,
    /// Every key of every event POST that reached the handler, duplicates included.
    pub attempts: Vec<String>,
    pub duplicates: usize,
    /// Answer this many event POSTs with 503 before accepting.
    pub fail_next: usize,
    /// Store this many events but close the connection without an answer.
    pub drop_after_accept: usize,
    pub unauthorized: usize,
}

pub struct FakeServer {
    pub url: String,
    pub state: Arc<Mutex<State>>,
}

impl FakeServer {
    pub fn start(state: State) -> FakeServer {
        Self::start_on("127.0.0.1:0", state)
    }

    pub fn start_on(addr: &str, state: State) -> FakeServer {
        let listener = TcpListener::bind(addr).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(state));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || handle(conn, &st));
            }
        });
        FakeServer { url, state }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

fn handle(conn: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut length = 0;
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or((&h, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => auth = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut conn = conn;
    let reply = |conn: &mut TcpStream, status: &str, ctype: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(body);
    };
    let json_reply = |conn: &mut TcpStream, status: &str, v: Value| {
        reply(conn, status, "application/json", v.to_string().as_bytes())
    };

    if method == "POST" && path == "/api/vision/pair" {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if v["code"] == "ABCD2345" {
            json_reply(
                &mut conn,
                "200 OK",
                json!({"token": TOKEN, "device_id": 7, "branch_id": 1, "camera_role": "entrance", "name": "Door 1"}),
            );
        } else {
            json_reply(
                &mut conn,
                "400 Bad Request",
                json!({"error": "invalid", "message": "unknown code", "field": "code"}),
            );
        }
        return;
    }
    if auth != format!("Bearer {TOKEN}") {
        state.lock().unwrap().unauthorized += 1;
        json_reply(
            &mut conn,
            "401 Unauthorized",
            json!({"error": "unauthorized", "message": "no token"}),
        );
        return;
    }
    let mut st = state.lock().unwrap();
    if method == "GET" && path == "/api/vision/gallery" {
        let clients: Vec<Value> = st
            .clients
            .iter()
            .map(|(id, version, _)| {
                let rejected: Vec<String> =
                    st.rejected.iter().filter(|r| r.0 == *id).map(|r| format!("/api/vision/rejected/{}", r.1)).collect();
                let templates: Vec<String> =
                    st.templates.iter().filter(|r| r.0 == *id).map(|r| format!("/api/vision/templates/{}", r.1)).collect();
                json!({"client_id": id, "version": version, "photo": format!("/api/vision/clients/{id}/photo"), "templates": templates, "rejected": rejected})
            })
            .collect();
        let staff: Vec<Value> = st
            .staff
            .iter()
            .map(|(id, version, _)| json!({"staff_id": id, "version": version, "photo": format!("/api/vision/staff/{id}/photo")}))
            .collect();
        let enabled = st.biometrics_enabled;
        json_reply(
            &mut conn,
            "200 OK",
            json!({
                "biometrics_enabled": enabled,
                "clients": if enabled { clients } else { vec![] },
                "staff": if enabled { staff } else { vec![] },
            }),
        );
    } else if method == "GET" && path.starts_with("/api/vision/staff/") && path.ends_with("/photo")
    {
        let id: i64 = path
            .trim_start_matches("/api/vision/staff/")
            .trim_end_matches("/photo")
            .parse()
            .unwrap_or(-1);
        match st.staff.iter().find(|c| c.0 == id) {
            Some((_, _, photo)) => {
                let photo = photo.clone();
                reply(&mut conn, "200 OK", "image/jpeg", &photo)
            }
            None => json_reply(
                &mut conn,
                "404 Not Found",
                json!({"error": "not_found", "message": "no photo"}),
            ),
        }
    } else if method == "GET"
        && path.starts_with("/api/vision/clients/")
        && path.ends_with("/photo")
    {
        let id: i64 = path
            .trim_start_matches("/api/vision/clients/")
            .trim_end_matches("/photo")
            .parse()
            .unwrap_or(-1);
        match st.clients.iter().find(|c| c.0 == id) {
            Some((_, _, photo)) => {
                let photo = photo.clone();
                reply(&mut conn, "200 OK", "image/jpeg", &photo)
            }
            None => json_reply(
                &mut conn,
                "404 Not Found",
                json!({"error": "not_found", "message": "no photo"}),
            ),
        }
    } else if method == "GET"
        && (path.starts_with("/api/vision/rejected/") || path.starts_with("/api/vision/templates/"))
    {
        let (list, id) = match path.strip_prefix("/api/vision/templates/") {
            Some(id) => (&st.templates, id),
            None => (
                &st.rejected,
                path.trim_start_matches("/api/vision/rejected/"),
            ),
        };
        let id: i64 = id.parse().unwrap_or(-1);
        match list.iter().find(|r| r.1 == id) {
            Some((_, _, jpeg)) => {
                let jpeg = jpeg.clone();
                reply(&mut conn, "200 OK", "image/jpeg", &jpeg)
            }
            None => json_reply(
                &mut conn,
                "404 Not Found",
                json!({"error": "not_found", "message": "no image"}),
            ),
        }
    } else if method == "GET" && path == "/api/vision/kiosk_frames" {
        use base64::Engine as _;
        let frames: Vec<Value> = st
            .kiosk_frames
            .drain(..)
            .map(|(id, jpeg)| json!({"id": id, "jpeg": base64::engine::general_purpose::STANDARD.encode(jpeg)}))
            .collect();
        json_reply(&mut conn, "200 OK", json!(frames));
    } else if method == "POST" && path == "/api/vision/kiosk_answers" {
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        st.kiosk_answers.push(answer);
        reply(&mut conn, "204 No Content", "application/json", b"");
    } else if method == "POST" && path == "/api/vision/events" {
        let Ok(ev) = serde_json::from_slice::<Value>(&body) else {
            return json_reply(
                &mut conn,
                "400 Bad Request",
                json!({"error": "invalid", "message": "malformed JSON"}),
            );
        };
        let key = ev["key"].as_str().unwrap_or("").to_string();
        let key_ok = (8..=64).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let kind_ok = ev["kind"] == "enter" || ev["kind"] == "exit";
        if !key_ok || !kind_ok || !ev["occurred_at"].is_i64() {
            return json_reply(
                &mut conn,
                "400 Bad Request",
                json!({"error": "invalid", "message": "bad event"}),
            );
        }
        st.attempts.push(key.clone());
        if st.fail_next > 0 {
            st.fail_next -= 1;
            return json_reply(
                &mut conn,
                "503 Service Unavailable",
                json!({"error": "unavailable", "message": "restarting"}),
            );
        }
        let existing = st.events.iter().position(|e| e["key"] == key.as_str());
        let (id, duplicate) = match existing {
            Some(i) => {
                st.duplicates += 1;
                (i + 1, true)
            }
            None => {
                st.events.push(ev);
                st.received_ms.push(vision::now_ms());
                (st.events.len(), false)
            }
        };
        if st.drop_after_accept > 0 {
            st.drop_after_accept -= 1;
            return; // connection closed without an answer: the client cannot know it arrived
        }
        json_reply(
            &mut conn,
            "200 OK",
            json!({"event_id": id, "visit_id": null, "duplicate": duplicate}),
        );
    } else {
        json_reply(
            &mut conn,
            "404 Not Found",
            json!({"error": "not_found", "message": path}),
        );
    }
}

/// Something in the HashMap form `Outbox::run_sender` wants.
pub fn tokens(cameras: &[&str]) -> HashMap<String, String> {
    cameras
        .iter()
        .map(|c| (c.to_string(), TOKEN.to_string()))
        .collect()
}
