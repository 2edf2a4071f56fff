//! The server's gallery, embedded and cached on disk per (client, version).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Gallery, Person, decode_image};
use crate::api;
use crate::embed::Embedding;
use crate::pipeline::FaceEngine;
use crate::{Error, Result};

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
