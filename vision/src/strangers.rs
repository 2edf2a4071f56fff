//! Short-lived anonymous templates of unknown faces, so one stranger passing the doors twice
//! (out to the car and back) is one visitor: the same key goes with both events. Memory only,
//! for at most 12 hours after they were last seen; never written anywhere.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::embed::Embedding;
use crate::gallery::{Gallery, MatchParams, Person};

/// A stranger is forgotten this long after they were last seen.
const KEEP_FOR: Duration = Duration::from_secs(12 * 3600);
/// Strangers remembered at once (a busy day at a big showroom); the oldest go first.
const MAX_STRANGERS: usize = 2_000;
/// Templates kept per stranger.
const TEMPLATES: usize = 4;
/// The person-name prefix a stranger's votes and decisions carry.
pub const PREFIX: &str = "stranger:";

/// Strangers seen today, shared by every camera (and the kiosk answers) of one program.
#[derive(Clone, Default)]
pub struct Strangers {
    inner: Arc<Mutex<Memory>>,
}

#[derive(Default)]
struct Memory {
    gallery: Gallery,
    last_seen: Vec<Instant>,
}

impl Strangers {
    /// The stranger `embedding` belongs to (same threshold and margin as clients), if any.
    pub fn recognise(&self, embedding: &[f32], params: MatchParams) -> Option<(String, f32)> {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.forget_old(Instant::now());
        let found = m.gallery.best_match(embedding, params);
        let i = found.person?;
        m.last_seen[i] = Instant::now();
        Some((m.gallery.people[i].name.clone(), found.similarity))
    }

    /// Remembers a new stranger from their face samples; returns their key.
    pub fn remember(&self, samples: Vec<Embedding>) -> Option<String> {
        if samples.is_empty() {
            return None;
        }
        let key = format!("s-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.forget_old(Instant::now());
        if m.gallery.people.len() >= MAX_STRANGERS {
            let oldest = (0..m.last_seen.len())
                .min_by_key(|&i| m.last_seen[i])
                .unwrap_or(0);
            m.gallery.people.remove(oldest);
            m.last_seen.remove(oldest);
        }
        m.gallery.people.push(Person {
            name: key.clone(),
            client_id: None,
            staff_id: None,
            embeddings: samples.into_iter().take(TEMPLATES).collect(),
            negatives: Vec::new(),
        });
        m.last_seen.push(Instant::now());
        Some(key)
    }

    /// Forgets the strangers with these keys (they became clients, or were erased since);
    /// returns how many were still remembered.
    pub fn forget(&self, keys: &[String]) -> usize {
        if keys.is_empty() {
            return 0;
        }
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut forgotten = 0;
        let mut i = 0;
        while i < m.gallery.people.len() {
            if keys.contains(&m.gallery.people[i].name) {
                m.gallery.people.remove(i);
                m.last_seen.remove(i);
                forgotten += 1;
            } else {
                i += 1;
            }
        }
        forgotten
    }

    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .gallery
            .people
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Memory {
    fn forget_old(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.last_seen.len() {
            if now.duration_since(self.last_seen[i]) > KEEP_FOR {
                self.last_seen.remove(i);
                self.gallery.people.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::l2_normalise;

    const P: MatchParams = MatchParams {
        threshold: 0.6,
        margin: 0.05,
    };

    #[test]
    fn the_same_stranger_gets_the_same_key_and_another_a_new_one() {
        let s = Strangers::default();
        assert_eq!(s.recognise(&l2_normalise(&[1.0, 0.0, 0.0]), P), None);
        let a = s.remember(vec![l2_normalise(&[1.0, 0.0, 0.0])]).unwrap();
        assert!(a.starts_with("s-") && a.len() == 18, "{a}");
        let (again, similarity) = s.recognise(&l2_normalise(&[0.95, 0.1, 0.0]), P).unwrap();
        assert_eq!(again, a);
        assert!(similarity > 0.9);
        assert_eq!(s.recognise(&l2_normalise(&[0.0, 0.0, 1.0]), P), None);
        let b = s.remember(vec![l2_normalise(&[0.0, 0.0, 1.0])]).unwrap();
        assert_ne!(a, b);
        assert_eq!(s.len(), 2);
        assert_eq!(s.remember(Vec::new()), None);
        // A stranger who registered (or was erased since) is forgotten; the other stays.
        assert_eq!(s.forget(&[a.clone(), "s-0000000000000000".into()]), 1);
        assert_eq!(s.len(), 1);
        assert_eq!(s.recognise(&l2_normalise(&[0.95, 0.1, 0.0]), P), None);
        assert_eq!(
            s.recognise(&l2_normalise(&[0.0, 0.0, 1.0]), P).unwrap().0,
            b
        );
    }
}
