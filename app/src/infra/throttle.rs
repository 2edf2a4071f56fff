//! Slows down password guessing: after a few failures for one login, further
//! attempts are refused for a period that doubles with each new failure.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FREE_FAILURES: u32 = 3;
const BASE_LOCK: Duration = Duration::from_secs(2);
const MAX_LOCK: Duration = Duration::from_secs(300);
/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(900);

#[derive(Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

impl LoginThrottle {
    /// `Err(seconds)` when `key` must wait before trying again.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get(key).copied() {
            if now.duration_since(entry.last_failure) > MEMORY {
                entries.remove(key);
                return Ok(());
            }
            if let Some(until) = entry.locked_until
                && until > now
            {
                return Err((until - now).as_secs().max(1));
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the map bounded when someone sprays random logins.
        if entries.len() > 10_000 {
            entries.retain(|_, e| now.duration_since(e.last_failure) <= MEMORY);
        }
        let entry = entries.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        entry.failures += 1;
        entry.last_failure = now;
        if entry.failures > FREE_FAILURES {
            let doublings = (entry.failures - FREE_FAILURES - 1).min(16);
            let lock = (BASE_LOCK * 2u32.pow(doublings)).min(MAX_LOCK);
            entry.locked_until = Some(now + lock);
        }
    }

    pub fn record_success(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_free_failures_and_doubles() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert!(throttle.check("admin", t0).is_ok());
            throttle.record_failure("admin", t0);
        }
        assert!(throttle.check("admin", t0).is_ok());
        throttle.record_failure("admin", t0);
        assert_eq!(throttle.check("admin", t0), Err(2));
        assert!(throttle.check("admin", t0 + Duration::from_secs(3)).is_ok());
        throttle.record_failure("admin", t0 + Duration::from_secs(3));
        assert_eq!(throttle.check("admin", t0 + Duration::from_secs(3)), Err(4));
        // Another login is not affected.
        assert!(throttle.check("manager", t0).is_ok());
        throttle.record_success("admin");
        assert!(throttle.check("admin", t0 + Duration::from_secs(3)).is_ok());
    }
}
