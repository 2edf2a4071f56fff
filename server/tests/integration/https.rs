//! Built-in HTTPS on the real binary: a local certificate authority that a
//! client trusting it reaches the app through, plain HTTP sending browsers
//! there, the authority kept across restarts, bad settings refused at start.

use crate::crash::free_port;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn start(data: &std::path::Path, port: u16, tls_port: u16, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--data-dir", data.to_str().unwrap()])
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(["--tls-bind", &format!("127.0.0.1:{tls_port}")])
        .args(["--admin-password", "https-test-pass", "--no-demo-data"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts")
}

fn trusting(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn wait_for(client: &reqwest::Client, url: &str) -> reqwest::Response {
    for _ in 0..600 {
        if let Ok(reply) = client.get(url).send().await {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_is_served_over_https_with_a_local_authority() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (port, tls_port) = (free_port(), free_port());
    let mut server = start(&data, port, tls_port, &[]);
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let health = wait_for(&plain, &format!("http://127.0.0.1:{port}/healthz")).await;
    assert_eq!(health.status(), 200, "/healthz stays plain for monitoring");
    // The authority, over plain HTTP, for a tablet that trusts nothing yet.
    let ca = plain
        .get(format!("http://127.0.0.1:{port}/ca.crt"))
        .send()
        .await
        .unwrap();
    assert_eq!(ca.status(), 200);
    let ca_pem = ca.bytes().await.unwrap();
    assert_eq!(
        &ca_pem[..],
        &std::fs::read(data.join("tls/ca.pem")).unwrap()[..]
    );
    // A client trusting it reaches the app by name and by address.
    let client = trusting(&ca_pem);
    for host in ["localhost", "127.0.0.1"] {
        let login = wait_for(&client, &format!("https://{host}:{tls_port}/login")).await;
        assert_eq!(login.status(), 200, "{host}");
        assert!(login.text().await.unwrap().contains("<form"), "{host}");
    }
    // One that does not trust it is refused: the certificate is not just any.
    let stranger = reqwest::Client::new();
    assert!(
        stranger
            .get(format!("https://localhost:{tls_port}/login"))
            .send()
            .await
            .is_err()
    );
    // Plain HTTP sends browsers to the same place over HTTPS.
    let sent = plain
        .get(format!("http://127.0.0.1:{port}/clients?q=aziz"))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 308);
    assert_eq!(
        sent.headers()["location"],
        format!("https://127.0.0.1:{tls_port}/clients?q=aziz").as_str()
    );
    // The camera program on this machine keeps plain HTTP (it need not trust
    // the authority): its API answers (401 without a token) instead of redirecting.
    let camera = plain
        .get(format!("http://127.0.0.1:{port}/api/vision/gallery"))
        .send()
        .await
        .unwrap();
    assert_eq!(camera.status(), 401);
    // Signing in works over HTTPS, as browsers speak it: HTTP/2, where the
    // host travels as `:authority` (no `Host` header), with the page's Origin.
    let signed_in = client
        .post(format!("https://localhost:{tls_port}/api/login"))
        .header("origin", format!("https://localhost:{tls_port}"))
        .json(&serde_json::json!({"login": "admin", "password": "https-test-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.version(), reqwest::Version::HTTP_2);
    assert_eq!(signed_in.status(), 200);
    // Its session cookie never travels over plain HTTP; HSTS keeps the browser on HTTPS.
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(
        signed_in
            .headers()
            .contains_key("strict-transport-security")
    );
    server.kill().unwrap();
    server.wait().unwrap();

    // A restart keeps the authority the tablets trust.
    let mut again = start(&data, port, tls_port, &[]);
    let login = wait_for(&client, &format!("https://localhost:{tls_port}/login")).await;
    assert_eq!(login.status(), 200);
    again.kill().unwrap();
    again.wait().unwrap();
}

#[tokio::test]
async fn a_certificate_without_its_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let server = start(
        &dir.path().join("data"),
        free_port(),
        free_port(),
        &["--tls-cert", cert.to_str().unwrap()],
    );
    let output = server.wait_with_output().unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("TLS_CERT and TLS_KEY go together"), "{said}");
    // A key that is no key: refused with a message, not a panic.
    let key = dir.path().join("key.pem");
    std::fs::write(&key, "not a key").unwrap();
    let server = start(
        &dir.path().join("data2"),
        free_port(),
        free_port(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let output = server.wait_with_output().unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("HTTPS certificate or key"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}
