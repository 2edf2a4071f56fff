//! The entrance and exit cameras: pairing, the face gallery, events that open and
//! close visits, "not this person", and the retention of unknown visitors' snapshots.

#[cfg(feature = "ssr")]
pub mod ssr;

mod faces;
pub use faces::*;

/// How the camera program (`vision run`) that the server starts stands, for
/// Settings and `/healthz`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum VisionState {
    /// No camera configuration is set (`VISION_CONFIG`): cameras, if any, run elsewhere.
    #[default]
    Off,
    /// The configuration file named does not exist yet; started once it does.
    WaitingForConfig,
    Running {
        restarts: u32,
    },
    /// It stopped unasked and is started again after a pause.
    Restarting {
        restarts: u32,
    },
    /// The `vision` program is not installed where the server looks.
    NotInstalled,
    /// It ended by itself (every camera was a video file that played to its end).
    Finished,
}

impl VisionState {
    /// The word `/healthz` reports.
    pub fn word(&self) -> &'static str {
        match self {
            VisionState::Off => "off",
            VisionState::WaitingForConfig => "waiting_for_config",
            VisionState::Running { .. } => "running",
            VisionState::Restarting { .. } => "restarting",
            VisionState::NotInstalled => "not_installed",
            VisionState::Finished => "finished",
        }
    }

    pub fn restarts(&self) -> u32 {
        match self {
            VisionState::Running { restarts } | VisionState::Restarting { restarts } => *restarts,
            _ => 0,
        }
    }
}
