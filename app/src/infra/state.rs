//! The one state shared by server functions, the REST API and background jobs.

use std::path::PathBuf;
use std::sync::Arc;

use crate::infra::Db;
use crate::infra::password::CheckGate;
use crate::infra::site::PublicUrl;
use crate::infra::throttle::{LoginThrottle, RateLimit};

/// A visitor types their number once or twice; a kiosk asking more often
/// than this is being used to look people up.
const KIOSK_PHONE_CHECKS_PER_MINUTE: u32 = 20;
/// A kiosk sends a few frames a second while someone stands in front of it.
const KIOSK_FACE_CHECKS_PER_10S: u32 = 30;
/// A device is paired once; an address trying more codes than this is guessing.
const PAIRING_ATTEMPTS_PER_MINUTE: u32 = 10;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

/// Cloned for every request (by every layer and handler that takes the
/// state), so one pointer: the fields live once, behind it.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Clone)]
pub struct Shared {
    pub db: Db,
    pub leptos_options: LeptosOptions,
    /// Photos, documents and snapshots live here, never under the public folder.
    pub data_dir: Arc<PathBuf>,
    pub login_throttle: Arc<LoginThrottle>,
    /// Bounds the password checks anyone can start by signing in.
    pub password_checks: CheckGate,
    /// Phone lookups and check-ins per kiosk: each tells whether a number
    /// belongs to a client (and their first name).
    pub kiosk_phone_checks: Arc<RateLimit>,
    /// Face frames per kiosk.
    pub kiosk_face_checks: Arc<RateLimit>,
    /// Kiosk frames on their way to the camera program and its answers.
    pub face_relay: Arc<crate::kiosk::ssr::faces::FaceRelay>,
    /// Pairing attempts per client address: codes are short enough to guess.
    pub pairing_attempts: Arc<RateLimit<Option<std::net::IpAddr>>>,
    /// How the Telegram bot stands; the bot task keeps it current.
    pub bot: Arc<std::sync::RwLock<crate::notify::BotState>>,
    /// How the camera program the server runs stands; its supervisor keeps it current.
    pub vision: Arc<std::sync::RwLock<crate::camera::VisionState>>,
    /// Where staff and devices reach the server, when the operator says.
    pub public_url: Option<PublicUrl>,
    /// The server serves HTTPS itself and plain HTTP only redirects there.
    pub https_only: bool,
    /// The plain-HTTP port (`BIND`): where a tablet fetches `/ca.crt` before
    /// it trusts the HTTPS certificate.
    pub plain_port: u16,
    /// HTTPS uses the local certificate authority (not the dealership's own
    /// certificate): Settings offer its link to tablets.
    pub local_ca: bool,
    /// Tells live pages (the dashboard) that visits or services changed.
    pub changes: tokio::sync::broadcast::Sender<Change>,
}

/// What changed, for live updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub branch_id: i64,
}

impl AppState {
    pub fn new(db: Db, leptos_options: LeptosOptions, data_dir: PathBuf) -> Self {
        AppState(Arc::new(Shared {
            db,
            leptos_options,
            data_dir: Arc::new(data_dir),
            login_throttle: Arc::new(LoginThrottle::default()),
            password_checks: CheckGate::default(),
            public_url: None,
            https_only: false,
            plain_port: 3000,
            local_ca: false,
            vision: Arc::default(),
            bot: Arc::default(),
            pairing_attempts: Arc::new(RateLimit::new(
                PAIRING_ATTEMPTS_PER_MINUTE,
                std::time::Duration::from_secs(60),
            )),
            kiosk_phone_checks: Arc::new(RateLimit::new(
                KIOSK_PHONE_CHECKS_PER_MINUTE,
                std::time::Duration::from_secs(60),
            )),
            kiosk_face_checks: Arc::new(RateLimit::new(
                KIOSK_FACE_CHECKS_PER_10S,
                std::time::Duration::from_secs(10),
            )),
            face_relay: Arc::default(),
            changes: tokio::sync::broadcast::channel(256).0,
        }))
    }
}

impl AppState {
    pub fn with_public_url(mut self, public_url: Option<PublicUrl>) -> Self {
        Arc::make_mut(&mut self.0).public_url = public_url;
        self
    }

    pub fn with_https_only(mut self, https_only: bool) -> Self {
        Arc::make_mut(&mut self.0).https_only = https_only;
        self
    }

    pub fn with_plain_port(mut self, port: u16) -> Self {
        Arc::make_mut(&mut self.0).plain_port = port;
        self
    }

    pub fn with_local_ca(mut self, local_ca: bool) -> Self {
        Arc::make_mut(&mut self.0).local_ca = local_ca;
        self
    }

    /// Whether cookies must be `Secure` (and HSTS sent): the public address
    /// is HTTPS, or the server's own HTTPS is the only way in.
    pub fn secure_cookies(&self) -> bool {
        self.https_only || self.public_url.as_ref().is_some_and(PublicUrl::is_https)
    }

    /// Announces a change; nobody listening is fine.
    pub fn announce(&self, branch_id: i64) {
        let _ = self.changes.send(Change { branch_id });
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
