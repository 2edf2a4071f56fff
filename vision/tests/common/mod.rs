//! Shared by the integration tests: media paths, frame sampling, a fake server.
#![allow(dead_code)]

pub mod server;

use std::path::{Path, PathBuf};

use opencv::core::{Mat, Vector};
use opencv::imgcodecs;
use opencv::prelude::*;
use vision::pipeline::{self, FaceEngine, PHOTO_MAX_SIDE, VideoFrames};

/// A media file; a clear failure (not a skip) when the assets were not fetched.
pub fn media(name: &str) -> PathBuf {
    let p = vision::media_dir().join(name);
    assert!(
        p.is_file(),
        "{} missing: run `make -f vision/vision.mk vision-assets` first",
        p.display()
    );
    p
}

pub fn engine() -> FaceEngine {
    let models = vision::models_dir();
    FaceEngine::new(
        &models,
        0.7,
        PHOTO_MAX_SIDE,
        pipeline::load_embedder(&models).expect("FaceNet model"),
    )
    .expect("YuNet model")
}

/// Frames at the given indices of a video, in order.
pub fn frames_at(video: &Path, indices: &[i64]) -> Vec<(i64, Mat)> {
    let mut v = VideoFrames::open(video).unwrap();
    let last = *indices.iter().max().unwrap();
    let mut out = Vec::new();
    let mut frame = Mat::default();
    for i in 0..=last {
        assert!(
            v.next_frame(&mut frame).unwrap().is_some(),
            "video ends before frame {i}"
        );
        if indices.contains(&i) {
            out.push((i, frame.clone()));
        }
    }
    out
}

pub fn jpeg(mat: &Mat) -> Vec<u8> {
    let mut buf = Vector::<u8>::new();
    assert!(imgcodecs::imencode_def(".jpg", mat, &mut buf).unwrap());
    buf.to_vec()
}

/// Saves frames of a video as JPEGs into `dir/person/` (a folder gallery entry).
pub fn enrol_frames(dir: &Path, person: &str, video: &Path, indices: &[i64]) {
    let d = dir.join(person);
    std::fs::create_dir_all(&d).unwrap();
    for (i, m) in frames_at(video, indices) {
        std::fs::write(d.join(format!("frame{i:05}.jpg")), jpeg(&m)).unwrap();
    }
}
