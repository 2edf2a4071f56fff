//! Follows faces across frames and turns each passage into exactly one decision.
//!
//! Pure logic (no OpenCV calls, no clock): the caller feeds detections with their time, embeds
//! the faces the tracker asks for, and hands back the match as a vote.
//!
//! Longer than 400 lines on purpose: 170 of them are the tests of the passage rules.

use std::collections::HashMap;

use crate::detect::Face;

#[derive(Debug, Clone, Copy)]
pub struct TrackerParams {
    /// Votes after which a track decides by majority.
    pub votes: usize,
    /// Minimum time between two votes of a track, so they see different frames.
    pub sample_gap_ms: i64,
    /// A track ends when unseen this long.
    pub timeout_ms: i64,
    /// The same person is decided at most once within this window (per tracker = per camera).
    pub dedupe_window_ms: i64,
    /// Faces narrower than this never start a track.
    pub min_face_px: f32,
    /// A single named vote at least this similar decides at once.
    pub confident: f32,
}

/// What one embedding of a track said.
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    /// Person name (client id as text for server galleries); `None` = unknown.
    pub person: Option<String>,
    pub similarity: f32,
}

/// The one outcome of a passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub track_id: u64,
    pub person: Option<String>,
    /// Mean similarity of the winning votes; `None` for unknown.
    pub similarity: Option<f32>,
    /// When the face was first seen (caller's clock).
    pub first_seen_ms: i64,
    /// When the decision was made.
    pub decided_ms: i64,
    pub votes: usize,
    pub snapshot: Option<Vec<u8>>,
}

/// A request to embed `faces[face_index]` of the last update for `track_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRequest {
    pub track_id: u64,
    pub face_index: usize,
}

#[derive(Debug)]
struct Track {
    id: u64,
    face: Face,
    first_seen_ms: i64,
    last_seen_ms: i64,
    hits: usize,
    last_sample_ms: Option<i64>,
    votes: Vec<Vote>,
    decided: bool,
    snapshot: Option<Vec<u8>>,
}

pub struct Tracker {
    params: TrackerParams,
    tracks: Vec<Track>,
    next_id: u64,
    now_ms: i64,
    last_named: HashMap<String, i64>,
    ready: Vec<Decision>,
}

impl Tracker {
    pub fn new(params: TrackerParams) -> Tracker {
        Tracker {
            params,
            tracks: Vec::new(),
            next_id: 1,
            now_ms: i64::MIN,
            last_named: HashMap::new(),
            ready: Vec::new(),
        }
    }

    pub fn active_tracks(&self) -> usize {
        self.tracks.len()
    }

    /// Feeds one frame's faces; returns the faces to embed now.
    pub fn update(&mut self, now_ms: i64, faces: &[Face]) -> Vec<SampleRequest> {
        self.now_ms = now_ms;
        self.expire(now_ms);
        // Greedy association, best overlap first. A face that moved more than IoU allows (fast
        // walk, low fps) still joins its track when its centre stays within half a face width.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, t) in self.tracks.iter().enumerate() {
            for (fi, f) in faces.iter().enumerate() {
                let iou = t.face.iou(f);
                let (tx, ty) = t.face.centre();
                let (fx, fy) = f.centre();
                let dist = ((tx - fx).powi(2) + (ty - fy).powi(2)).sqrt();
                let near = dist < 0.5 * t.face.w.max(f.w);
                if iou >= 0.3 || near {
                    pairs.push((iou.max(0.01), ti, fi));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut track_face: Vec<Option<usize>> = vec![None; self.tracks.len()];
        let mut face_used = vec![false; faces.len()];
        for (_, ti, fi) in pairs {
            if track_face[ti].is_none() && !face_used[fi] {
                track_face[ti] = Some(fi);
                face_used[fi] = true;
            }
        }
        let mut requests = Vec::new();
        for (ti, fi) in track_face.iter().enumerate() {
            if let Some(fi) = *fi {
                let t = &mut self.tracks[ti];
                t.face = faces[fi];
                t.last_seen_ms = now_ms;
                t.hits += 1;
                let due = t
                    .last_sample_ms
                    .is_none_or(|s| now_ms - s >= self.params.sample_gap_ms);
                if !t.decided && t.votes.len() < self.params.votes && due {
                    t.last_sample_ms = Some(now_ms);
                    requests.push(SampleRequest {
                        track_id: t.id,
                        face_index: fi,
                    });
                }
            }
        }
        // A new face is embedded at once: the first vote costs no wait for a second frame.
        for (fi, f) in faces.iter().enumerate() {
            if !face_used[fi] && f.w >= self.params.min_face_px {
                requests.push(SampleRequest {
                    track_id: self.next_id,
                    face_index: fi,
                });
                self.tracks.push(Track {
                    id: self.next_id,
                    face: *f,
                    first_seen_ms: now_ms,
                    last_seen_ms: now_ms,
                    hits: 1,
                    last_sample_ms: Some(now_ms),
                    votes: Vec::new(),
                    decided: false,
                    snapshot: None,
                });
                self.next_id += 1;
            }
        }
        requests
    }

    /// Records the match of a requested sample. The first snapshot offered is kept for the event.
    pub fn vote(&mut self, track_id: u64, vote: Vote, snapshot: Option<Vec<u8>>) {
        let Some(ti) = self.tracks.iter().position(|t| t.id == track_id) else {
            return;
        };
        let t = &mut self.tracks[ti];
        if t.decided {
            return;
        }
        t.votes.push(vote);
        if t.snapshot.is_none() {
            t.snapshot = snapshot;
        }
        // Early decision: one very confident naming, or the first two votes agree. Otherwise
        // wait for the full count.
        let n = t.votes.len();
        let confident =
            n == 1 && t.votes[0].person.is_some() && t.votes[0].similarity >= self.params.confident;
        let unanimous =
            n >= 2.min(self.params.votes) && t.votes.iter().all(|v| v.person == t.votes[0].person);
        if confident || unanimous || n >= self.params.votes {
            self.decide(ti);
        }
    }

    /// Decisions made since the last call (tracks that timed out decide with the votes they have).
    pub fn take_decisions(&mut self) -> Vec<Decision> {
        std::mem::take(&mut self.ready)
    }

    /// Ends every track (end of a video file).
    pub fn finish(&mut self) -> Vec<Decision> {
        self.expire(i64::MAX);
        self.take_decisions()
    }

    fn expire(&mut self, now_ms: i64) {
        let timeout = self.params.timeout_ms;
        let mut i = 0;
        while i < self.tracks.len() {
            let t = &self.tracks[i];
            if now_ms.saturating_sub(t.last_seen_ms) > timeout {
                // Seen in a single frame: a false detection more likely than a passage.
                if !t.decided && !t.votes.is_empty() && t.hits >= 2 {
                    self.decide(i);
                }
                self.tracks.remove(i);
            } else {
                i += 1;
            }
        }
    }

    fn decide(&mut self, ti: usize) {
        let t = &mut self.tracks[ti];
        t.decided = true;
        // Strict majority of the votes, else unknown: never a guess.
        let mut counts: Vec<(Option<&String>, usize)> = Vec::new();
        for v in &t.votes {
            match counts.iter_mut().find(|(p, _)| *p == v.person.as_ref()) {
                Some((_, c)) => *c += 1,
                None => counts.push((v.person.as_ref(), 1)),
            }
        }
        let winner = counts
            .iter()
            .find(|(_, c)| 2 * c > t.votes.len())
            .and_then(|(p, _)| p.cloned());
        let similarity = winner.as_ref().map(|w| {
            let sims: Vec<f32> = t
                .votes
                .iter()
                .filter(|v| v.person.as_ref() == Some(w))
                .map(|v| v.similarity)
                .collect();
            sims.iter().sum::<f32>() / sims.len() as f32
        });
        let decided_ms = if self.now_ms == i64::MIN {
            t.last_seen_ms
        } else {
            self.now_ms
        };
        if let Some(name) = &winner {
            let recent = self
                .last_named
                .get(name)
                .is_some_and(|&last| t.first_seen_ms - last < self.params.dedupe_window_ms);
            self.last_named.insert(name.clone(), t.first_seen_ms);
            if recent {
                return;
            }
        }
        self.ready.push(Decision {
            track_id: t.id,
            person: winner,
            similarity,
            first_seen_ms: t.first_seen_ms,
            decided_ms,
            votes: t.votes.len(),
            snapshot: t.snapshot.take(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: TrackerParams = TrackerParams {
        votes: 3,
        sample_gap_ms: 100,
        timeout_ms: 1000,
        dedupe_window_ms: 60_000,
        min_face_px: 20.0,
        confident: 0.9,
    };

    fn face(x: f32, y: f32) -> Face {
        Face {
            x,
            y,
            w: 60.0,
            h: 70.0,
            score: 0.9,
            landmarks: [[0.0; 2]; 5],
        }
    }

    fn named(p: &str, s: f32) -> Vote {
        Vote {
            person: Some(p.into()),
            similarity: s,
        }
    }

    fn unknown() -> Vote {
        Vote {
            person: None,
            similarity: 0.3,
        }
    }

    /// Walks one face across the frame for `frames` frames at 25 fps from `t0`, answering each
    /// sample request with `answer(n)` (n = sample number), and returns all decisions.
    fn passage(
        tr: &mut Tracker,
        t0: i64,
        frames: i64,
        answer: impl Fn(usize) -> Vote,
    ) -> Vec<Decision> {
        let mut out = Vec::new();
        let mut n = 0;
        for i in 0..frames {
            let now = t0 + i * 40;
            for r in tr.update(now, &[face(10.0 + 3.0 * i as f32, 50.0)]) {
                tr.vote(r.track_id, answer(n), Some(vec![n as u8]));
                n += 1;
            }
            out.extend(tr.take_decisions());
        }
        // The face leaves: time passes with empty frames.
        for i in 0..40 {
            tr.update(t0 + frames * 40 + i * 40, &[]);
            out.extend(tr.take_decisions());
        }
        out
    }

    #[test]
    fn one_decision_per_passage_made_early() {
        let mut tr = Tracker::new(PARAMS);
        let d = passage(&mut tr, 0, 100, |_| named("ann", 0.8));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].person.as_deref(), Some("ann"));
        assert_eq!(d[0].first_seen_ms, 0);
        // First sighting votes, the next vote ≥100 ms later (frame at 120 ms) agrees: decided.
        assert_eq!(d[0].decided_ms, 120);
        assert_eq!(d[0].votes, 2);
        assert_eq!(d[0].snapshot, Some(vec![0]));
        assert!((d[0].similarity.unwrap() - 0.8).abs() < 1e-6);
        assert_eq!(tr.active_tracks(), 0);
    }

    #[test]
    fn a_very_confident_first_vote_decides_at_once_but_unknown_never_does() {
        let mut tr = Tracker::new(PARAMS);
        let d = passage(&mut tr, 0, 100, |_| named("ann", 0.95));
        assert_eq!((d.len(), d[0].votes, d[0].decided_ms), (1, 1, 0));
        let mut tr = Tracker::new(PARAMS);
        let d = passage(&mut tr, 0, 100, |_| Vote {
            person: None,
            similarity: 0.95,
        });
        assert_eq!((d.len(), d[0].votes), (1, 2));
    }

    #[test]
    fn disagreeing_votes_go_to_majority_or_unknown() {
        let mut tr = Tracker::new(PARAMS);
        let d = passage(&mut tr, 0, 100, |n| {
            if n == 1 { unknown() } else { named("bob", 0.7) }
        });
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].person.as_deref(), d[0].votes), (Some("bob"), 3));

        let mut tr = Tracker::new(PARAMS);
        let d = passage(&mut tr, 0, 100, |n| {
            [named("ann", 0.7), named("bob", 0.7), unknown()][n % 3].clone()
        });
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].person, None, "no majority: unknown, not a guess");
        assert_eq!(d[0].similarity, None);
    }

    #[test]
    fn same_person_is_not_decided_twice_within_the_window() {
        let mut tr = Tracker::new(PARAMS);
        assert_eq!(passage(&mut tr, 0, 50, |_| named("ann", 0.8)).len(), 1);
        // Back 10 s later: inside the 60 s window, no second event.
        assert!(passage(&mut tr, 10_000, 50, |_| named("ann", 0.8)).is_empty());
        // Someone else in between is still reported, and so are unknowns.
        assert_eq!(passage(&mut tr, 20_000, 50, |_| named("bob", 0.8)).len(), 1);
        assert_eq!(passage(&mut tr, 25_000, 50, |_| unknown()).len(), 1);
        assert_eq!(passage(&mut tr, 26_000, 50, |_| unknown()).len(), 1);
        // The window counts from the last sighting (10 s): at 75 s ann is reported again.
        assert_eq!(passage(&mut tr, 75_000, 50, |_| named("ann", 0.8)).len(), 1);
    }

    #[test]
    fn two_faces_at_once_are_two_tracks() {
        let mut tr = Tracker::new(PARAMS);
        let mut out = Vec::new();
        for i in 0..30 {
            let now = i * 40;
            let faces = [face(10.0 + i as f32, 50.0), face(300.0 - i as f32, 60.0)];
            for r in tr.update(now, &faces) {
                let who = if r.face_index == 0 { "ann" } else { "bob" };
                tr.vote(r.track_id, named(who, 0.8), None);
            }
            out.extend(tr.take_decisions());
        }
        out.extend(tr.finish());
        let mut names: Vec<_> = out.iter().map(|d| d.person.clone().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["ann", "bob"]);
    }

    #[test]
    fn flicker_and_tiny_faces_make_no_event() {
        let mut tr = Tracker::new(PARAMS);
        // A single-frame false detection: sampled at once, but never decided.
        let r = tr.update(0, &[face(10.0, 10.0)]);
        assert_eq!(r.len(), 1);
        tr.vote(r[0].track_id, unknown(), None);
        let mut tiny = face(200.0, 10.0);
        tiny.w = 10.0;
        for i in 1..20 {
            assert!(tr.update(i * 40, &[tiny]).is_empty());
        }
        assert!(tr.finish().is_empty());
    }

    #[test]
    fn a_track_that_ends_early_decides_with_its_votes() {
        let mut tr = Tracker::new(PARAMS);
        let r = tr.update(0, &[face(10.0, 10.0)]);
        assert_eq!(r.len(), 1);
        tr.vote(r[0].track_id, named("ann", 0.8), None);
        // Seen once more before the next vote is due, then gone.
        assert!(tr.update(40, &[face(12.0, 10.0)]).is_empty());
        assert!(tr.take_decisions().is_empty());
        tr.update(2000, &[]);
        let d = tr.take_decisions();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].person.as_deref(), Some("ann"));
    }
}
