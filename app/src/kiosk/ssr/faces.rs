//! Faces at the kiosk. The camera program already holds the gallery and the
//! models, so it answers the kiosk too: a tablet's frame goes into a queue
//! here, the camera program of that branch takes it with a long poll (it
//! stays an HTTP client of the server; the server needs no OpenCV) and
//! answers with a client id or nobody. The tablet only ever gets a first
//! name and a one-time token to check in with; no frame is stored, and
//! templates never leave the camera program.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot};

use crate::error::AppError;

/// A camera program that polled this recently can answer a kiosk.
const POLLER_FRESH: Duration = Duration::from_secs(30);
/// How long a kiosk waits for an answer; the visitor is in front of it.
const ANSWER_WAIT: Duration = Duration::from_millis(2_500);
/// A frame nobody took this quickly is stale: the visitor has moved.
const FRAME_STALE: Duration = Duration::from_secs(2);
/// How long a "Welcome back — is this you?" stays valid.
const RECOGNISED_FOR: Duration = Duration::from_secs(180);
/// Frames waiting at once, over all branches (a few kiosks, a few per second).
const MAX_QUEUED: usize = 64;
/// A stranger seen at a kiosk this recently is the one who registers there.
const STRANGER_AT_KIOSK: Duration = Duration::from_secs(300);

/// What the camera program says a frame shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// A client who opted in.
    pub client_id: Option<i64>,
    /// Nobody the kiosk may name, but a face the doors saw come in today.
    pub stranger: Option<String>,
}

struct Frame {
    id: u64,
    branch_id: i64,
    jpeg: Vec<u8>,
    queued_at: Instant,
}

struct Waiter {
    branch_id: i64,
    answer: oneshot::Sender<Answer>,
}

struct Recognised {
    client_id: i64,
    device_id: i64,
    until: Instant,
}

#[derive(Default)]
struct Relay {
    queued: VecDeque<Frame>,
    waiting: HashMap<u64, Waiter>,
    /// When a camera program of each branch last asked for frames.
    pollers: HashMap<i64, Instant>,
    recognised: HashMap<String, Recognised>,
    /// The stranger last in front of each kiosk, and when.
    strangers: HashMap<i64, (String, Instant)>,
    next_id: u64,
}

/// The queue between kiosks and camera programs, shared through `AppState`.
#[derive(Default)]
pub struct FaceRelay {
    relay: Mutex<Relay>,
    arrived: Notify,
}

/// A kiosk frame handed to a camera program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RelayedFrame {
    pub id: u64,
    /// Base64 JPEG, re-encoded by the server.
    pub jpeg: String,
}

impl FaceRelay {
    fn lock(&self) -> std::sync::MutexGuard<'_, Relay> {
        self.relay.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a camera program of `branch_id` is there to answer.
    pub fn available(&self, branch_id: i64) -> bool {
        self.lock()
            .pollers
            .get(&branch_id)
            .is_some_and(|seen| seen.elapsed() < POLLER_FRESH)
    }

    /// Sends a frame to the branch's camera program and waits for who it is
    /// (nobody when it does not answer in time).
    pub async fn ask(&self, branch_id: i64, jpeg: Vec<u8>) -> Answer {
        let (sender, receiver) = oneshot::channel();
        let id = {
            let mut relay = self.lock();
            if relay.queued.len() >= MAX_QUEUED {
                return Answer::default();
            }
            relay.next_id += 1;
            let id = relay.next_id;
            relay.queued.push_back(Frame {
                id,
                branch_id,
                jpeg,
                queued_at: Instant::now(),
            });
            relay.waiting.insert(
                id,
                Waiter {
                    branch_id,
                    answer: sender,
                },
            );
            id
        };
        self.arrived.notify_waiters();
        let answer = tokio::time::timeout(ANSWER_WAIT, receiver).await;
        let mut relay = self.lock();
        relay.queued.retain(|f| f.id != id);
        relay.waiting.remove(&id);
        answer.ok().and_then(Result::ok).unwrap_or_default()
    }

    /// The frames waiting for `branch_id`, waiting up to `wait` for one to
    /// arrive (a long poll); marks the branch's camera program as present.
    pub async fn next_frames(&self, branch_id: i64, wait: Duration) -> Vec<RelayedFrame> {
        let deadline = Instant::now() + wait;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let mut relay = self.lock();
                relay.pollers.insert(branch_id, Instant::now());
                relay.queued.retain(|f| f.queued_at.elapsed() < FRAME_STALE);
                let mut taken = Vec::new();
                relay.queued.retain(|f| {
                    if f.branch_id == branch_id && taken.len() < 4 {
                        use base64::Engine as _;
                        taken.push(RelayedFrame {
                            id: f.id,
                            jpeg: base64::engine::general_purpose::STANDARD.encode(&f.jpeg),
                        });
                        false
                    } else {
                        true
                    }
                });
                if !taken.is_empty() {
                    return taken;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, arrived).await.is_err() {
                self.lock().pollers.insert(branch_id, Instant::now());
                return Vec::new();
            }
        }
    }

    /// A camera program's answer for frame `id`; only the branch the frame
    /// came from may answer it. A late answer (the kiosk stopped waiting) is
    /// dropped quietly.
    pub fn answer(&self, branch_id: i64, id: u64, answer: Answer) -> Result<(), AppError> {
        let mut relay = self.lock();
        match relay.waiting.get(&id) {
            Some(w) if w.branch_id != branch_id => Err(AppError::Forbidden),
            Some(_) => {
                if let Some(w) = relay.waiting.remove(&id) {
                    let _ = w.answer.send(answer);
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// A one-time token for "yes, that is me" at `device_id`.
    pub fn remember(&self, device_id: i64, client_id: i64) -> String {
        let token = crate::infra::tokens::new_secret();
        let mut relay = self.lock();
        relay.recognised.retain(|_, r| r.until > Instant::now());
        relay.recognised.insert(
            token.clone(),
            Recognised {
                client_id,
                device_id,
                until: Instant::now() + RECOGNISED_FOR,
            },
        );
        token
    }

    /// A stranger the doors saw is in front of kiosk `device_id`.
    pub fn saw_stranger(&self, device_id: i64, key: String) {
        let mut relay = self.lock();
        relay
            .strangers
            .retain(|_, (_, at)| at.elapsed() < STRANGER_AT_KIOSK);
        relay.strangers.insert(device_id, (key, Instant::now()));
    }

    /// The stranger last in front of kiosk `device_id`, if recently.
    pub fn stranger_at(&self, device_id: i64) -> Option<String> {
        self.lock()
            .strangers
            .get(&device_id)
            .filter(|(_, at)| at.elapsed() < STRANGER_AT_KIOSK)
            .map(|(key, _)| key.clone())
    }

    /// The client a token names, once, at the kiosk it was given to.
    pub fn take(&self, device_id: i64, token: &str) -> Option<i64> {
        let mut relay = self.lock();
        let found = relay.recognised.remove(token)?;
        (found.device_id == device_id && found.until > Instant::now()).then_some(found.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frame_reaches_its_branch_only_and_the_answer_comes_back() {
        let relay = std::sync::Arc::new(FaceRelay::default());
        assert!(!relay.available(1));
        let asking = {
            let relay = relay.clone();
            tokio::spawn(async move { relay.ask(1, vec![1, 2, 3]).await })
        };
        // Another branch's program gets nothing within its wait.
        assert!(
            relay
                .next_frames(2, Duration::from_millis(50))
                .await
                .is_empty()
        );
        let frames = relay.next_frames(1, Duration::from_secs(2)).await;
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].jpeg, "AQID");
        assert!(relay.available(1));
        let client = |id| Answer {
            client_id: Some(id),
            stranger: None,
        };
        assert_eq!(
            relay.answer(2, frames[0].id, client(9)),
            Err(AppError::Forbidden)
        );
        relay.answer(1, frames[0].id, client(7)).unwrap();
        assert_eq!(asking.await.unwrap(), client(7));
        // Late or unknown answers are dropped quietly.
        relay.answer(1, frames[0].id, client(7)).unwrap();
    }

    #[tokio::test]
    async fn unanswered_frames_time_out_and_tokens_work_once_at_their_kiosk() {
        let relay = FaceRelay::default();
        assert_eq!(relay.ask(1, vec![1]).await, Answer::default());
        assert!(relay.lock().queued.is_empty() && relay.lock().waiting.is_empty());
        let token = relay.remember(5, 42);
        assert_eq!(relay.take(6, &token), None, "another kiosk");
        let token = relay.remember(5, 42);
        assert_eq!(relay.take(5, &token), Some(42));
        assert_eq!(relay.take(5, &token), None, "used");
    }
}
