//! The camera program under the server: with `VISION_CONFIG` set, `server`
//! runs `vision run --config …` beside the web app, restarts it when it
//! stops unasked (with a growing pause, so a broken configuration does not
//! spin), and stops it when the server stops. One process to start and
//! stop for the whole showroom; the program stays a separate process so the
//! server builds and runs without OpenCV, and a crash in video decoding
//! cannot take the web app down.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use app::camera::VisionState;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// How often a missing configuration file is looked for again.
const CONFIG_POLL: Duration = Duration::from_secs(5);
/// The first pause before a restart, doubled after each quick failure.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(60);
/// A run this long counts as healthy: the next failure starts over at the first pause.
const HEALTHY_RUN: Duration = Duration::from_secs(60);
/// After SIGTERM, how long the program gets to finish before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub struct Supervisor {
    pub config: PathBuf,
    pub program: PathBuf,
    pub state: Arc<RwLock<VisionState>>,
}

/// The program to run: the one named, else `vision` beside this executable,
/// else `vision` from PATH.
pub fn program(named: Option<&Path>) -> PathBuf {
    if let Some(named) = named {
        return named.to_path_buf();
    }
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("vision"))
        .filter(|beside| beside.is_file())
        .unwrap_or_else(|| PathBuf::from("vision"))
}

impl Supervisor {
    pub fn spawn(self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(stop))
    }

    fn set(&self, state: VisionState) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = state;
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut restarts = 0u32;
        let mut pause = FIRST_PAUSE;
        loop {
            if *stop.borrow() {
                return;
            }
            if !self.config.is_file() {
                if restarts == 0 {
                    self.set(VisionState::WaitingForConfig);
                }
                if wait_or_stop(&mut stop, CONFIG_POLL).await {
                    return;
                }
                continue;
            }
            let started = Instant::now();
            let mut child = match self.start() {
                Ok(child) => child,
                Err(error) => {
                    if error.kind() == std::io::ErrorKind::NotFound {
                        self.set(VisionState::NotInstalled);
                    } else {
                        self.set(VisionState::Restarting { restarts });
                    }
                    tracing::error!(program = %self.program.display(), %error, "the camera program cannot be started");
                    if wait_or_stop(&mut stop, LONGEST_PAUSE).await {
                        return;
                    }
                    continue;
                }
            };
            self.set(VisionState::Running { restarts });
            tracing::info!(pid = child.id(), config = %self.config.display(), "camera program started");
            let status = tokio::select! {
                status = child.wait() => status,
                _ = stopping(&mut stop) => {
                    terminate(&mut child).await;
                    self.set(VisionState::Off);
                    return;
                }
            };
            match status {
                Ok(status) if status.success() => {
                    tracing::info!("the camera program finished (every camera was a video file)");
                    self.set(VisionState::Finished);
                    return;
                }
                Ok(status) => {
                    tracing::warn!(status = %describe(status), "the camera program stopped")
                }
                Err(error) => tracing::warn!(%error, "the camera program cannot be waited for"),
            }
            restarts += 1;
            pause = if started.elapsed() >= HEALTHY_RUN {
                FIRST_PAUSE
            } else {
                (pause * 2).min(LONGEST_PAUSE)
            };
            self.set(VisionState::Restarting { restarts });
            tracing::info!(
                pause_secs = pause.as_secs(),
                restarts,
                "restarting the camera program"
            );
            if wait_or_stop(&mut stop, pause).await {
                self.set(VisionState::Off);
                return;
            }
        }
    }

    fn start(&self) -> std::io::Result<Child> {
        let mut command = Command::new(&self.program);
        command
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // SAFETY: `prctl` is async-signal-safe and touches only the child.
        // If the server dies without stopping it (SIGKILL), the kernel sends
        // the program SIGTERM: no orphan keeps sending events to nobody.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = command.spawn()?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward(out));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward(err));
        }
        Ok(child)
    }
}

/// Sleeps, or returns true as soon as the server is stopping.
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => false,
        _ = stopping(stop) => true,
    }
}

/// Returns once the server is stopping (or the sender is gone).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// SIGTERM, a grace period for the program to finish its frame, then SIGKILL.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        // SAFETY: signals the child this supervisor started and still owns.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
    tracing::info!("camera program stopped");
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

/// The program's log lines into the server's log (its own lines already
/// leave tokens out), without colour codes.
async fn forward(stream: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line = strip_ansi(&line);
        if !line.trim().is_empty() {
            tracing::info!(target: "vision", "{line}");
        }
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_removed_from_forwarded_lines() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m camera door-in"),
            "2026  INFO camera door-in"
        );
    }

    #[tokio::test]
    async fn a_program_that_dies_is_started_again_and_stopped_with_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("vision.toml");
        std::fs::write(&config, "").unwrap();
        // A stand-in for `vision`: counts its starts, then dies at once.
        let program = dir.path().join("vision");
        let starts = dir.path().join("starts");
        std::fs::write(
            &program,
            format!("#!/bin/sh\necho start >> {}\nexit 3\n", starts.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let state = Arc::new(RwLock::new(VisionState::Off));
        let (stop, stopped) = watch::channel(false);
        let task = Supervisor {
            config,
            program,
            state: state.clone(),
        }
        .spawn(stopped);
        // Starts at 0 s, 2 s (pause 1 s doubled), 6 s: two starts within 4 s.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .count()
            < 2
        {
            assert!(Instant::now() < deadline, "not restarted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(matches!(
            *state.read().unwrap(),
            VisionState::Running { restarts: 1 } | VisionState::Restarting { restarts: 1 | 2 }
        ));
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the supervisor did not stop")
            .unwrap();
        assert_eq!(*state.read().unwrap(), VisionState::Off);
    }

    #[tokio::test]
    async fn a_missing_program_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("vision.toml");
        std::fs::write(&config, "").unwrap();
        let state = Arc::new(RwLock::new(VisionState::Off));
        let (stop, stopped) = watch::channel(false);
        let task = Supervisor {
            config,
            program: dir.path().join("no-such-vision"),
            state: state.clone(),
        }
        .spawn(stopped);
        let deadline = Instant::now() + Duration::from_secs(10);
        while *state.read().unwrap() != VisionState::NotInstalled {
            assert!(Instant::now() < deadline, "{:?}", state.read().unwrap());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
