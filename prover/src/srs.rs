//! Structured reference strings (KZG powers of tau on BN254).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::halo2curves::CurveAffine;
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::halo2_proofs::SerdeFormat;
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
    // A file named `.ptau` is read as one, so that a broken one is refused for what it claims to
    // be (e.g. no "ptau" magic) rather than as a halo2 params file.
    let named_ptau = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ptau"));
    if named_ptau || crate::ptau::is_ptau(path) {
        Ok((
            crate::ptau::read_ptau(path, k)?,
            SrsSource::PowersOfTau { path: shown },
        ))
    } else {
        Ok((read_srs(path, k)?, SrsSource::File { path: shown }))
    }
}

/// Whether `srs` is the development SRS (at any size), whatever file it came from: its `[s]G2`
/// is the development trapdoor's (`ParamsKZG::setup` draws `s` first, so `[s]G2` does not depend
/// on `k`). A copy of a cached dev SRS passed as `--srs` is insecure all the same.
pub fn is_dev_srs(srs: &Srs) -> bool {
    let dev = ParamsKZG::<Bn256>::setup(1, rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED));
    srs.s_g2() == dev.s_g2()
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
        // A cache is an optimisation: failing to write it is not an error. `write_srs` writes
        // whole or not at all, so a concurrent reader never sees a partial file.
        let written = path
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .is_ok()
            && write_srs(&srs, &path).is_ok();
        if !written {
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

pub use crate::ptau::MAX_K;

/// Bytes of a G1 point in halo2's raw params format (x and y, 32 bytes each, Montgomery form).
const G1_BYTES: u64 = 64;
/// Bytes of a G2 point in halo2's raw params format (two Fq2 coordinates).
const G2_BYTES: u64 = 128;

/// Length of a halo2 params file of `2^k` points: `k` (u32 LE), the `2^k` powers and their
/// `2^k` Lagrange forms (G1), then `g2` and `s·g2`.
fn params_len(k: u32) -> u64 {
    4 + 2 * (1u64 << k) * G1_BYTES + 2 * G2_BYTES
}

/// Reads an SRS in halo2's params format and trims it to `2^k` rows.
///
/// The header's size is checked against the file's length before anything is allocated, and
/// every coordinate and point is checked (below the field modulus, on the curve): a truncated,
/// foreign or corrupted file is refused, naming it and what is wrong.
pub fn read_srs(path: &Path, k: usize) -> Result<Srs> {
    let bad = |why: String| {
        Error::Srs(format!(
            "{}: not a halo2 KZG params file: {why}",
            path.display()
        ))
    };
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut head = [0u8; 4];
    if len < head.len() as u64 {
        return Err(bad(format!(
            "it is {len} bytes long, too short for a header"
        )));
    }
    file.read_exact(&mut head).map_err(|e| Error::io(path, e))?;
    let file_k = u32::from_le_bytes(head);
    if file_k > MAX_K {
        return Err(bad(format!(
            "its header claims 2^{file_k} points, more than a BN254 SRS holds (at most 2^{MAX_K})"
        )));
    }
    let expected = params_len(file_k);
    if len != expected {
        return Err(bad(format!(
            "its header claims 2^{file_k} points, which take {expected} bytes, but the file has \
             {len} bytes{}",
            if len < expected { " (truncated)" } else { "" }
        )));
    }
    if (file_k as usize) < k {
        return Err(Error::Srs(format!(
            "{} has 2^{file_k} points; the circuit needs 2^{k}",
            path.display()
        )));
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    // `RawBytes` checks that every coordinate is below the modulus (and returns I/O errors
    // rather than panicking, unlike the unchecked format `Params::read` uses).
    let mut srs = Srs::read_custom(&mut BufReader::new(file), SerdeFormat::RawBytes)
        .map_err(|e| bad(e.to_string()))?;
    if let Some(i) = srs
        .get_g()
        .iter()
        .position(|p| !bool::from(p.is_on_curve()))
    {
        return Err(bad(format!("point {i} is not on the curve")));
    }
    if !bool::from(srs.g2().is_on_curve()) || !bool::from(srs.s_g2().is_on_curve()) {
        return Err(bad("its G2 points are not on the curve".into()));
    }
    if srs.k() as usize > k {
        srs.downsize(k as u32);
    }
    Ok(srs)
}

/// Writes an SRS in halo2's params format, whole or not at all
/// ([`crate::whole_file::write_whole`]).
pub fn write_srs(srs: &Srs, path: &Path) -> Result<()> {
    crate::whole_file::write_whole(path, |mut w| srs.write(&mut w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_srs_is_recognised_at_any_size_and_no_other() {
        assert!(is_dev_srs(&dev_srs(4)) && is_dev_srs(&dev_srs(6)));
        let other = ParamsKZG::<Bn256>::setup(4, rand_chacha::ChaCha20Rng::seed_from_u64(1));
        assert!(!is_dev_srs(&other));
    }

    /// A scratch folder for this test process.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("zkinfer-srs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `read_srs` must refuse `bytes` with an SRS error naming the file and containing `why`.
    fn refused(dir: &Path, name: &str, bytes: &[u8], why: &str) {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        match read_srs(&path, 1) {
            Err(Error::Srs(message)) => {
                assert!(message.contains(name), "{message}");
                assert!(message.contains(why), "{name}: {message}");
            }
            Err(e) => panic!("{name}: unexpected error {e}"),
            Ok(_) => panic!("{name} accepted"),
        }
    }

    fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
        use rand::RngCore;
        let mut bytes = vec![0u8; len];
        rand_chacha::ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut bytes);
        bytes
    }

    #[test]
    fn params_round_trip_and_downsize() {
        let dir = scratch("ok");
        let path = dir.join("k3.params");
        let srs = Srs::setup(3, rand_chacha::ChaCha20Rng::seed_from_u64(1));
        write_srs(&srs, &path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), params_len(3));
        let read = read_srs(&path, 3).unwrap();
        assert_eq!(read.get_g(), srs.get_g());
        assert_eq!(read.s_g2(), srs.s_g2());
        assert_eq!(read_srs(&path, 2).unwrap().k(), 2);
        let err = read_srs(&path, 4).unwrap_err().to_string();
        assert!(
            err.contains("has 2^3 points; the circuit needs 2^4"),
            "{err}"
        );
    }

    #[test]
    fn malformed_params_files_are_refused_before_any_allocation() {
        let dir = scratch("bad");
        // JSON: its first four bytes read as k = 0x6e69227b.
        refused(
            &dir,
            "input.json",
            br#"{"input_data": [[0.5, 1.5]]}"#,
            "more than a BN254 SRS holds",
        );
        // Random bytes: a huge k, or (made so here) a small one with the wrong length.
        let mut random = random_bytes(1000, 7);
        refused(&dir, "random.bin", &random, "not a halo2 KZG params file");
        random[..4].copy_from_slice(&20u32.to_le_bytes());
        refused(&dir, "random-k20.bin", &random, "(truncated)");
        refused(&dir, "tiny.bin", &[1, 0], "too short for a header");
        refused(&dir, "empty.bin", &[], "too short for a header");

        // A real file, truncated, extended, and with a corrupted point.
        let good = dir.join("good.params");
        write_srs(
            &Srs::setup(2, rand_chacha::ChaCha20Rng::seed_from_u64(2)),
            &good,
        )
        .unwrap();
        let bytes = std::fs::read(&good).unwrap();
        refused(
            &dir,
            "truncated.params",
            &bytes[..bytes.len() - 100],
            "(truncated)",
        );
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 64]);
        refused(&dir, "longer.params", &longer, "but the file has");
        // The first G1 point's x: past the modulus (all ones), then below it but off the curve.
        let mut corrupted = bytes.clone();
        corrupted[4..36].fill(0xff);
        refused(&dir, "over-modulus.params", &corrupted, "modulus");
        let mut off_curve = bytes.clone();
        off_curve[4] ^= 1;
        refused(
            &dir,
            "off-curve.params",
            &off_curve,
            "point 0 is not on the curve",
        );
        // Same length, random content.
        let mut junk = random_bytes(bytes.len(), 9);
        junk[..4].copy_from_slice(&2u32.to_le_bytes());
        refused(&dir, "junk.params", &junk, "not a halo2 KZG params file");
    }

    #[test]
    fn a_file_named_ptau_is_read_as_one() {
        let dir = scratch("named");
        let path = dir.join("random.ptau");
        std::fs::write(&path, random_bytes(4096, 3)).unwrap();
        let err = read_any(&path, 4).unwrap_err().to_string();
        assert!(
            err.contains("random.ptau") && err.contains("not a .ptau file"),
            "{err}"
        );
    }
}
