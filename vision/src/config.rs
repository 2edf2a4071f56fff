//! The config file (TOML, or JSON when the file ends in `.json`), validated up front so a
//! mistake is reported with the field's name instead of surfacing later in a camera thread.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Base URL of the Avtosalon server, e.g. `https://salon.example.uz`.
    pub server: String,
    /// Event queue and embedding cache; created if missing.
    pub data_dir: PathBuf,
    /// Directory with the models; defaults to `$VISION_MODELS` or the cache.
    #[serde(default)]
    pub models_dir: Option<PathBuf>,
    /// How often the gallery is pulled from the server.
    #[serde(default = "default_gallery_refresh_secs")]
    pub gallery_refresh_secs: u64,
    #[serde(default)]
    pub recognition: Recognition,
    #[serde(rename = "camera")]
    pub cameras: Vec<CameraConfig>,
}

fn default_gallery_refresh_secs() -> u64 {
    60
}

/// Recognition and tracking thresholds. Defaults come from measurements on the test media
/// (`README.md`, section Threshold).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Recognition {
    /// Minimum cosine similarity to name a client.
    pub threshold: f32,
    /// The best client must beat the second best by this much, otherwise "unknown".
    pub margin: f32,
    /// YuNet score needed to accept a face.
    pub detect_score: f32,
    /// Frames are downscaled so their longer side is at most this before detection.
    pub detect_max_side: i32,
    /// The same client is not reported twice by one camera within this window.
    pub dedupe_window_secs: u64,
    /// A track ends when its face has not been seen for this long.
    pub track_timeout_ms: i64,
    /// Embeddings (votes) taken per track before it decides.
    pub votes: usize,
    /// Faces narrower than this (in frame pixels) are too small to recognise.
    pub min_face_px: f32,
    /// A single vote this similar names the client at once (saves a frame of latency);
    /// anything less waits for a second, agreeing vote.
    pub confident: f32,
}

impl Default for Recognition {
    fn default() -> Self {
        Recognition {
            threshold: 0.56,
            margin: 0.08,
            detect_score: 0.7,
            detect_max_side: 320,
            dedupe_window_secs: 600,
            track_timeout_ms: 1500,
            votes: 3,
            min_face_px: 40.0,
            confident: 0.75,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Entrance,
    Exit,
}

impl Role {
    /// The event kind this camera reports.
    pub fn event_kind(self) -> &'static str {
        match self {
            Role::Entrance => "enter",
            Role::Exit => "exit",
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    pub id: String,
    pub role: Role,
    /// Device index (`0`), RTSP/HTTP URL, or a video file path.
    pub source: String,
    /// Frames per second to process; the rest are skipped.
    pub fps: f64,
    /// Device token from `vision pair` (`kd_` + 64 hex digits).
    pub token: String,
}

// The token is a credential: never print it.
impl fmt::Debug for CameraConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CameraConfig")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("source", &self.source)
            .field("fps", &self.fps)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Where a camera's frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Device(i32),
    Url(String),
    File(PathBuf),
}

impl Source {
    pub fn parse(text: &str) -> std::result::Result<Source, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty".into());
        }
        if text.chars().all(|c| c.is_ascii_digit()) {
            return text
                .parse()
                .map(Source::Device)
                .map_err(|_| format!("device index {text} is too large"));
        }
        if let Some((scheme, rest)) = text.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if !["rtsp", "rtsps", "http", "https"].contains(&scheme.as_str()) || rest.is_empty() {
                return Err(format!(
                    "URL scheme {scheme:?} is not rtsp, rtsps, http or https"
                ));
            }
            return Ok(Source::Url(text.to_string()));
        }
        let path = PathBuf::from(text);
        if !path.is_file() {
            return Err(format!(
                "{text} is neither a device index, a URL nor an existing video file"
            ));
        }
        Ok(Source::File(path))
    }

    /// A file ends; a device or stream that stops is reconnected.
    pub fn is_live(&self) -> bool {
        !matches!(self, Source::File(_))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Device(i) => write!(f, "device {i}"),
            // Stream URLs may carry a password: show only scheme and host.
            Source::Url(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                let host = host.split('/').next().unwrap_or(host);
                write!(f, "{scheme}://{host}/…")
            }
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Checks the shape of a device token without revealing it in the message.
pub fn validate_token(token: &str) -> std::result::Result<(), String> {
    let ok = token.len() == 67
        && token.starts_with("kd_")
        && token[3..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(
            "is not a device token (kd_ followed by 64 hex digits); get one with `vision pair`"
                .into(),
        )
    }
}

/// Checks a server base URL.
pub fn validate_server_url(url: &str) -> std::result::Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
    if rest.trim_end_matches('/').is_empty() || rest.contains(char::is_whitespace) {
        return Err(format!("{url:?} has no host"));
    }
    Ok(())
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let err = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let config: Config = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| err(e.to_string()))?
        } else {
            toml::from_str(&text).map_err(|e| err(e.to_string()))?
        };
        config.validate().map_err(err)?;
        Ok(config)
    }

    pub fn validate(&self) -> std::result::Result<(), String> {
        validate_server_url(&self.server).map_err(|e| format!("server: {e}"))?;
        if self.gallery_refresh_secs == 0 {
            return Err("gallery_refresh_secs must be at least 1".into());
        }
        self.recognition.validate()?;
        if self.cameras.is_empty() {
            return Err("no [[camera]] configured".into());
        }
        let mut ids = HashSet::new();
        for (i, cam) in self.cameras.iter().enumerate() {
            let at = format!("camera #{} ({:?})", i + 1, cam.id);
            let id_ok = !cam.id.is_empty()
                && cam.id.len() <= 32
                && cam
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !id_ok {
                return Err(format!(
                    "{at}: id must be 1..32 characters of A-Z a-z 0-9 - _"
                ));
            }
            if !ids.insert(cam.id.as_str()) {
                return Err(format!("{at}: id is used twice"));
            }
            Source::parse(&cam.source).map_err(|e| format!("{at}: source {e}"))?;
            if !(cam.fps > 0.0 && cam.fps <= 60.0) {
                return Err(format!("{at}: fps must be in (0, 60], got {}", cam.fps));
            }
            validate_token(&cam.token).map_err(|e| format!("{at}: token {e}"))?;
        }
        Ok(())
    }

    pub fn models_dir(&self) -> PathBuf {
        self.models_dir.clone().unwrap_or_else(crate::models_dir)
    }
}

impl Recognition {
    pub fn validate(&self) -> std::result::Result<(), String> {
        let unit = |name: &str, v: f32| {
            if v > 0.0 && v < 1.0 {
                Ok(())
            } else {
                Err(format!(
                    "recognition.{name} must be between 0 and 1, got {v}"
                ))
            }
        };
        unit("threshold", self.threshold)?;
        unit("detect_score", self.detect_score)?;
        if !(self.confident > self.threshold && self.confident <= 1.0) {
            return Err(format!(
                "recognition.confident must be above the threshold ({}) and at most 1, got {}",
                self.threshold, self.confident
            ));
        }
        if !(0.0..0.5).contains(&self.margin) {
            return Err(format!(
                "recognition.margin must be in [0, 0.5), got {}",
                self.margin
            ));
        }
        if !(64..=4096).contains(&self.detect_max_side) {
            return Err("recognition.detect_max_side must be in 64..=4096".into());
        }
        if self.votes == 0 || self.votes > 20 {
            return Err("recognition.votes must be in 1..=20".into());
        }
        if self.track_timeout_ms < 100 {
            return Err("recognition.track_timeout_ms must be at least 100".into());
        }
        if self.min_face_px.is_nan() || self.min_face_px < 0.0 {
            return Err("recognition.min_face_px must not be negative".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "kd_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parse(text: &str) -> std::result::Result<Config, String> {
        let c: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map(|_| c)
    }

    #[test]
    fn good_config_parses() {
        let c = parse(&format!(
            "server = \"http://127.0.0.1:3000\"\ndata_dir = \"/tmp/v\"\n\
             [[camera]]\nid = \"door-1\"\nrole = \"entrance\"\nsource = \"0\"\nfps = 8\ntoken = \"{TOKEN}\"\n\
             [[camera]]\nid = \"door-2\"\nrole = \"exit\"\nsource = \"rtsp://u:p@cam/1\"\nfps = 5\ntoken = \"{TOKEN}\"\n"
        ))
        .unwrap();
        assert_eq!(c.cameras.len(), 2);
        assert_eq!(c.cameras[1].role, Role::Exit);
        assert_eq!(c.recognition.threshold, Recognition::default().threshold);
        assert!(!format!("{:?}", c.cameras[0]).contains(TOKEN));
        assert_eq!(
            Source::parse("rtsp://u:p@cam/1").unwrap().to_string(),
            "rtsp://cam/…"
        );
    }

    #[test]
    fn json_config_file_loads_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vision.json");
        std::fs::write(
            &path,
            format!(
                r#"{{"server": "https://salon.example", "data_dir": "/tmp/v",
                    "recognition": {{"threshold": 0.6}},
                    "camera": [{{"id": "c1", "role": "exit", "source": "http://cam/mjpg", "fps": 4, "token": "{TOKEN}"}}]}}"#
            ),
        )
        .unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(
            (c.recognition.threshold, c.cameras[0].role),
            (0.6, Role::Exit)
        );
        std::fs::write(&path, "{\"server\": 1}").unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert!(e.contains("vision.json"), "{e}");
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let base = |cam: &str| {
            format!(
                "server = \"http://x\"\ndata_dir = \"/tmp/v\"\n[[camera]]\nid = \"c\"\nrole = \"entrance\"\n{cam}\n"
            )
        };
        let e = parse(&base(&format!(
            "source = \"0\"\nfps = 0\ntoken = \"{TOKEN}\""
        )))
        .unwrap_err();
        assert!(e.contains("fps"), "{e}");
        let e = parse(&base("source = \"0\"\nfps = 5\ntoken = \"secret\"")).unwrap_err();
        assert!(e.contains("token") && !e.contains("secret"), "{e}");
        let e = parse(&base(&format!(
            "source = \"/no/such.mp4\"\nfps = 5\ntoken = \"{TOKEN}\""
        )))
        .unwrap_err();
        assert!(e.contains("source"), "{e}");
        let e = parse(&base(&format!(
            "source = \"ftp://x\"\nfps = 5\ntoken = \"{TOKEN}\""
        )))
        .unwrap_err();
        assert!(e.contains("scheme"), "{e}");
        let e = parse("server = \"x\"\ndata_dir = \"/tmp\"\ncamera = []").unwrap_err();
        assert!(e.contains("server"), "{e}");
        let e = parse(&format!(
            "server = \"http://x\"\ndata_dir = \"/tmp\"\n[recognition]\nthreshold = 1.5\n\
             [[camera]]\nid = \"c\"\nrole = \"exit\"\nsource = \"0\"\nfps = 5\ntoken = \"{TOKEN}\""
        ))
        .unwrap_err();
        assert!(e.contains("threshold"), "{e}");
        assert!(
            parse(&base(&format!(
                "role2 = 1\nsource = \"0\"\nfps = 5\ntoken = \"{TOKEN}\""
            )))
            .is_err()
        );
    }
}
