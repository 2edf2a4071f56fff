//! Slows down password guessing. Each attempt counts against two keys: the
//! login from one address (a few free failures, then a lock that doubles with
//! each new failure) and the address alone (a higher ceiling across every
//! login it tries). An attacker elsewhere therefore cannot lock the admin out,
//! and one address cannot spray every login.
//!
//! Checking and counting are one step: attempts on one login from one
//! address take turns (parallel guesses cannot all be checked before the
//! first failure counts), and the address's count is taken when an attempt
//! starts and given back when it succeeds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures of one login from one address before it is locked.
const FREE_PER_LOGIN: u32 = 3;
/// Failures from one address, across logins, before the address is locked.
const FREE_PER_ADDRESS: u32 = 20;
const BASE_LOCK: Duration = Duration::from_secs(2);
const MAX_LOCK: Duration = Duration::from_secs(300);
/// Failures older than this are forgotten.
const MEMORY: Duration = Duration::from_secs(900);
/// Entries kept before old ones are swept (someone spraying random logins).
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<Key, Entry>>,
    turns: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Login(String, Option<IpAddr>),
    Address(Option<IpAddr>),
}

impl Key {
    fn free_failures(&self) -> u32 {
        match self {
            Key::Login(..) => FREE_PER_LOGIN,
            Key::Address(_) => FREE_PER_ADDRESS,
        }
    }
}

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    fn wait(&self, now: Instant) -> Option<u64> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| (until - now).as_secs().max(1))
    }
}

/// An attempt that was let through; it holds its login's turn until it is
/// reported as [`LoginThrottle::failed`] or [`LoginThrottle::succeeded`].
#[must_use]
pub struct Attempt {
    login: Key,
    address: Key,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl LoginThrottle {
    /// Waits for the turn of `login` from `address`, then lets the attempt
    /// through, or refuses it with the seconds to wait while a key is locked.
    pub async fn begin(&self, login: &str, address: Option<IpAddr>) -> Result<Attempt, u64> {
        let login = Key::Login(login.to_string(), address);
        let turn = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            if turns.len() > MAX_ENTRIES {
                turns.retain(|_, turn| Arc::strong_count(turn) > 1);
            }
            turns.entry(login.clone()).or_default().clone()
        };
        let turn = turn.lock_owned().await;
        let address = Key::Address(address);
        self.admit(&login, &address, Instant::now())?;
        Ok(Attempt {
            login,
            address,
            _turn: turn,
        })
    }

    /// Refuses while either key is locked; otherwise counts the attempt
    /// against the address.
    fn admit(&self, login: &Key, address: &Key, now: Instant) -> Result<(), u64> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > MAX_ENTRIES {
            entries.retain(|_, e| now.duration_since(e.last_failure) <= MEMORY);
        }
        for key in [login, address] {
            if entries
                .get(key)
                .is_some_and(|e| now.duration_since(e.last_failure) > MEMORY)
            {
                entries.remove(key);
            }
        }
        if let Some(wait) = [login, address]
            .iter()
            .filter_map(|key| entries.get(*key).and_then(|e| e.wait(now)))
            .max()
        {
            return Err(wait);
        }
        count_failure(&mut entries, address.clone(), now);
        Ok(())
    }

    /// The password was wrong: it counts against the login from that address.
    pub fn failed(&self, attempt: Attempt) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        count_failure(&mut entries, attempt.login, Instant::now());
    }

    /// The attempt was right: its login starts afresh from that address, and
    /// the address's count takes this attempt back.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&attempt.login);
        if let Some(entry) = entries.get_mut(&attempt.address) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures <= FREE_PER_ADDRESS {
                entry.locked_until = None;
            }
        }
    }
}

/// One more failure for `key`, locking it once its free failures are spent.
fn count_failure(entries: &mut HashMap<Key, Entry>, key: Key, now: Instant) {
    let free = key.free_failures();
    let entry = entries.entry(key).or_insert(Entry {
        failures: 0,
        last_failure: now,
        locked_until: None,
    });
    entry.failures += 1;
    entry.last_failure = now;
    if entry.failures > free {
        let doublings = (entry.failures - free - 1).min(16);
        let lock = (BASE_LOCK * 2u32.pow(doublings)).min(MAX_LOCK);
        entry.locked_until = Some(now + lock);
    }
}

/// At most `limit` uses per `window` for each key (a kiosk's phone checks,
/// an address's pairing attempts).
pub struct RateLimit<K = i64> {
    limit: u32,
    window: Duration,
    used: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: std::hash::Hash + Eq> RateLimit<K> {
    pub fn new(limit: u32, window: Duration) -> RateLimit<K> {
        RateLimit {
            limit,
            window,
            used: Mutex::default(),
        }
    }

    /// Counts one use by `key`, or refuses it with the seconds until its
    /// window starts again.
    pub fn hit(&self, key: K, now: Instant) -> Result<(), crate::error::AppError> {
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.len() > MAX_ENTRIES {
            used.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let (start, count) = used.entry(key).or_insert((now, 0));
        if now.duration_since(*start) >= self.window {
            (*start, *count) = (now, 0);
        }
        if *count >= self.limit {
            let wait = self.window.saturating_sub(now.duration_since(*start));
            return Err(crate::error::AppError::TooManyAttempts {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(login: &str, a: u8) -> (Key, Key) {
        let address = Some(IpAddr::from([10, 0, 0, a]));
        (Key::Login(login.into(), address), Key::Address(address))
    }

    /// One wrong attempt at `now`.
    fn wrong(throttle: &LoginThrottle, login: &str, a: u8, now: Instant) -> Result<(), u64> {
        let (login, address) = keys(login, a);
        throttle.admit(&login, &address, now)?;
        let mut entries = throttle.entries.lock().unwrap();
        count_failure(&mut entries, login, now);
        Ok(())
    }

    #[test]
    fn locks_after_free_failures_and_doubles() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..=FREE_PER_LOGIN {
            assert!(wrong(&throttle, "admin", 1, t0).is_ok());
        }
        assert_eq!(wrong(&throttle, "admin", 1, t0), Err(2));
        let t1 = t0 + Duration::from_secs(3);
        assert!(wrong(&throttle, "admin", 1, t1).is_ok());
        assert_eq!(wrong(&throttle, "admin", 1, t1), Err(4));
        // Another login from the same address, and the same login from
        // another address, are not affected.
        assert!(wrong(&throttle, "manager", 1, t0).is_ok());
        assert!(wrong(&throttle, "admin", 2, t0).is_ok());
    }

    #[test]
    fn one_address_has_a_ceiling_across_logins() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for n in 0..=FREE_PER_ADDRESS {
            assert!(wrong(&throttle, &format!("user{n}"), 1, t0).is_ok());
        }
        assert!(wrong(&throttle, "someone-else", 1, t0).is_err());
        assert!(wrong(&throttle, "someone-else", 2, t0).is_ok());
    }

    #[test]
    fn a_rate_limit_refuses_the_excess_until_its_window_passes() {
        let limit = RateLimit::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(limit.hit(1, t0).is_ok());
        assert!(limit.hit(1, t0).is_ok());
        assert!(limit.hit(1, t0 + Duration::from_secs(10)).is_err());
        assert!(limit.hit(2, t0).is_ok());
        assert!(limit.hit(1, t0 + Duration::from_secs(60)).is_ok());
    }

    #[tokio::test]
    async fn a_success_starts_afresh_and_gives_the_address_count_back() {
        let throttle = LoginThrottle::default();
        let address = Some(IpAddr::from([10, 0, 0, 3]));
        for _ in 0..FREE_PER_LOGIN {
            let attempt = throttle.begin("admin", address).await.unwrap();
            throttle.failed(attempt);
        }
        let attempt = throttle.begin("admin", address).await.unwrap();
        throttle.succeeded(attempt);
        for _ in 0..FREE_PER_LOGIN {
            let attempt = throttle.begin("admin", address).await.unwrap();
            throttle.failed(attempt);
        }
        let (_, address_key) = keys("admin", 3);
        let entries = throttle.entries.lock().unwrap();
        assert_eq!(entries[&address_key].failures, 2 * FREE_PER_LOGIN);
    }
}
