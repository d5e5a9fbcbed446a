//! Structured reference strings (KZG powers of tau on BN254).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The KZG parameters used by the prover and verifier.
pub type Srs = ParamsKZG<Bn256>;

/// Seed of the development SRS. Anyone can recompute its trapdoor: it is insecure by design.
const DEV_SEED: u64 = 0x7a6b_696e_6665_7221;

/// Where an SRS came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SrsSource {
    /// Generated from a public seed: INSECURE, for tests and demos only.
    DevInsecure,
    /// Loaded from a file in halo2's params format.
    File {
        /// The file it was read from.
        path: String,
    },
    /// Loaded from a snarkjs powers-of-tau file (a ceremony's output), its powers checked.
    PowersOfTau {
        /// The file it was read from.
        path: String,
    },
}

/// Reads an SRS for `2^k` rows from a `.ptau` file or a halo2 params file (by its magic), with
/// where it came from.
pub fn read_any(path: &Path, k: usize) -> Result<(Srs, SrsSource)> {
    let shown = path.display().to_string();
    if crate::ptau::is_ptau(path) {
        Ok((
            crate::ptau::read_ptau(path, k)?,
            SrsSource::PowersOfTau { path: shown },
        ))
    } else {
        Ok((read_srs(path, k)?, SrsSource::File { path: shown }))
    }
}

/// A development SRS for `2^k` rows from a fixed public seed. Proofs made with it are forgeable
/// by anyone; never use it where value is at stake.
///
/// Generated SRSs are cached per `k` in `$ZKINFER_CACHE` (default `$XDG_CACHE_HOME/zkinfer` or
/// `~/.cache/zkinfer`); a cached file that cannot be read is regenerated.
pub fn dev_srs(k: usize) -> Srs {
    tracing::warn!("using an INSECURE development SRS (public seed): for testing only");
    let cached = cache_dir().map(|d| d.join(format!("dev-srs-k{k}.params")));
    if let Some(path) = cached.as_ref().filter(|p| p.exists()) {
        match read_srs(path, k) {
            Ok(srs) if srs.k() as usize == k => return srs,
            _ => tracing::warn!(path = %path.display(), "ignoring an unreadable cached SRS"),
        }
    }
    let srs =
        ParamsKZG::<Bn256>::setup(k as u32, rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED));
    if let Some(path) = cached {
        // A cache is an optimisation: failing to write it is not an error. Write then rename so a
        // concurrent reader never sees a partial file.
        // Unique per process and call: tests generate SRSs from several threads at once.
        static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{call}", std::process::id()));
        let written = path
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .is_ok()
            && write_srs(&srs, &tmp).is_ok()
            && std::fs::rename(&tmp, &path).is_ok();
        if !written {
            let _ = std::fs::remove_file(&tmp);
            tracing::debug!(path = %path.display(), "could not cache the development SRS");
        }
    }
    srs
}

fn cache_dir() -> Option<std::path::PathBuf> {
    if let Some(dir) = std::env::var_os("ZKINFER_CACHE") {
        return Some(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    Some(base.join("zkinfer"))
}

/// Reads an SRS in halo2's params format and trims it to `2^k` rows.
pub fn read_srs(path: &Path, k: usize) -> Result<Srs> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut srs = Srs::read(&mut BufReader::new(file)).map_err(|e| {
        Error::Srs(format!(
            "{}: not a halo2 KZG params file: {e}",
            path.display()
        ))
    })?;
    if (srs.k() as usize) < k {
        return Err(Error::Srs(format!(
            "{} has 2^{} points; the circuit needs 2^{k}",
            path.display(),
            srs.k()
        )));
    }
    if srs.k() as usize > k {
        srs.downsize(k as u32);
    }
    Ok(srs)
}

/// Writes an SRS in halo2's params format.
pub fn write_srs(srs: &Srs, path: &Path) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    srs.write(&mut BufWriter::new(file))
        .map_err(|e| Error::io(path, e))
}
