//! Argon2 password hashing, off the async runtime (it is deliberately slow)
//! and a few at a time (it deliberately takes memory).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

use crate::error::AppError;

/// A hash that no password verifies: for accounts that may not sign in yet.
pub const LOCKED_HASH: &str = "!locked";

/// At most this many checks run at once: each takes a core and 19 MiB.
const CHECKING_AT_ONCE: usize = 4;
/// At most this many callers wait for a turn; more are refused at once, so a
/// flood of sign-ins costs neither memory nor a queue that never drains.
const WAITING_AT_MOST: usize = 32;
/// What a refused caller is told to wait, in seconds.
const BUSY_RETRY_SECS: u64 = 2;

/// A password check waiting for a checking thread.
type Job = Box<dyn FnOnce() + Send>;

/// Bounds the password checks that sign-ins start (anyone can start one):
/// a few threads of its own check them, so memory stays that of a few
/// hashes however many sign-ins arrive (a thread per check would keep
/// each thread's allocator arena, 19 MiB, long after).
#[derive(Clone)]
pub struct CheckGate {
    jobs: std::sync::mpsc::Sender<Job>,
    admitted: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
}

impl Default for CheckGate {
    fn default() -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..CHECKING_AT_ONCE {
            let queue = queue.clone();
            // The threads end when the last gate is dropped (the queue closes).
            let _ = std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || {
                    loop {
                        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
        }
        CheckGate {
            jobs,
            admitted: Arc::new(Semaphore::new(CHECKING_AT_ONCE + WAITING_AT_MOST)),
            running: Arc::default(),
            most_running: Arc::default(),
        }
    }
}

impl std::fmt::Debug for CheckGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckGate")
            .field("running", &self.running.load(Ordering::Relaxed))
            .finish()
    }
}

impl CheckGate {
    /// Checks `password` against `stored` on one of the gate's threads. With
    /// no stored hash it still spends the same time, so an unknown login
    /// cannot be told apart by timing. `Err(Busy)` when too many checks are
    /// already waiting. A check that started runs to its end even if the
    /// caller stops waiting, and holds its place until then.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::Busy {
                retry_after_secs: BUSY_RETRY_SECS,
            })?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let (running, most_running) = (self.running.clone(), self.most_running.clone());
        let job: Job = Box::new(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most_running.fetch_max(now, Ordering::SeqCst);
            let verified = verify_now(&password, stored);
            running.fetch_sub(1, Ordering::SeqCst);
            drop(admitted);
            let _ = answer.send(verified);
        });
        self.jobs.send(job).map_err(AppError::internal)?;
        answered.await.map_err(AppError::internal)
    }

    /// The most checks that ran at the same moment so far.
    pub fn most_at_once(&self) -> usize {
        self.most_running.load(Ordering::SeqCst)
    }
}

/// A new hash, for passwords that staff set (admins and the first start do).
pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

fn verify_now(password: &str, stored: Option<String>) -> bool {
    let stored = stored.unwrap_or_else(dummy_hash);
    match PasswordHash::new(&stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(b"not a real password", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// A readable random password for a generated admin account.
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2"));
        let gate = CheckGate::default();
        let verify = |password: &str, stored| gate.verify(password.into(), stored);
        assert!(verify("correct horse", Some(stored.clone())).await.unwrap());
        assert!(!verify("wrong", Some(stored)).await.unwrap());
        assert!(!verify("anything", None).await.unwrap());
        assert!(!verify("anything", Some(LOCKED_HASH.into())).await.unwrap());
        assert_eq!(gate.most_at_once(), 1);
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let a = generate();
        assert_eq!(a.len(), 16);
        assert_ne!(a, generate());
    }
}
