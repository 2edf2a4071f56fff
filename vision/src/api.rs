//! The HTTP contract with the server (`/api/vision/*`), over a small blocking client.
//! Every answer is validated: a malformed reply is an error, never a panic.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{validate_server_url, validate_token};
use crate::{Error, Result};

/// Images larger than this are refused (the server caps snapshots at 2 MB; photos are similar).
const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Paired {
    pub token: String,
    pub device_id: i64,
    pub branch_id: i64,
    pub camera_role: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GalleryList {
    pub biometrics_enabled: bool,
    pub clients: Vec<GalleryClient>,
    /// Staff the cameras must know so as never to count them as visitors (a server from
    /// before staff faces sends none).
    #[serde(default)]
    pub staff: Vec<GalleryStaff>,
    /// Stranger keys to forget now (strangers who became clients, then maybe erased).
    #[serde(default)]
    pub forget_strangers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GalleryStaff {
    pub staff_id: i64,
    pub version: i64,
    pub photo: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GalleryClient {
    pub client_id: i64,
    pub version: i64,
    pub photo: String,
    /// Faces of this client captured at the doors, kept by the server as more templates.
    #[serde(default)]
    pub templates: Vec<String>,
    #[serde(default)]
    pub rejected: Vec<String>,
}

/// The body of `POST /api/vision/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub key: String,
    pub kind: String,
    pub occurred_at: i64,
    pub client_id: Option<i64>,
    /// A recognised staff member: the server opens no visit for them.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub staff_id: Option<i64>,
    /// An unknown face seen before today: the same key is the same visitor.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stranger: Option<String>,
    pub similarity: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub track: Option<String>,
    pub snapshot: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventAck {
    pub event_id: i64,
    pub visit_id: Option<i64>,
    pub duplicate: bool,
}

/// A kiosk frame the server relays: who is in front of the tablet?
#[derive(Debug, Clone, Deserialize)]
pub struct KioskFrame {
    pub id: u64,
    /// Base64 JPEG.
    pub jpeg: String,
}

/// The body of `POST /api/vision/kiosk_answers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KioskAnswer {
    pub id: u64,
    pub client_id: Option<i64>,
    pub similarity: Option<f32>,
    /// Not a client but a stranger the doors saw: the visit they opened is theirs when
    /// they register.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stranger: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    field: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Result<Client> {
        validate_server_url(base).map_err(|m| Error::Server {
            status: 0,
            message: m,
        })?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(15)))
            // The operating system's trust store: a salon server may use a company CA.
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .build();
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            agent: config.into(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `POST /api/vision/pair` with a one-time pairing code.
    pub fn pair(&self, code: &str) -> Result<Paired> {
        let resp = self
            .agent
            .post(&self.url("/api/vision/pair"))
            .send_json(serde_json::json!({ "code": code }))
            .map_err(unreachable)?;
        let paired: Paired = json_or_error(resp)?;
        validate_token(&paired.token).map_err(|m| Error::Server {
            status: 200,
            message: format!("pairing answer: token {m}"),
        })?;
        Ok(paired)
    }

    pub fn gallery(&self, token: &str) -> Result<GalleryList> {
        let resp = self
            .agent
            .get(&self.url("/api/vision/gallery"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .map_err(unreachable)?;
        json_or_error(resp)
    }

    /// Downloads an image the gallery points to. Only server-relative paths are followed, so
    /// a bad gallery entry cannot send the device token to another host.
    pub fn image(&self, token: &str, path: &str) -> Result<Vec<u8>> {
        if !path.starts_with("/api/vision/") || path.contains("..") {
            return Err(Error::Server {
                status: 200,
                message: format!("gallery image path {path:?} is not under /api/vision/"),
            });
        }
        let mut resp = self
            .agent
            .get(&self.url(path))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(error_of(
                status,
                resp.body_mut().read_to_string().unwrap_or_default(),
            ));
        }
        resp.body_mut()
            .with_config()
            .limit(MAX_IMAGE_BYTES)
            .read_to_vec()
            .map_err(unreachable)
    }

    pub fn post_event(&self, token: &str, event: &Event) -> Result<EventAck> {
        let resp = self
            .agent
            .post(&self.url("/api/vision/events"))
            .header("Authorization", &format!("Bearer {token}"))
            .send_json(event)
            .map_err(unreachable)?;
        json_or_error(resp)
    }
}

impl Client {
    /// The kiosk frames waiting for this camera's branch (the server holds the request up
    /// to 8 s while there are none).
    pub fn kiosk_frames(&self, token: &str) -> Result<Vec<KioskFrame>> {
        let resp = self
            .agent
            .get(&self.url("/api/vision/kiosk_frames"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .map_err(unreachable)?;
        json_or_error(resp)
    }

    pub fn kiosk_answer(&self, token: &str, answer: &KioskAnswer) -> Result<()> {
        let mut resp = self
            .agent
            .post(&self.url("/api/vision/kiosk_answers"))
            .header("Authorization", &format!("Bearer {token}"))
            .send_json(answer)
            .map_err(unreachable)?;
        match resp.status().as_u16() {
            200 | 204 => Ok(()),
            status => Err(error_of(
                status,
                resp.body_mut().read_to_string().unwrap_or_default(),
            )),
        }
    }
}

fn unreachable(e: ureq::Error) -> Error {
    Error::Unreachable(e.to_string())
}

fn error_of(status: u16, body: String) -> Error {
    let message = match serde_json::from_str::<ErrorBody>(&body) {
        Ok(b) => match b.field {
            Some(f) => format!("{} ({f}): {}", b.error, b.message),
            None => format!("{}: {}", b.error, b.message),
        },
        Err(_) => body.chars().take(200).collect(),
    };
    Error::Server { status, message }
}

fn json_or_error<T: serde::de::DeserializeOwned>(
    mut resp: ureq::http::Response<ureq::Body>,
) -> Result<T> {
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().map_err(unreachable)?;
    if status != 200 {
        return Err(error_of(status, body));
    }
    serde_json::from_str(&body).map_err(|e| Error::Server {
        status,
        message: format!("unexpected answer: {e}"),
    })
}
