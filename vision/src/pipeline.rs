//! Detection + tracking + recognition on frames: shared by `run`, `bench` and `identify`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use opencv::core::{CV_8UC3, Mat, Scalar, Vector};
use opencv::imgcodecs;
use opencv::prelude::*;

use crate::api::Event;
use crate::config::{Recognition, Role};
use crate::detect::{Detector, Face};
use crate::embed::{Embedder, Embedding};
use crate::gallery::{Gallery, Match, MatchParams};
use crate::strangers::{self, Strangers};
use crate::track::{Decision, Tracker, TrackerParams, Vote};
use crate::{Error, Result};
use std::collections::HashMap;

pub const YUNET_FILE: &str = "face_detection_yunet_2023mar.onnx";
pub const FACENET_FILE: &str = "graph_final.pb";
/// Photos (gallery, `identify`) are detected at this size: faces in them can be small.
pub const PHOTO_MAX_SIDE: i32 = 1280;

/// The YuNet file: from the models directory, else the copy committed with the crate.
pub fn yunet_path(models: &Path) -> PathBuf {
    let p = models.join(YUNET_FILE);
    if p.is_file() {
        p
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(YUNET_FILE)
    }
}

/// One detector plus a FaceNet that may be shared between threads (it is the big one).
pub struct FaceEngine {
    detector: Detector,
    embedder: Arc<Mutex<Embedder>>,
}

pub type SharedEmbedder = Arc<Mutex<Embedder>>;

pub fn load_embedder(models: &Path) -> Result<SharedEmbedder> {
    let mut embedder = Embedder::load(&models.join(FACENET_FILE))?;
    // The first forward pass allocates the network (see `FaceEngine::new`).
    let blank = Mat::new_rows_cols_with_default(160, 160, CV_8UC3, Scalar::all(128.0))?;
    let face = Face {
        x: 20.0,
        y: 20.0,
        w: 120.0,
        h: 120.0,
        score: 1.0,
        landmarks: [[0.0; 2]; 5],
    };
    embedder.embed(&blank, &face)?;
    Ok(Arc::new(Mutex::new(embedder)))
}

impl FaceEngine {
    pub fn new(
        models: &Path,
        detect_score: f32,
        max_side: i32,
        embedder: SharedEmbedder,
    ) -> Result<FaceEngine> {
        let mut detector = Detector::load(&yunet_path(models), detect_score, max_side)?;
        // OpenCV allocates a network's buffers on its first forward pass (~100 ms): do it now,
        // not when the first client walks in.
        let blank = Mat::new_rows_cols_with_default(240, 320, CV_8UC3, Scalar::all(0.0))?;
        detector.detect(&blank)?;
        Ok(FaceEngine { detector, embedder })
    }

    pub fn detect(&mut self, frame: &Mat) -> Result<Vec<Face>> {
        self.detector.detect(frame)
    }

    pub fn embed(&self, frame: &Mat, face: &Face) -> Result<Option<Embedding>> {
        // A poisoned lock only means another thread panicked mid-forward; the net is reusable.
        let mut e = self.embedder.lock().unwrap_or_else(|p| p.into_inner());
        e.embed(frame, face)
    }

    /// Landmark alignment on or off for every user of the shared FaceNet (`vision accuracy`
    /// compares the two).
    pub fn set_align(&self, align: bool) {
        let mut e = self.embedder.lock().unwrap_or_else(|p| p.into_inner());
        e.set_align(align);
    }

    /// The largest face of a photo and its embedding (enrolment).
    pub fn embed_largest(&mut self, image: &Mat) -> Result<Option<(Face, Embedding)>> {
        let faces = self.detect(image)?;
        let Some(face) = faces
            .into_iter()
            .max_by(|a, b| a.area().total_cmp(&b.area()))
        else {
            return Ok(None);
        };
        Ok(self.embed(image, &face)?.map(|e| (face, e)))
    }

    /// Every face of a photo with its match.
    pub fn identify(
        &mut self,
        image: &Mat,
        gallery: &Gallery,
        params: MatchParams,
    ) -> Result<Vec<(Face, Match)>> {
        let mut out = Vec::new();
        for face in self.detect(image)? {
            if let Some(e) = self.embed(image, &face)? {
                out.push((face, gallery.best_match(&e, params)));
            }
        }
        Ok(out)
    }
}

/// The gallery a camera matches against; replaced wholesale by the refresh thread.
pub type GalleryHandle = Arc<RwLock<Arc<Gallery>>>;

/// Per-camera processing: frames in, decisions out.
pub struct Processor {
    engine: FaceEngine,
    tracker: Tracker,
    params: MatchParams,
    gallery: GalleryHandle,
    /// Unknown faces seen today (shared with the other cameras).
    strangers: Strangers,
    /// Per track not decided yet: when its last unknown sample came and the samples, to
    /// remember a new stranger by.
    unknown_samples: HashMap<u64, (i64, Vec<Embedding>)>,
    /// Embeddings computed (for the benchmark).
    pub embeddings: u64,
}

/// Unknown samples of a track that made no decision are dropped after this long.
const UNKNOWN_SAMPLES_MS: i64 = 60_000;

impl Processor {
    pub fn new(engine: FaceEngine, rec: &Recognition, gallery: GalleryHandle) -> Processor {
        Processor {
            engine,
            tracker: Tracker::new(TrackerParams {
                votes: rec.votes,
                // Below a 10 fps frame interval, so camera clock jitter never skips a frame.
                sample_gap_ms: 60,
                timeout_ms: rec.track_timeout_ms,
                dedupe_window_ms: rec.dedupe_window_secs as i64 * 1000,
                min_face_px: rec.min_face_px,
                confident: rec.confident,
            }),
            params: MatchParams {
                threshold: rec.threshold,
                margin: rec.margin,
            },
            gallery,
            strangers: Strangers::default(),
            unknown_samples: HashMap::new(),
            embeddings: 0,
        }
    }

    /// Shares the memory of strangers with the other cameras of the program.
    pub fn with_strangers(mut self, strangers: Strangers) -> Processor {
        self.strangers = strangers;
        self
    }

    /// Processes one BGR frame seen at `t_ms`; returns the decisions it completed.
    pub fn process(&mut self, frame: &Mat, t_ms: i64) -> Result<Vec<Decision>> {
        let faces = self.engine.detect(frame)?;
        let requests = self.tracker.update(t_ms, &faces);
        if !requests.is_empty() {
            let gallery = self
                .gallery
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            for r in requests {
                let face = &faces[r.face_index];
                let Some(e) = self.engine.embed(frame, face)? else {
                    continue;
                };
                self.embeddings += 1;
                let m = gallery.best_match(&e, self.params);
                let vote = match m.person {
                    Some(i) => Vote {
                        person: Some(gallery.people[i].name.clone()),
                        similarity: m.similarity,
                    },
                    None => match self.strangers.recognise(&e, self.params) {
                        Some((key, similarity)) => Vote {
                            person: Some(format!("{}{key}", strangers::PREFIX)),
                            similarity,
                        },
                        None => {
                            let (at, samples) = self.unknown_samples.entry(r.track_id).or_default();
                            *at = t_ms;
                            samples.push(e);
                            Vote {
                                person: None,
                                similarity: m.similarity,
                            }
                        }
                    },
                };
                self.tracker.vote(r.track_id, vote, snapshot(frame, face));
            }
        }
        self.unknown_samples
            .retain(|_, (at, _)| t_ms.saturating_sub(*at) < UNKNOWN_SAMPLES_MS);
        let decisions = self.tracker.take_decisions();
        Ok(self.name_strangers(decisions))
    }

    /// Ends all tracks (end of a video).
    pub fn finish(&mut self) -> Vec<Decision> {
        let decisions = self.tracker.finish();
        self.name_strangers(decisions)
    }

    /// An unknown passage is a new stranger: remembered by its samples under a new key, so
    /// the next passage of the same face carries the same key.
    fn name_strangers(&mut self, mut decisions: Vec<Decision>) -> Vec<Decision> {
        for d in &mut decisions {
            let samples = self.unknown_samples.remove(&d.track_id);
            if d.person.is_none()
                && let Some((_, samples)) = samples
                && let Some(key) = self.strangers.remember(samples)
            {
                d.person = Some(format!("{}{key}", strangers::PREFIX));
            }
        }
        decisions
    }
}

/// A JPEG of the face with some context, for the staff who check the event.
fn snapshot(frame: &Mat, face: &Face) -> Option<Vec<u8>> {
    let mut wide = *face;
    wide.x -= face.w * 0.4;
    wide.y -= face.h * 0.4;
    wide.w *= 1.8;
    wide.h *= 1.8;
    let rect = Embedder::crop_rect(frame, &wide)?;
    let roi = Mat::roi(frame, rect).ok()?;
    let mut buf = Vector::<u8>::new();
    let params = Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, 85]);
    match imgcodecs::imencode(".jpg", &roi, &mut buf, &params) {
        Ok(true) => Some(buf.to_vec()),
        _ => None,
    }
}

/// The server event for a decision. The person name of a server gallery is the client id,
/// or `staff-<id>` for a staff member: their event carries no snapshot (a staff member's
/// face is never sent on) and opens no visit at the server.
pub fn event_for(decision: &Decision, role: Role, camera_id: &str) -> Event {
    use base64::Engine as _;
    let name = decision.person.as_deref();
    let stranger = name
        .and_then(|p| p.strip_prefix(strangers::PREFIX))
        .map(str::to_string);
    let staff_id = name
        .and_then(|p| p.strip_prefix("staff-"))
        .and_then(|id| id.parse::<i64>().ok());
    let client_id = name.and_then(|p| p.parse::<i64>().ok());
    let named = client_id.is_some() || staff_id.is_some();
    Event {
        key: uuid::Uuid::new_v4().to_string(),
        kind: role.event_kind().to_string(),
        occurred_at: decision.first_seen_ms,
        client_id,
        staff_id,
        stranger,
        similarity: decision
            .similarity
            .filter(|_| named)
            .map(|s| s.clamp(0.0, 1.0)),
        track: Some(format!("cam-{camera_id}-{}", decision.track_id)),
        snapshot: decision
            .snapshot
            .as_ref()
            .filter(|_| staff_id.is_none())
            .map(|j| base64::engine::general_purpose::STANDARD.encode(j)),
    }
}

/// The frames of a video file, each with its time from the start in milliseconds.
pub struct VideoFrames {
    cap: opencv::videoio::VideoCapture,
    pub fps: f64,
    pub frame_count: i64,
    next_index: i64,
}

impl VideoFrames {
    pub fn open(path: &Path) -> Result<VideoFrames> {
        use opencv::videoio::{self, VideoCapture};
        let err = |message: &str| Error::Source {
            source_name: path.display().to_string(),
            message: message.into(),
        };
        if !path.is_file() {
            return Err(err("file not found"));
        }
        let cap = VideoCapture::from_file(path, videoio::CAP_ANY)?;
        if !cap.is_opened()? {
            return Err(err("cannot be opened as a video"));
        }
        let fps = cap.get(videoio::CAP_PROP_FPS)?;
        let fps = if fps.is_finite() && fps > 0.0 {
            fps
        } else {
            25.0
        };
        let frame_count = cap.get(videoio::CAP_PROP_FRAME_COUNT)? as i64;
        Ok(VideoFrames {
            cap,
            fps,
            frame_count,
            next_index: 0,
        })
    }

    /// The next frame and its time from the start of the video, or `None` at the end.
    pub fn next_frame(&mut self, frame: &mut Mat) -> Result<Option<i64>> {
        use opencv::videoio::VideoCaptureTrait;
        if !self.cap.read(frame)? || frame.empty() {
            return Ok(None);
        }
        // Frame index over the nominal rate: CAP_PROP_POS_MSEC reads 0 for some files.
        let t = (self.next_index as f64 * 1000.0 / self.fps).round() as i64;
        self.next_index += 1;
        Ok(Some(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(person: Option<&str>) -> Decision {
        Decision {
            track_id: 7,
            person: person.map(str::to_string),
            similarity: person.map(|_| 0.8),
            first_seen_ms: 1_000,
            decided_ms: 1_500,
            votes: 3,
            snapshot: Some(vec![0xFF, 0xD8, 0xFF]),
        }
    }

    #[test]
    fn staff_events_name_the_member_and_carry_no_face() {
        let staff = event_for(&decision(Some("staff-4")), Role::Entrance, "door");
        assert_eq!((staff.client_id, staff.staff_id), (None, Some(4)));
        assert_eq!(staff.similarity, Some(0.8));
        assert_eq!(staff.snapshot, None, "a staff face is never sent");
        let client = event_for(&decision(Some("12")), Role::Exit, "door");
        assert_eq!((client.client_id, client.staff_id), (Some(12), None));
        assert_eq!(client.kind, "exit");
        assert!(client.snapshot.is_some());
        let stranger = event_for(&decision(None), Role::Entrance, "door");
        assert_eq!(
            (stranger.client_id, stranger.staff_id, stranger.similarity),
            (None, None, None)
        );
        assert!(stranger.snapshot.is_some());
        // Serialised without the field when it is not a staff member (older servers refuse
        // unknown fields).
        let json = serde_json::to_value(&client).unwrap();
        assert!(json.get("staff_id").is_none());
    }
}
