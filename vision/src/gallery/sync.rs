//! The server's gallery (clients and staff), embedded and cached on disk per (person,
//! version).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Gallery, Person, decode_image};
use crate::api;
use crate::embed::Embedding;
use crate::pipeline::FaceEngine;
use crate::{Error, Result};

/// Who an enrolled face belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Who {
    Client(i64),
    Staff(i64),
}

impl Who {
    /// The cache file's stem: `client-12`, `staff-3`.
    fn stem(self) -> String {
        match self {
            Who::Client(id) => format!("client-{id}"),
            Who::Staff(id) => format!("staff-{id}"),
        }
    }

    fn parse_stem(stem: &str) -> Option<Who> {
        if let Some(id) = stem.strip_prefix("client-") {
            return id.parse().ok().map(Who::Client);
        }
        stem.strip_prefix("staff-")?.parse().ok().map(Who::Staff)
    }

    fn person(self, embeddings: Vec<Embedding>, negatives: Vec<Embedding>) -> Person {
        let (name, client_id, staff_id) = match self {
            Who::Client(id) => (id.to_string(), Some(id), None),
            Who::Staff(id) => (format!("staff-{id}"), None, Some(id)),
        };
        Person {
            name,
            client_id,
            staff_id,
            embeddings,
            negatives,
        }
    }
}

/// What is cached on disk per (person, version).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    who: Who,
    version: i64,
    embeddings: Vec<Embedding>,
    negatives: Vec<Embedding>,
}

/// One gallery entry to embed: whose, which version, the photo, captures and rejected faces.
struct Listed<'a> {
    who: Who,
    version: i64,
    photo: &'a str,
    templates: &'a [String],
    rejected: &'a [String],
}

/// Keeps the server's gallery embedded, re-embedding only people whose version changed.
pub struct GallerySync {
    cache_dir: PathBuf,
    known: HashMap<Who, Cached>,
    /// Stranger keys the last refresh said to forget, until taken.
    forget_strangers: Vec<String>,
}

impl GallerySync {
    pub fn new(cache_dir: PathBuf) -> Result<GallerySync> {
        std::fs::create_dir_all(&cache_dir).map_err(|e| Error::io(&cache_dir, e))?;
        Ok(GallerySync {
            cache_dir,
            known: HashMap::new(),
            forget_strangers: Vec::new(),
        })
    }

    fn file(&self, who: Who, version: i64) -> PathBuf {
        self.cache_dir
            .join(format!("{}-v{version}.json", who.stem()))
    }

    /// Pulls each camera's gallery (cameras may be at branches with biometrics off) and
    /// returns one gallery per token, in the order given. Cached embeddings of people that no
    /// camera lists any more (erased, opted out, staff removed) are deleted from memory and
    /// disk.
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
        self.forget_strangers = lists
            .iter()
            .flat_map(|l| l.forget_strangers.iter().cloned())
            .collect();
        let mut listed: HashSet<(Who, i64)> = HashSet::new();
        let mut galleries = Vec::with_capacity(tokens.len());
        for (token, list) in tokens.iter().zip(&lists) {
            let mut people = Vec::new();
            if list.biometrics_enabled {
                let clients = list.clients.iter().map(|c| Listed {
                    who: Who::Client(c.client_id),
                    version: c.version,
                    photo: &c.photo,
                    templates: &c.templates,
                    rejected: &c.rejected,
                });
                let staff = list.staff.iter().map(|s| Listed {
                    who: Who::Staff(s.staff_id),
                    version: s.version,
                    photo: &s.photo,
                    templates: &[],
                    rejected: &[],
                });
                for entry in clients.chain(staff) {
                    listed.insert((entry.who, entry.version));
                    // A photo gone between the list and the download (person just erased) or
                    // refused: skip them this round, keep the rest of the gallery.
                    let cached = match self.embedded(api, token, &entry, engine) {
                        Ok(cached) => cached,
                        Err(e) if !e.is_transient() => {
                            tracing::warn!("{} not enrolled this round: {e}", entry.who.stem());
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    if !cached.embeddings.is_empty() {
                        people.push(
                            entry
                                .who
                                .person(cached.embeddings.clone(), cached.negatives.clone()),
                        );
                    }
                }
            }
            galleries.push(Gallery { people });
        }
        self.known
            .retain(|who, c| listed.contains(&(*who, c.version)));
        self.prune_disk(&listed);
        Ok(galleries)
    }

    /// The stranger keys the last refresh listed to forget (strangers who became
    /// clients, or were erased since); empty until the next refresh.
    pub fn take_forget_strangers(&mut self) -> Vec<String> {
        std::mem::take(&mut self.forget_strangers)
    }

    fn embedded(
        &mut self,
        api: &api::Client,
        token: &str,
        entry: &Listed,
        engine: &mut FaceEngine,
    ) -> Result<&Cached> {
        let fresh = self
            .known
            .get(&entry.who)
            .is_some_and(|k| k.version == entry.version);
        if !fresh {
            let cached = match self.read_cache(entry.who, entry.version) {
                Some(c) => c,
                None => {
                    let c = embed(api, token, entry, engine)?;
                    self.write_cache(&c)?;
                    c
                }
            };
            self.known.insert(entry.who, cached);
        }
        Ok(&self.known[&entry.who])
    }

    fn read_cache(&self, who: Who, version: i64) -> Option<Cached> {
        let text = std::fs::read_to_string(self.file(who, version)).ok()?;
        let c: Cached = serde_json::from_str(&text).ok()?;
        let sane = c.who == who
            && c.version == version
            && c.embeddings
                .iter()
                .chain(&c.negatives)
                .all(|e| e.len() == crate::embed::DIM);
        sane.then_some(c)
    }

    fn write_cache(&self, c: &Cached) -> Result<()> {
        let path = self.file(c.who, c.version);
        let tmp = path.with_extension("tmp");
        let text =
            serde_json::to_string(c).map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }

    /// Deletes every cache file that is not a listed (person, version): erased clients'
    /// and removed staff's embeddings, older versions, and files of an older format.
    fn prune_disk(&self, listed: &HashSet<(Who, i64)>) {
        let Ok(dir) = std::fs::read_dir(&self.cache_dir) else {
            return;
        };
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = name
                .strip_suffix(".json")
                .and_then(|r| r.rsplit_once("-v"))
                .and_then(|(stem, v)| Some((Who::parse_stem(stem)?, v.parse().ok()?)))
                .is_some_and(|k| listed.contains(&k));
            if !keep && let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!("cannot remove stale cache file {name}: {e}");
            }
        }
    }

    /// The people listed at the last successful refresh, from the disk cache: used when the
    /// server cannot be reached at start-up, so returning clients are still named and staff
    /// still not counted.
    pub fn load_cached(&mut self) -> Gallery {
        let mut people = Vec::new();
        if let Ok(dir) = std::fs::read_dir(&self.cache_dir) {
            for entry in dir.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                let Ok(c) = serde_json::from_str::<Cached>(&text) else {
                    continue;
                };
                if self.read_cache(c.who, c.version).is_none() {
                    continue;
                }
                if !c.embeddings.is_empty() {
                    people.push(c.who.person(c.embeddings.clone(), c.negatives.clone()));
                }
                self.known.insert(c.who, c);
            }
        }
        people.sort_by_key(|p| (p.staff_id.is_some(), p.client_id, p.staff_id));
        Gallery { people }
    }

    /// Clients currently embedded (for tests and logs).
    pub fn cached_ids(&self) -> Vec<i64> {
        self.ids(|who| match who {
            Who::Client(id) => Some(id),
            Who::Staff(_) => None,
        })
    }

    /// Staff currently embedded (for tests and logs).
    pub fn cached_staff(&self) -> Vec<i64> {
        self.ids(|who| match who {
            Who::Staff(id) => Some(id),
            Who::Client(_) => None,
        })
    }

    fn ids(&self, pick: impl Fn(Who) -> Option<i64>) -> Vec<i64> {
        let mut ids: Vec<i64> = self.known.keys().filter_map(|w| pick(*w)).collect();
        ids.sort();
        ids
    }
}

fn embed(
    api: &api::Client,
    token: &str,
    entry: &Listed,
    engine: &mut FaceEngine,
) -> Result<Cached> {
    let who = entry.who.stem();
    let mut embed_one = |path: &str| -> Result<Option<Embedding>> {
        let bytes = api.image(token, path)?;
        let mat = match decode_image(&bytes, path) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("{who}: {e}");
                return Ok(None);
            }
        };
        Ok(engine.embed_largest(&mat)?.map(|(_, e)| e))
    };
    let mut embeddings: Vec<Embedding> = embed_one(entry.photo)?.into_iter().collect();
    for t in entry.templates {
        embeddings.extend(embed_one(t)?);
    }
    if embeddings.is_empty() {
        tracing::warn!("{who}: no face found in the photo, not enrolled");
    }
    let mut negatives = Vec::new();
    for r in entry.rejected {
        negatives.extend(embed_one(r)?);
    }
    Ok(Cached {
        who: entry.who,
        version: entry.version,
        embeddings,
        negatives,
    })
}
