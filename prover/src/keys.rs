//! Proving and verifying keys, and their files.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_base::halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::SerdeFormat;

use crate::circuit::{keygen_circuit, CircuitParams, ModelCircuit};
use crate::quantize::QuantizedModel;
use crate::srs::Srs;
use crate::whole_file::write_whole;
use crate::{Error, Result};

/// Generated keys with the layout break points the prover must reuse.
pub struct Keys {
    /// The proving key.
    pub pk: ProvingKey<G1Affine>,
    /// Where halo2-base split the virtual column into physical columns.
    pub break_points: MultiPhaseThreadBreakPoints,
}

/// Generates the verifying and proving keys for `model`.
pub fn keygen(srs: &Srs, model: &QuantizedModel, params: &CircuitParams) -> Result<Keys> {
    keygen_reporting(srs, model, params, &mut |_| {})
}

/// Which key [`keygen_reporting`] starts generating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// The verifying key (first).
    Verifying,
    /// The proving key (second, the longer step).
    Proving,
}

/// [`keygen`], telling `starting` which key it starts on.
pub fn keygen_reporting(
    srs: &Srs,
    model: &QuantizedModel,
    params: &CircuitParams,
    starting: &mut dyn FnMut(KeyKind),
) -> Result<Keys> {
    let circuit = keygen_circuit(model, params)?;
    tracing::info!(k = params.k, "generating verifying key");
    starting(KeyKind::Verifying);
    let vk = keygen_vk(srs, &circuit).map_err(|e| Error::Keygen {
        which: "verifying key",
        reason: e.to_string(),
    })?;
    tracing::info!("generating proving key");
    starting(KeyKind::Proving);
    let pk = keygen_pk(srs, vk, &circuit).map_err(|e| Error::Keygen {
        which: "proving key",
        reason: e.to_string(),
    })?;
    Ok(Keys {
        pk,
        break_points: circuit.builder.break_points(),
    })
}

/// Writes a proving key, whole or not at all ([`write_whole`]).
pub fn write_pk(pk: &ProvingKey<G1Affine>, path: &Path) -> Result<()> {
    write_whole(path, |mut w| pk.write(&mut w, SerdeFormat::RawBytes))
}

/// Writes a verifying key, whole or not at all ([`write_whole`]).
pub fn write_vk(vk: &VerifyingKey<G1Affine>, path: &Path) -> Result<()> {
    write_whole(path, |mut w| vk.write(&mut w, SerdeFormat::RawBytes))
}

/// Reads a proving key for a circuit of the given shape.
pub fn read_pk(path: &Path, params: &CircuitParams) -> Result<ProvingKey<G1Affine>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    ProvingKey::read::<_, ModelCircuit>(
        &mut BufReader::new(file),
        SerdeFormat::RawBytes,
        params.model_params(),
    )
    .map_err(|e| Error::UnreadableKey {
        path: path.into(),
        which: "proving key",
        reason: e.to_string(),
    })
}

/// Reads a verifying key for a circuit of the given shape.
pub fn read_vk(path: &Path, params: &CircuitParams) -> Result<VerifyingKey<G1Affine>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    VerifyingKey::read::<_, ModelCircuit>(
        &mut BufReader::new(file),
        SerdeFormat::RawBytes,
        params.model_params(),
    )
    .map_err(|e| Error::UnreadableKey {
        path: path.into(),
        which: "verifying key",
        reason: e.to_string(),
    })
}

/// SHA-256 of a serialized verifying key: the fingerprint `keys.json` records at setup and
/// codegen checks before embedding the key.
pub fn vk_sha256(vk: &VerifyingKey<G1Affine>) -> String {
    crate::hash::sha256_hex(&vk_bytes(vk))
}

/// Serialized verifying key bytes (for fingerprints).
pub fn vk_bytes(vk: &VerifyingKey<G1Affine>) -> Vec<u8> {
    let mut bytes = Vec::new();
    vk.write(&mut bytes, SerdeFormat::RawBytes)
        .expect("writing to a Vec cannot fail");
    bytes
}
