//! The on-disk event queue: every event is appended (and synced) before any attempt to send
//! it, and removed only when the server has answered for it. Sending is strictly in order and
//! each event keeps its idempotency key, so a crash or an outage loses nothing and a resend is
//! counted once by the server.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::api::{self, Event};
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedEvent {
    /// Which camera saw it: its token is used to send it.
    pub camera: String,
    pub event: Event,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Record {
    Add(QueuedEvent),
    Ack { key: String },
}

pub struct Queue {
    path: PathBuf,
    file: File,
    pending: VecDeque<QueuedEvent>,
}

impl Queue {
    /// Opens (or creates) `dir/events.log` and replays it. A torn last line from a crash
    /// mid-write is dropped: its event was never acknowledged to the camera thread either.
    pub fn open(dir: &Path) -> Result<Queue> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join("events.log");
        let mut pending: VecDeque<QueuedEvent> = VecDeque::new();
        if path.exists() {
            let f = File::open(&path).map_err(|e| Error::io(&path, e))?;
            for (n, line) in BufReader::new(f).split(b'\n').enumerate() {
                let line = line.map_err(|e| Error::io(&path, e))?;
                match serde_json::from_slice::<Record>(&line) {
                    Ok(Record::Add(e)) => pending.push_back(e),
                    Ok(Record::Ack { key }) => pending.retain(|e| e.event.key != key),
                    Err(e) => tracing::warn!(
                        "{}: line {} unreadable, skipped: {e}",
                        path.display(),
                        n + 1
                    ),
                }
            }
        }
        let mut q = Queue {
            file: OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?,
            path,
            pending,
        };
        q.rewrite()?;
        Ok(q)
    }

    /// Rewrites the log with only the pending events (atomically: temp file, sync, rename).
    fn rewrite(&mut self) -> Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        for e in &self.pending {
            f.write_all(&line(&Record::Add(e.clone()))?)
                .map_err(|e| Error::io(&tmp, e))?;
        }
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        self.file
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(())
    }

    fn append(&mut self, r: &Record) -> Result<()> {
        let bytes = line(r)?;
        self.file
            .write_all(&bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.file.sync_data().map_err(|e| Error::io(&self.path, e))
    }

    /// Appends an event durably.
    pub fn push(&mut self, camera: &str, event: Event) -> Result<()> {
        let e = QueuedEvent {
            camera: camera.to_string(),
            event,
        };
        self.append(&Record::Add(e.clone()))?;
        self.pending.push_back(e);
        Ok(())
    }

    /// The oldest event not yet acknowledged.
    pub fn front(&self) -> Option<&QueuedEvent> {
        self.pending.front()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Marks an event as delivered; the log is compacted whenever it empties.
    pub fn ack(&mut self, key: &str) -> Result<()> {
        self.append(&Record::Ack {
            key: key.to_string(),
        })?;
        self.pending.retain(|e| e.event.key != key);
        if self.pending.is_empty() {
            self.rewrite()?;
        }
        Ok(())
    }
}

fn line(r: &Record) -> Result<Vec<u8>> {
    let mut v = serde_json::to_vec(r).map_err(|e| Error::Queue {
        path: "events.log".into(),
        message: e.to_string(),
    })?;
    v.push(b'\n');
    Ok(v)
}

/// The queue shared by the camera threads (producers) and the sender thread.
pub struct Outbox {
    queue: Mutex<Queue>,
    wake: Condvar,
    dead_letters: PathBuf,
}

impl Outbox {
    pub fn open(dir: &Path) -> Result<Arc<Outbox>> {
        Ok(Arc::new(Outbox {
            queue: Mutex::new(Queue::open(dir)?),
            wake: Condvar::new(),
            dead_letters: dir.join("refused.jsonl"),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panicked holder cannot leave the queue half-written (appends are whole lines).
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, camera: &str, event: Event) -> Result<()> {
        self.lock().push(camera, event)?;
        self.wake.notify_all();
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Wakes the sender (used on shutdown).
    pub fn notify(&self) {
        self.wake.notify_all();
    }

    /// Sends queued events in order until `stop` is set. While the server is unreachable the
    /// same event is retried with backoff (0.5 s doubling to 30 s); nothing behind it is sent
    /// first. An event the server refuses as invalid is moved to `refused.jsonl` so it cannot
    /// block the queue forever. With `drain`, returns as soon as the queue is empty.
    pub fn run_sender(
        &self,
        api: &api::Client,
        tokens: &HashMap<String, String>,
        stop: &AtomicBool,
        drain: bool,
    ) {
        let mut backoff = Duration::from_millis(500);
        loop {
            let next = {
                let mut q = self.lock();
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Some(e) = q.front() {
                        break e.clone();
                    }
                    if drain {
                        return;
                    }
                    q = self
                        .wake
                        .wait_timeout(q, Duration::from_secs(1))
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            };
            let result = match tokens.get(&next.camera) {
                Some(token) => api.post_event(token, &next.event).map(|_| ()),
                None => Err(Error::Server {
                    status: 0,
                    message: format!("camera {:?} is no longer configured", next.camera),
                }),
            };
            match result {
                Ok(()) => {
                    backoff = Duration::from_millis(500);
                    if let Err(e) = self.lock().ack(&next.event.key) {
                        tracing::error!("event queue: {e}");
                        self.sleep(stop, Duration::from_secs(1));
                    }
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(
                        "event {} not sent ({e}); retrying in {:?}",
                        next.event.key,
                        backoff
                    );
                    self.sleep(stop, backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
                Err(e) => {
                    tracing::error!(
                        "event {} refused ({e}); kept in {}",
                        next.event.key,
                        self.dead_letters.display()
                    );
                    let kept = serde_json::to_string(&next)
                        .map_err(|e| e.to_string())
                        .and_then(|s| {
                            append_line(&self.dead_letters, &s).map_err(|e| e.to_string())
                        });
                    if let Err(e) = kept {
                        tracing::error!("cannot keep refused event: {e}");
                    }
                    if let Err(e) = self.lock().ack(&next.event.key) {
                        tracing::error!("event queue: {e}");
                    }
                }
            }
        }
    }

    fn sleep(&self, stop: &AtomicBool, d: Duration) {
        let deadline = std::time::Instant::now() + d;
        while !stop.load(Ordering::SeqCst) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

fn append_line(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "{text}")?;
    f.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(key: &str, at: i64) -> Event {
        Event {
            key: key.into(),
            kind: "enter".into(),
            occurred_at: at,
            client_id: Some(3),
            staff_id: None,
            stranger: None,
            similarity: Some(0.7),
            track: None,
            snapshot: None,
        }
    }

    fn keys(q: &Queue) -> Vec<String> {
        q.pending.iter().map(|e| e.event.key.clone()).collect()
    }

    #[test]
    fn append_ack_reopen_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut q = Queue::open(dir.path()).unwrap();
            for (i, k) in ["key-aaaa", "key-bbbb", "key-cccc"].iter().enumerate() {
                q.push("door", event(k, i as i64)).unwrap();
            }
            q.ack("key-aaaa").unwrap();
            // Dropped without any shutdown: as after a crash.
        }
        let mut q = Queue::open(dir.path()).unwrap();
        assert_eq!(keys(&q), ["key-bbbb", "key-cccc"]);
        assert_eq!(q.front().unwrap().camera, "door");
        q.push("door", event("key-dddd", 9)).unwrap();
        q.ack("key-bbbb").unwrap();
        drop(q);
        let mut q = Queue::open(dir.path()).unwrap();
        assert_eq!(keys(&q), ["key-cccc", "key-dddd"]);
        q.ack("key-cccc").unwrap();
        q.ack("key-dddd").unwrap();
        assert!(q.is_empty());
        // Compacted once empty.
        assert_eq!(
            std::fs::metadata(dir.path().join("events.log"))
                .unwrap()
                .len(),
            0
        );
        assert!(Queue::open(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut q = Queue::open(dir.path()).unwrap();
            q.push("door", event("key-aaaa", 1)).unwrap();
            q.push("door", event("key-bbbb", 2)).unwrap();
        }
        let path = dir.path().join("events.log");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"op\":\"add\",\"camera\":\"door\",\"ev")
            .unwrap();
        drop(f);
        let mut q = Queue::open(dir.path()).unwrap();
        assert_eq!(keys(&q), ["key-aaaa", "key-bbbb"]);
        // Still appendable after the repair.
        q.push("door", event("key-cccc", 3)).unwrap();
        drop(q);
        let q = Queue::open(dir.path()).unwrap();
        assert_eq!(keys(&q), ["key-aaaa", "key-bbbb", "key-cccc"]);
        assert_eq!(q.front().unwrap().event, event("key-aaaa", 1));
    }
}
