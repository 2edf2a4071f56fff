//! `vision bench`: every frame of a video through detection, tracking and recognition.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use opencv::core::Mat;

use crate::Result;
use crate::config::Recognition;
use crate::gallery::Gallery;
use crate::pipeline::{FaceEngine, Processor, SharedEmbedder, VideoFrames};

#[derive(Debug, Clone)]
pub struct BenchReport {
    pub frames: u64,
    pub video_seconds: f64,
    pub wall_seconds: f64,
    pub embeddings: u64,
    pub decisions: Vec<(Option<String>, Option<f32>, i64)>,
    /// Per decision: stream time from the face's first frame to the deciding frame, plus the
    /// wall time spent on that frame — what a live camera would wait before queueing the event.
    pub latencies_ms: Vec<f64>,
    pub load_seconds: f64,
}

impl BenchReport {
    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.wall_seconds.max(1e-9)
    }

    pub fn realtime_factor(&self) -> f64 {
        self.video_seconds / self.wall_seconds.max(1e-9)
    }
}

/// Adds `clients` enrolled clients (three templates each: a photo and two captures) and
/// `staff` staff members with made-up faces: random unit vectors, as unlike every real face
/// as two strangers are, so they change what matching costs and not who is named.
pub fn add_made_up_people(gallery: &mut Gallery, clients: usize, staff: usize, seed: u64) {
    // xorshift64*: deterministic, no dependency for a benchmark's noise.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed;
    let mut face = || {
        let v: Vec<f32> = (0..crate::embed::DIM)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let x = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        crate::embed::l2_normalise(&v)
    };
    for i in 0..clients {
        let id = 1_000_000 + i as i64;
        gallery.people.push(crate::gallery::Person {
            name: id.to_string(),
            client_id: Some(id),
            staff_id: None,
            embeddings: vec![face(), face(), face()],
            negatives: Vec::new(),
        });
    }
    for i in 0..staff {
        let id = 1_000 + i as i64;
        gallery.people.push(crate::gallery::Person {
            name: format!("staff-{id}"),
            client_id: None,
            staff_id: Some(id),
            embeddings: vec![face()],
            negatives: Vec::new(),
        });
    }
}

/// Milliseconds to match one face against `gallery` (mean of 200 made-up faces): the
/// part of each recognition that grows with the number of enrolled people.
pub fn matching_ms(gallery: &Gallery, rec: &Recognition) -> f64 {
    let mut probes = Gallery::default();
    add_made_up_people(&mut probes, 0, 200, 2);
    let params = crate::gallery::MatchParams {
        threshold: rec.threshold,
        margin: rec.margin,
    };
    let started = Instant::now();
    let named = probes
        .people
        .iter()
        .filter(|p| {
            gallery
                .best_match(&p.embeddings[0], params)
                .person
                .is_some()
        })
        .count();
    std::hint::black_box(named);
    started.elapsed().as_secs_f64() * 1000.0 / probes.people.len() as f64
}

pub fn bench(
    video: &Path,
    models: &Path,
    rec: &Recognition,
    embedder: SharedEmbedder,
    gallery: Gallery,
) -> Result<BenchReport> {
    let t_load = Instant::now();
    let engine = FaceEngine::new(models, rec.detect_score, rec.detect_max_side, embedder)?;
    let load_seconds = t_load.elapsed().as_secs_f64();
    let mut processor = Processor::new(engine, rec, Arc::new(RwLock::new(Arc::new(gallery))));
    let mut frames_in = VideoFrames::open(video)?;
    let mut frame = Mat::default();
    let mut report = BenchReport {
        frames: 0,
        video_seconds: 0.0,
        wall_seconds: 0.0,
        embeddings: 0,
        decisions: Vec::new(),
        latencies_ms: Vec::new(),
        load_seconds,
    };
    // Wall time covers decoding too: a camera has to decode every frame it processes.
    let started = Instant::now();
    let mut last_pos = 0;
    while let Some(pos) = frames_in.next_frame(&mut frame)? {
        let t = Instant::now();
        let decisions = processor.process(&frame, pos)?;
        let spent = t.elapsed();
        for d in decisions {
            report
                .latencies_ms
                .push((d.decided_ms - d.first_seen_ms) as f64 + spent.as_secs_f64() * 1000.0);
            report
                .decisions
                .push((d.person, d.similarity, d.first_seen_ms));
        }
        report.frames += 1;
        last_pos = pos;
    }
    for d in processor.finish() {
        report
            .decisions
            .push((d.person, d.similarity, d.first_seen_ms));
    }
    report.wall_seconds = started.elapsed().as_secs_f64();
    report.video_seconds = (last_pos as f64 / 1000.0) + 1.0 / frames_in.fps;
    report.embeddings = processor.embeddings;
    Ok(report)
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
