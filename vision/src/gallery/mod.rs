//! Enrolled people and matching a face against them; the gallery is built from a folder of
//! photos (`identify`) or pulled from the server with an on-disk embedding cache (`run`).

use std::path::{Path, PathBuf};

use opencv::core::Vector;
use opencv::imgcodecs;
use opencv::prelude::*;

use crate::embed::{Embedding, cosine};
use crate::pipeline::FaceEngine;
use crate::{Error, Result};

mod sync;
pub use sync::GallerySync;

#[derive(Debug, Clone)]
pub struct Person {
    /// Folder name (`identify`), the client id as text or `staff-<id>` (`run`).
    pub name: String,
    pub client_id: Option<i64>,
    /// A staff member (`run`): recognised so as never to be counted as a visitor.
    pub staff_id: Option<i64>,
    pub embeddings: Vec<Embedding>,
    /// Faces staff marked "not this person": a face closer to one of these than to the
    /// person's own photos is not them.
    pub negatives: Vec<Embedding>,
}

#[derive(Debug, Clone, Default)]
pub struct Gallery {
    pub people: Vec<Person>,
}

/// The outcome of matching one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// Index into `Gallery::people`; `None` = unknown.
    pub person: Option<usize>,
    /// Similarity to the named person, or to the closest person when unknown (0 if no one).
    pub similarity: f32,
}

#[derive(Debug, Clone, Copy)]
pub struct MatchParams {
    pub threshold: f32,
    pub margin: f32,
}

impl Gallery {
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// Names a face only when it is clearly one person: above the threshold, ahead of the
    /// runner-up by the margin, and not closer to a rejected face of that person.
    pub fn best_match(&self, e: &[f32], p: MatchParams) -> Match {
        let mut best: Option<(usize, f32)> = None;
        let mut second = f32::MIN;
        for (i, person) in self.people.iter().enumerate() {
            let s = person
                .embeddings
                .iter()
                .map(|x| cosine(x, e))
                .fold(f32::MIN, f32::max);
            match best {
                Some((_, b)) if s <= b => second = second.max(s),
                _ => {
                    if let Some((_, b)) = best {
                        second = second.max(b);
                    }
                    best = Some((i, s));
                }
            }
        }
        let Some((i, s)) = best.filter(|&(_, s)| s > f32::MIN) else {
            return Match {
                person: None,
                similarity: 0.0,
            };
        };
        let similarity = s.clamp(0.0, 1.0);
        let rejected = self.people[i].negatives.iter().any(|n| cosine(n, e) >= s);
        let named = s >= p.threshold && s - second >= p.margin && !rejected;
        Match {
            person: named.then_some(i),
            similarity,
        }
    }

    /// One folder of images per person under `dir`; the folder name is the person's name.
    /// Images without a detectable face are skipped with a warning.
    pub fn from_dir(dir: &Path, engine: &mut FaceEngine) -> Result<Gallery> {
        let mut people = Vec::new();
        for folder in sorted_entries(dir)? {
            if !folder.is_dir() {
                continue;
            }
            let name = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut embeddings = Vec::new();
            for image in sorted_entries(&folder)? {
                if !image.is_file() {
                    continue;
                }
                let mat = read_image(&image)?;
                match engine.embed_largest(&mat)? {
                    Some((_, e)) => embeddings.push(e),
                    None => tracing::warn!("{}: no face found, not enrolled", image.display()),
                }
            }
            if embeddings.is_empty() {
                tracing::warn!("{name}: no usable image, not enrolled");
                continue;
            }
            people.push(Person {
                name,
                client_id: None,
                staff_id: None,
                embeddings,
                negatives: Vec::new(),
            });
        }
        Ok(Gallery { people })
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// Reads an image file as BGR; a missing or undecodable file is an error (OpenCV itself
/// silently returns an empty matrix).
pub fn read_image(path: &Path) -> Result<Mat> {
    if !path.is_file() {
        return Err(Error::Image {
            path: path.into(),
            message: "no such file".into(),
        });
    }
    let mat = imgcodecs::imread(path, imgcodecs::IMREAD_COLOR)?;
    if mat.empty() {
        return Err(Error::Image {
            path: path.into(),
            message: "missing or not an image".into(),
        });
    }
    Ok(mat)
}

pub fn decode_image(bytes: &[u8], what: &str) -> Result<Mat> {
    let buf = Vector::<u8>::from_slice(bytes);
    let mat = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)?;
    if mat.empty() {
        return Err(Error::Image {
            path: what.into(),
            message: "not a decodable image".into(),
        });
    }
    Ok(mat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::l2_normalise;

    fn person(name: &str, embeddings: Vec<Vec<f32>>) -> Person {
        Person {
            name: name.into(),
            client_id: None,
            staff_id: None,
            embeddings: embeddings.iter().map(|e| l2_normalise(e)).collect(),
            negatives: Vec::new(),
        }
    }

    const P: MatchParams = MatchParams {
        threshold: 0.6,
        margin: 0.05,
    };

    #[test]
    fn names_the_clear_best_and_refuses_doubt() {
        let g = Gallery {
            people: vec![
                person("a", vec![vec![1.0, 0.0, 0.0]]),
                person("b", vec![vec![0.0, 1.0, 0.0]]),
            ],
        };
        let m = g.best_match(&l2_normalise(&[0.9, 0.1, 0.0]), P);
        assert_eq!(m.person, Some(0));
        // Far from everyone: unknown.
        assert_eq!(
            g.best_match(&l2_normalise(&[0.1, 0.1, 1.0]), P).person,
            None
        );
        // Between a and b (both ≈0.7): unknown by the margin rule.
        assert_eq!(
            g.best_match(&l2_normalise(&[1.0, 1.0, 0.0]), P).person,
            None
        );
        assert_eq!(Gallery::default().best_match(&[1.0], P).person, None);
    }

    #[test]
    fn a_face_closer_to_a_rejected_example_is_not_named() {
        let mut a = person("a", vec![vec![1.0, 0.0, 0.0]]);
        a.negatives = vec![l2_normalise(&[0.8, 0.0, 0.6])];
        let g = Gallery { people: vec![a] };
        assert_eq!(
            g.best_match(&l2_normalise(&[1.0, 0.0, 0.1]), P).person,
            Some(0)
        );
        assert_eq!(
            g.best_match(&l2_normalise(&[0.85, 0.0, 0.5]), P).person,
            None
        );
    }
}
