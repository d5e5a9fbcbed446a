//! The object store between the server and its workers when they share no directory
//! (`--store s3://BUCKET/PREFIX`, or any URL the `object_store` crate opens: `file:///…`,
//! `memory://`). Each side keeps its own local copy of the data directory's layout (the
//! server's `--data-dir`, a worker's `--cache`) and moves files through the store:
//!
//! - the server pushes a request's files (`builds/ID/…`, `proofs/ID/…`) before the job is
//!   published, and pulls a job's results before it records them;
//! - a worker pulls what a job reads before running it and pushes what it wrote after.
//!
//! A pulled object is kept in the local copy with the store's version of it (its ETag: a digest
//! of the content on S3 for single-part objects, or its size and time where the store gives
//! none), recorded in `.objects.json`: a worker fetches a build's keys once and reads them from
//! its disk for every later proof, until the object changes. A pushed file is recorded with its
//! local size and time, so an unchanged file is not sent twice. Credentials come from the
//! environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT`,
//! `AWS_ALLOW_HTTP`, ...), never from the URL.

use std::collections::BTreeMap;
use std::path::{Path as LocalPath, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use futures_util::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::jobs::{Paths, Work};
use crate::store::JobKind;
use crate::{Error, Result};

/// How long [`Mirror::check`] waits for the store at start.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The manifest of the local copy: what each file was synced as.
const MANIFEST: &str = ".objects.json";

/// One file's record in the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Synced {
    /// The store's version of the object (ETag, or size and time).
    version: String,
    /// The local file's size and modification time (ns) when synced.
    size: u64,
    modified_ns: u128,
}

/// What one pull or push moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// Files transferred.
    pub files: usize,
    /// Bytes transferred.
    pub bytes: u64,
    /// Files already up to date (not transferred).
    pub cached: usize,
}

impl std::ops::AddAssign for Moved {
    fn add_assign(&mut self, other: Moved) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.cached += other.cached;
    }
}

/// An object store mirrored into a local directory.
pub struct Mirror {
    store: Arc<dyn ObjectStore>,
    base: Path,
    local: PathBuf,
    shown: String,
    manifest: Mutex<BTreeMap<String, Synced>>,
    /// `.objects.lock`, held while the mirror lives: one process per local copy.
    _lock: std::fs::File,
    /// Runs the store's requests for the blocking API (the dispatcher's and a worker's
    /// threads); never entered from async code.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Mirror {
    fn drop(&mut self) {
        // Dropped where blocking is not allowed (the server's async shutdown): nothing of ours
        // is left running on it.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mirror({} <-> {})", self.shown, self.local.display())
    }
}

/// Whether `text` names an object store (a URL with a scheme) rather than a directory.
pub fn is_store_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

fn store_error(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error::Objects(format!("{what}: {e}"))
}

impl Mirror {
    /// Opens the store at `url` (credentials from the `AWS_*` environment variables) mirrored
    /// into `local` (created).
    pub fn open(url: &str, local: &LocalPath) -> Result<Mirror> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::Config(format!("--store {url}: not a URL: {e}")))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Error::Config(format!(
                "--store {}: credentials go in the environment (AWS_ACCESS_KEY_ID, ...), not \
                 in the URL",
                parsed.scheme()
            )));
        }
        let options = std::env::vars().filter(|(k, _)| k.starts_with("AWS_"));
        let (store, base) = object_store::parse_url_opts(&parsed, options)
            .map_err(|e| Error::Config(format!("--store {url}: {e}")))?;
        std::fs::create_dir_all(local).map_err(|e| Error::Io(local.to_path_buf(), e))?;
        let lock = crate::lock_file(&local.join(".objects.lock"), || {
            format!(
                "{}: another process is using this local copy (give each worker its own --cache)",
                local.display()
            )
        })?;
        let manifest = match std::fs::read(local.join(MANIFEST)) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(_) => BTreeMap::new(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("object store runtime: {e}")))?;
        Ok(Mirror {
            store: Arc::from(store),
            base,
            local: local.to_path_buf(),
            shown: url.to_string(),
            manifest: Mutex::new(manifest),
            _lock: lock,
            runtime: Some(runtime),
        })
    }

    /// The store's URL, for logs.
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    fn block_on<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the mirror")
            .block_on(work)
    }

    /// Checks the store answers (a listing of its base) within [`CHECK_TIMEOUT`] (the store's
    /// client retries for minutes before it gives up).
    pub fn check(&self) -> Result<()> {
        self.block_on(async {
            let mut list = self.store.list(Some(&self.base));
            match tokio::time::timeout(CHECK_TIMEOUT, list.next()).await {
                Ok(Some(Err(e))) => Err(store_error(format!("--store {}", self.shown), e)),
                Ok(_) => Ok(()),
                Err(_) => Err(Error::Objects(format!(
                    "--store {}: no answer within {} s",
                    self.shown,
                    CHECK_TIMEOUT.as_secs()
                ))),
            }
        })
    }

    fn key(&self, rel: &str) -> Path {
        let mut key = self.base.clone();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            key = key.join(part);
        }
        key
    }

    /// The local path of the object `location`, if it lies under `rel` and every part of its
    /// name is a plain name (an object named `..` cannot write outside the copy).
    fn relative(&self, location: &Path) -> Option<String> {
        let parts: Vec<String> = location
            .prefix_match(&self.base)?
            .map(|p| p.as_ref().to_string())
            .collect();
        let plain =
            |p: &String| !p.is_empty() && p != "." && p != ".." && !p.contains(['/', '\\', '\0']);
        (!parts.is_empty() && parts.iter().all(plain)).then(|| parts.join("/"))
    }

    /// Brings `rel` (a file, or a folder when it ends with `/`) from the store into the local
    /// copy; objects already there in the same version are not fetched again. `skip` leaves
    /// out files by their relative name.
    pub fn pull(&self, rel: &str, skip: &dyn Fn(&str) -> bool) -> Result<Moved> {
        self.block_on(self.pull_async(rel, skip))
    }

    async fn pull_async(&self, rel: &str, skip: &dyn Fn(&str) -> bool) -> Result<Moved> {
        let key = self.key(rel);
        let metas: Vec<ObjectMeta> = if rel.ends_with('/') {
            self.list(rel).await?
        } else {
            match self.store.head(&key).await {
                Ok(meta) => vec![meta],
                // Not there: the caller's checks of the file say what is missing.
                Err(object_store::Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(store_error(format!("reading {rel}"), e)),
            }
        };
        let mut moved = Moved::default();
        for meta in metas {
            let Some(name) = self.relative(&meta.location) else {
                tracing::warn!(object = %meta.location, "an object with an unusable name: skipped");
                continue;
            };
            if skip(&name) {
                continue;
            }
            let version = version_of(&meta);
            let path = self.local.join(&name);
            let known = self.synced(&name);
            if known.as_ref().is_some_and(|s| {
                s.version == version && local_state(&path) == Some((s.size, s.modified_ns))
            }) {
                moved.cached += 1;
                continue;
            }
            let bytes = self.download(&meta.location, &path, meta.size).await?;
            moved.files += 1;
            moved.bytes += bytes;
            self.record(&name, version, &path)?;
        }
        Ok(moved)
    }

    /// Fetches `location` into `path` (by a temporary file renamed once complete), refusing a
    /// download of another size than `size` (the listing's) before it replaces anything.
    async fn download(&self, location: &Path, path: &LocalPath, size: u64) -> Result<u64> {
        let parent = path.parent().unwrap_or(&self.local);
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| Error::Io(parent.to_path_buf(), e))?;
        let tmp = path.with_extension(format!("tmp-{}", crate::jobs::new_id()));
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(if path.file_name().is_some_and(|n| n == "chain_seed") {
            0o600
        } else {
            0o644
        });
        let mut file = options
            .open(&tmp)
            .await
            .map_err(|e| Error::Io(tmp.clone(), e))?;
        let result = async {
            let got = self
                .store
                .get(location)
                .await
                .map_err(|e| store_error(format!("fetching {location}"), e))?;
            let mut stream = got.into_stream();
            let mut bytes = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| store_error(format!("fetching {location}"), e))?;
                bytes += chunk.len() as u64;
                file.write_all(&chunk)
                    .await
                    .map_err(|e| Error::Io(tmp.clone(), e))?;
            }
            file.sync_all()
                .await
                .map_err(|e| Error::Io(tmp.clone(), e))?;
            if bytes != size {
                return Err(Error::Objects(format!(
                    "{location}: {bytes} bytes fetched, the store lists {size}"
                )));
            }
            tokio::fs::rename(&tmp, path)
                .await
                .map_err(|e| Error::Io(path.to_path_buf(), e))?;
            Ok(bytes)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Sends `rel` (a file, or a folder when it ends with `/`) of the local copy to the store;
    /// files unchanged since they were last synced are not sent again.
    pub fn push(&self, rel: &str) -> Result<Moved> {
        self.block_on(self.push_async(rel))
    }

    async fn push_async(&self, rel: &str) -> Result<Moved> {
        let mut moved = Moved::default();
        for name in local_files(&self.local, rel)? {
            let path = self.local.join(&name);
            let Some(state) = local_state(&path) else {
                continue;
            };
            if self
                .synced(&name)
                .is_some_and(|s| (s.size, s.modified_ns) == state)
            {
                moved.cached += 1;
                continue;
            }
            let key = self.key(&name);
            let mut file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| Error::Io(path.clone(), e))?;
            // Large files (keys) go up in parts; small ones in one request.
            let mut writer = BufWriter::new(self.store.clone(), key.clone());
            let bytes = tokio::io::copy(&mut file, &mut writer)
                .await
                .map_err(|e| store_error(format!("sending {name}"), e))?;
            writer
                .shutdown()
                .await
                .map_err(|e| store_error(format!("sending {name}"), e))?;
            let version = match self.store.head(&key).await {
                Ok(meta) => version_of(&meta),
                Err(e) => return Err(store_error(format!("checking {name}"), e)),
            };
            moved.files += 1;
            moved.bytes += bytes;
            self.record(&name, version, &path)?;
        }
        Ok(moved)
    }

    /// Deletes `rel` (a file, or a folder when it ends with `/`) from the store and the local
    /// copy.
    pub fn remove(&self, rel: &str) -> Result<()> {
        self.block_on(async {
            let locations: Vec<Path> = if rel.ends_with('/') {
                self.list(rel)
                    .await?
                    .into_iter()
                    .map(|m| m.location)
                    .collect()
            } else {
                vec![self.key(rel)]
            };
            for location in locations {
                match self.store.delete(&location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(store_error(format!("deleting {location}"), e)),
                }
            }
            Ok(())
        })?;
        self.forget_local(rel)
    }

    /// Every object under the folder `rel`.
    async fn list(&self, rel: &str) -> Result<Vec<ObjectMeta>> {
        let mut out = Vec::new();
        let mut list = self.store.list(Some(&self.key(rel)));
        while let Some(meta) = list.next().await {
            out.push(meta.map_err(|e| store_error(format!("listing {rel}"), e))?);
        }
        Ok(out)
    }

    /// Deletes the file `rel` from the store only (the local copy keeps it).
    pub fn remove_remote(&self, rel: &str) -> Result<()> {
        self.block_on(async {
            match self.store.delete(&self.key(rel)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(format!("deleting {rel}"), e)),
            }
            // Its record goes too: the local file would otherwise read as already sent.
            self.forget(rel)
        })
    }

    /// Removes `rel` (a file, or a folder when it ends with `/`) from the local copy only.
    pub fn forget_local(&self, rel: &str) -> Result<()> {
        let local = self.local.join(rel.trim_end_matches('/'));
        let removed = if rel.ends_with('/') {
            std::fs::remove_dir_all(&local)
        } else {
            std::fs::remove_file(&local)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io(local, e)),
        }
        let mut manifest = self.manifest.lock().unwrap_or_else(|p| p.into_inner());
        let before = manifest.len();
        manifest.retain(|name, _| !(name == rel || (rel.ends_with('/') && name.starts_with(rel))));
        if manifest.len() != before {
            self.save(&manifest)?;
        }
        Ok(())
    }

    fn synced(&self, name: &str) -> Option<Synced> {
        self.manifest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    fn record(&self, name: &str, version: String, path: &LocalPath) -> Result<()> {
        let (size, modified_ns) = local_state(path).unwrap_or_default();
        let mut manifest = self.manifest.lock().unwrap_or_else(|p| p.into_inner());
        manifest.insert(
            name.to_string(),
            Synced {
                version,
                size,
                modified_ns,
            },
        );
        self.save(&manifest)
    }

    fn forget(&self, name: &str) -> Result<()> {
        let mut manifest = self.manifest.lock().unwrap_or_else(|p| p.into_inner());
        if manifest.remove(name).is_some() {
            self.save(&manifest)?;
        }
        Ok(())
    }

    fn save(&self, manifest: &BTreeMap<String, Synced>) -> Result<()> {
        crate::jobs::write_atomic(&self.local.join(MANIFEST), &serde_json::to_vec(manifest)?)
    }
}

/// A build's files but its proving keys: what the server keeps of a build (it proves nothing).
fn proving_key(name: &str) -> bool {
    name.rsplit('/').next() == Some("pk.bin")
}

/// The server, before publishing `work`: sends the request's files (a build's upload, a
/// proof's input and chain seed).
pub fn send_request(mirror: &Mirror, work: &Work) -> Result<()> {
    let rel = match (work.kind, work.parent.as_deref()) {
        (JobKind::Build, _) => format!("builds/{}/", work.id),
        (JobKind::Segment, Some(parent)) => format!("proofs/{parent}/"),
        _ => format!("proofs/{}/", work.id),
    };
    mirror.push(&rel)?;
    Ok(())
}

/// The server, before recording that `work` is done: fetches its result (a build's files but
/// its proving keys, a proof file, a segment proof).
pub fn fetch_result(mirror: &Mirror, work: &Work) -> Result<()> {
    match (work.kind, work.parent.as_deref(), work.segment) {
        (JobKind::Build, ..) => mirror.pull(&format!("builds/{}/", work.id), &proving_key)?,
        (JobKind::Segment, Some(parent), Some(i)) => {
            mirror.pull(&format!("proofs/{parent}/segments/{i}.json"), &|_| false)?
        }
        _ => mirror.pull(&format!("proofs/{}/proof.json", work.id), &|_| false)?,
    };
    Ok(())
}

/// The server, once a proof is recorded (done or failed): its input leaves the store and, on a
/// `segmented` build, its chain seed and segment proofs leave the store and the local copy (the
/// input stays there, as in a data directory without a store).
pub fn drop_proof_secrets(mirror: &Mirror, id: &str, segmented: bool) -> Result<()> {
    let mut results = vec![mirror.remove_remote(&format!("proofs/{id}/input.json"))];
    if segmented {
        // Each is tried whatever became of the others.
        results.push(mirror.remove(&format!("proofs/{id}/chain_seed")));
        results.push(mirror.remove(&format!("proofs/{id}/segments/")));
    }
    results.into_iter().collect()
}

/// A worker, before running `work`: fetches what it reads (its build, with the keys cached
/// across jobs; the proof's input and chain seed; the segment proofs to aggregate).
pub fn fetch_for(mirror: &Mirror, paths: &Paths, work: &Work) -> Result<Moved> {
    let mut rels = Vec::new();
    match (work.kind, work.build.as_deref(), work.parent.as_deref()) {
        (JobKind::Build, ..) => rels.push(format!("builds/{}/", work.id)),
        (JobKind::Segment, Some(build), Some(parent)) => {
            rels.push(format!("builds/{build}/"));
            rels.push(format!("proofs/{parent}/input.json"));
            rels.push(format!("proofs/{parent}/chain_seed"));
        }
        (JobKind::Proof, Some(build), _) => {
            rels.push(format!("builds/{build}/"));
            rels.push(format!("proofs/{}/input.json", work.id));
            // An aggregation reads the segment proofs; not the chain seed.
            if paths.is_segmented(build) {
                rels.push(format!("proofs/{}/segments/", work.id));
            }
        }
        _ => {}
    }
    let mut moved = Moved::default();
    for rel in rels {
        moved += mirror.pull(&rel, &|_| false)?;
    }
    Ok(moved)
}

/// A worker, after `work` is done: sends what it wrote (a build, a proof file, a segment
/// proof). The proof's secrets leave the store once the server has recorded the result
/// ([`drop_proof_secrets`]): a run cut short before that can be run again.
pub fn send_after(mirror: &Mirror, work: &Work) -> Result<()> {
    match (work.kind, work.parent.as_deref(), work.segment) {
        (JobKind::Build, ..) => mirror.push(&format!("builds/{}/", work.id))?,
        (JobKind::Segment, Some(parent), Some(i)) => {
            mirror.push(&format!("proofs/{parent}/segments/{i}.json"))?
        }
        (JobKind::Proof, ..) => mirror.push(&format!("proofs/{}/proof.json", work.id))?,
        _ => return Ok(()),
    };
    Ok(())
}

/// A worker, after `work` ran (whatever came of it): drops the proof's files (input, chain seed,
/// segment proofs) from its copy; the builds stay, they are the cache.
pub fn drop_local_proof(mirror: &Mirror, work: &Work) -> Result<()> {
    match (work.kind, work.parent.as_deref()) {
        (JobKind::Segment, Some(parent)) => mirror.forget_local(&format!("proofs/{parent}/")),
        (JobKind::Proof, _) => mirror.forget_local(&format!("proofs/{}/", work.id)),
        _ => Ok(()),
    }
}

/// The store's version of an object: its ETag, or its size and time where the store gives none.
fn version_of(meta: &ObjectMeta) -> String {
    meta.e_tag.clone().unwrap_or_else(|| {
        format!(
            "{}@{}",
            meta.size,
            meta.last_modified.timestamp_nanos_opt().unwrap_or(0)
        )
    })
}

/// A local file's size and modification time (ns), when it is a file.
fn local_state(path: &LocalPath) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((meta.len(), modified))
}

/// The files of `rel` (a file, or every file under a folder when it ends with `/`) as names
/// relative to `root`, leaving out temporary files and the manifest.
fn local_files(root: &LocalPath, rel: &str) -> Result<Vec<String>> {
    let start = root.join(rel.trim_end_matches('/'));
    if !rel.ends_with('/') {
        return Ok(if start.is_file() {
            vec![rel.to_string()]
        } else {
            Vec::new()
        });
    }
    let mut out = Vec::new();
    let mut stack = vec![start];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::Io(dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::Io(dir.clone(), e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == MANIFEST
                || name == ".objects.lock"
                || name.contains(".tmp-")
                || zkinfer_prover::whole_file::is_partial(&name)
            {
                continue;
            }
            let kind = entry.file_type().map_err(|e| Error::Io(path.clone(), e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                if let Ok(relative) = path.strip_prefix(root) {
                    out.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("zkinfer-objects-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn files_travel_both_ways_once_and_deletions_follow() {
        let root = dir("roundtrip");
        let url = format!("file://{}", root.join("store").display());
        std::fs::create_dir_all(root.join("store")).unwrap();
        let server = Mirror::open(&url, &root.join("server")).unwrap();
        let worker = Mirror::open(&url, &root.join("worker")).unwrap();
        server.check().unwrap();
        let build = root.join("server/builds/b1");
        std::fs::create_dir_all(build.join("build")).unwrap();
        std::fs::write(build.join("model.onnx"), b"model").unwrap();
        std::fs::write(build.join("build/pk.bin"), vec![7u8; 100_000]).unwrap();
        let sent = server.push("builds/b1/").unwrap();
        assert_eq!((sent.files, sent.cached), (2, 0));
        assert_eq!(
            server.push("builds/b1/").unwrap().cached,
            2,
            "unchanged: not sent"
        );
        // The worker fetches once, then reads its copy.
        let got = worker.pull("builds/b1/", &|_| false).unwrap();
        assert_eq!((got.files, got.bytes), (2, 100_005));
        assert_eq!(
            std::fs::read(root.join("worker/builds/b1/build/pk.bin")).unwrap(),
            vec![7u8; 100_000]
        );
        let again = worker.pull("builds/b1/", &|_| false).unwrap();
        assert_eq!((again.files, again.cached), (0, 2));
        // One process per local copy; a reopened mirror keeps its manifest: nothing to fetch.
        let twice = Mirror::open(&url, &root.join("worker")).unwrap_err();
        assert!(twice.to_string().contains("own --cache"), "{twice}");
        drop(worker);
        let worker = Mirror::open(&url, &root.join("worker")).unwrap();
        assert_eq!(worker.pull("builds/b1/", &|_| false).unwrap().files, 0);
        // A changed object is fetched again; a skipped one never.
        std::fs::write(build.join("model.onnx"), b"model v2").unwrap();
        assert_eq!(server.push("builds/b1/").unwrap().files, 1);
        let changed = worker
            .pull("builds/b1/", &|name| name.ends_with("pk.bin"))
            .unwrap();
        assert_eq!(changed.files, 1);
        assert_eq!(
            std::fs::read(root.join("worker/builds/b1/model.onnx")).unwrap(),
            b"model v2"
        );
        // One file, and a missing one.
        std::fs::create_dir_all(root.join("worker/proofs/p1")).unwrap();
        std::fs::write(root.join("worker/proofs/p1/proof.json"), b"{}").unwrap();
        worker.push("proofs/p1/proof.json").unwrap();
        assert_eq!(
            server
                .pull("proofs/p1/proof.json", &|_| false)
                .unwrap()
                .files,
            1
        );
        let missing = server.pull("proofs/p2/proof.json", &|_| false).unwrap();
        assert_eq!(missing, Moved::default());
        assert!(!root.join("server/proofs/p2/proof.json").exists());
        // Deletion reaches the store and the local copy.
        worker.remove("proofs/p1/").unwrap();
        assert!(!root.join("worker/proofs/p1/proof.json").exists());
        std::fs::remove_dir_all(root.join("server/proofs/p1")).unwrap();
        server.forget_local("proofs/p1/").unwrap();
        assert_eq!(
            server
                .pull("proofs/p1/proof.json", &|_| false)
                .unwrap()
                .files,
            0
        );
        assert!(!root.join("server/proofs/p1/proof.json").exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn urls_with_credentials_and_unknown_schemes_are_refused() {
        let root = dir("refused");
        let e = Mirror::open("s3://key:secret@bucket/x", &root).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.to_string().contains("environment"), "{e}");
        assert!(Mirror::open("gopher://x/y", &root).is_err());
        assert!(is_store_url("s3://bucket/prefix"));
        assert!(is_store_url("file:///tmp/x"));
        assert!(!is_store_url("/srv/zkinfer-data"));
        assert!(!is_store_url("data"));
        let _ = std::fs::remove_dir_all(&root);
    }
}
