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
}

/// A development SRS for `2^k` rows from a fixed public seed. Proofs made with it are forgeable
/// by anyone; never use it where value is at stake.
pub fn dev_srs(k: usize) -> Srs {
    tracing::warn!("generating an INSECURE development SRS (public seed): for testing only");
    ParamsKZG::<Bn256>::setup(k as u32, rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED))
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
