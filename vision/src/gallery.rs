//! Enrolled people and matching a face against them; the gallery is built from a folder of
//! photos (`identify`) or pulled from the server with an on-disk embedding cache (`run`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use opencv::core::Vector;
use opencv::imgcodecs;
use opencv::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api;
use crate::embed::{Embedding, cosine};
use crate::pipeline::FaceEngine;
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct Person {
    /// Folder name (`identify`) or the client id as text (`run`).
    pub name: String,
    pub client_id: Option<i64>,
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

/// What is cached on disk per (client, version).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedClient {
    client_id: i64,
    version: i64,
    embeddings: Vec<Embedding>,
    negatives: Vec<Embedding>,
}

/// Keeps the server's gallery embedded, re-embedding only clients whose version changed.
pub struct GallerySync {
    cache_dir: PathBuf,
    known: HashMap<i64, CachedClient>,
}

impl GallerySync {
    pub fn new(cache_dir: PathBuf) -> Result<GallerySync> {
        std::fs::create_dir_all(&cache_dir).map_err(|e| Error::io(&cache_dir, e))?;
        Ok(GallerySync {
            cache_dir,
            known: HashMap::new(),
        })
    }

    fn file(&self, id: i64, version: i64) -> PathBuf {
        self.cache_dir.join(format!("client-{id}-v{version}.json"))
    }

    /// Pulls each camera's gallery (cameras may be at branches with biometrics off) and
    /// returns one gallery per token, in the order given. Cached embeddings of clients that no
    /// camera lists any more (erased, opted out) are deleted from memory and disk.
    pub fn refresh(
        &mut self,
        api: &api::Client,
        tokens: &[&str],
        engine: &mut FaceEngine,
    ) -> Result<Vec<Gallery>> {
        let mut lists = Vec::with_capacity(tokens.len());
        for token in tokens {
            lists.push(api.gallery(token)?);
        }
        let mut listed: HashSet<(i64, i64)> = HashSet::new();
        let mut galleries = Vec::with_capacity(tokens.len());
        for (token, list) in tokens.iter().zip(&lists) {
            let mut people = Vec::new();
            if list.biometrics_enabled {
                for c in &list.clients {
                    listed.insert((c.client_id, c.version));
                    // A photo gone between the list and the download (client just erased) or
                    // refused: skip that client this round, keep the rest of the gallery.
                    let cached = match self.client(api, token, c, engine) {
                        Ok(cached) => cached,
                        Err(e) if !e.is_transient() => {
                            tracing::warn!("client {} not enrolled this round: {e}", c.client_id);
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    if !cached.embeddings.is_empty() {
                        people.push(Person {
                            name: c.client_id.to_string(),
                            client_id: Some(c.client_id),
                            embeddings: cached.embeddings.clone(),
                            negatives: cached.negatives.clone(),
                        });
                    }
                }
            }
            galleries.push(Gallery { people });
        }
        self.known
            .retain(|id, c| listed.contains(&(*id, c.version)));
        self.prune_disk(&listed);
        Ok(galleries)
    }

    fn client(
        &mut self,
        api: &api::Client,
        token: &str,
        c: &api::GalleryClient,
        engine: &mut FaceEngine,
    ) -> Result<&CachedClient> {
        let fresh = self
            .known
            .get(&c.client_id)
            .is_some_and(|k| k.version == c.version);
        if !fresh {
            let entry = match self.read_cache(c.client_id, c.version) {
                Some(e) => e,
                None => {
                    let e = embed_client(api, token, c, engine)?;
                    self.write_cache(&e)?;
                    e
                }
            };
            self.known.insert(c.client_id, entry);
        }
        Ok(&self.known[&c.client_id])
    }

    fn read_cache(&self, id: i64, version: i64) -> Option<CachedClient> {
        let text = std::fs::read_to_string(self.file(id, version)).ok()?;
        let c: CachedClient = serde_json::from_str(&text).ok()?;
        let sane = c.client_id == id
            && c.version == version
            && c.embeddings
                .iter()
                .chain(&c.negatives)
                .all(|e| e.len() == crate::embed::DIM);
        sane.then_some(c)
    }

    fn write_cache(&self, c: &CachedClient) -> Result<()> {
        let path = self.file(c.client_id, c.version);
        let tmp = path.with_extension("tmp");
        let text =
            serde_json::to_string(c).map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }

    fn prune_disk(&self, listed: &HashSet<(i64, i64)>) {
        let Ok(dir) = std::fs::read_dir(&self.cache_dir) else {
            return;
        };
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = name
                .strip_prefix("client-")
                .and_then(|r| r.strip_suffix(".json"))
                .and_then(|r| r.split_once("-v"))
                .and_then(|(id, v)| Some((id.parse().ok()?, v.parse().ok()?)))
                .is_some_and(|k| listed.contains(&k));
            if !keep && let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!("cannot remove stale cache file {name}: {e}");
            }
        }
    }

    /// The clients listed at the last successful refresh, from the disk cache: used when the
    /// server cannot be reached at start-up, so returning clients are still named.
    pub fn load_cached(&mut self) -> Gallery {
        let mut people = Vec::new();
        if let Ok(dir) = std::fs::read_dir(&self.cache_dir) {
            for entry in dir.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                let Ok(c) = serde_json::from_str::<CachedClient>(&text) else {
                    continue;
                };
                if self.read_cache(c.client_id, c.version).is_none() {
                    continue;
                }
                if !c.embeddings.is_empty() {
                    people.push(Person {
                        name: c.client_id.to_string(),
                        client_id: Some(c.client_id),
                        embeddings: c.embeddings.clone(),
                        negatives: c.negatives.clone(),
                    });
                }
                self.known.insert(c.client_id, c);
            }
        }
        people.sort_by_key(|p| p.client_id);
        Gallery { people }
    }

    /// Clients currently embedded (for tests and logs).
    pub fn cached_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.known.keys().copied().collect();
        ids.sort();
        ids
    }
}

fn embed_client(
    api: &api::Client,
    token: &str,
    c: &api::GalleryClient,
    engine: &mut FaceEngine,
) -> Result<CachedClient> {
    let mut embed = |path: &str| -> Result<Option<Embedding>> {
        let bytes = api.image(token, path)?;
        let mat = match decode_image(&bytes, path) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("client {}: {e}", c.client_id);
                return Ok(None);
            }
        };
        Ok(engine.embed_largest(&mat)?.map(|(_, e)| e))
    };
    let embeddings: Vec<Embedding> = embed(&c.photo)?.into_iter().collect();
    if embeddings.is_empty() {
        tracing::warn!(
            "client {}: no face found in the photo, not enrolled",
            c.client_id
        );
    }
    let mut negatives = Vec::new();
    for r in &c.rejected {
        negatives.extend(embed(r)?);
    }
    Ok(CachedClient {
        client_id: c.client_id,
        version: c.version,
        embeddings,
        negatives,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::l2_normalise;

    fn person(name: &str, embeddings: Vec<Vec<f32>>) -> Person {
        Person {
            name: name.into(),
            client_id: None,
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
