//! `verify`: a proof file checked off-chain, outputs included.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

use crate::artifacts::{Artifact, BuildDir, ProofArtifact, Settings};
use crate::commitment::Visibility;
use crate::fixed::from_field;
use crate::fixed::Scale;
use crate::srs::read_srs;
use crate::{keys, proving, Error, Result};

/// Dequantized outputs (public outputs at `scale`), one flat array per graph output.
pub(super) fn decode_outputs(
    settings: &Settings,
    scale: Scale,
    instances: &[Fr],
) -> Result<Vec<Vec<f64>>> {
    let short = || {
        Error::MalformedProof(
            "the settings' output shapes need more instances than the proof has".into(),
        )
    };
    let mut rest = instances
        .get(settings.num_public_inputs()..)
        .ok_or_else(short)?;
    let mut outputs = Vec::new();
    for shape in &settings.output_shapes {
        let len = shape
            .iter()
            .try_fold(1usize, |n, d| n.checked_mul(*d))
            .filter(|len| *len <= rest.len())
            .ok_or_else(short)?;
        let (head, tail) = rest.split_at(len);
        let values = head
            .iter()
            .map(|f| from_field(f).map(|q| scale.dequantize(q)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                Error::MalformedProof("an output instance is not a small signed integer".into())
            })?;
        outputs.push(values);
        rest = tail;
    }
    Ok(outputs)
}

/// The proof bytes and instances of a proof artifact (checked when the file was read).
pub fn decode_proof(artifact: &ProofArtifact) -> (Vec<u8>, Vec<Fr>) {
    let instances = artifact.instances.iter().map(|f| f.0).collect();
    (artifact.proof.0.clone(), instances)
}

/// Verifies a proof artifact off-chain. `Ok(false)` is a rejected proof; `Err` a broken setup,
/// or a valid proof whose file's `output_data` is not what its instances encode
/// ([`Error::OutputDataMismatch`]): the outputs a user reads are the proven ones.
pub fn verify(dir: &BuildDir, artifact: &ProofArtifact) -> Result<bool> {
    verify_build(dir, artifact, false)
}

/// [`verify`] for one segment of a segmented build (see `zkinfer-segments`): alone, a segment's
/// proof says nothing about the model, so [`verify`] refuses segment builds.
pub fn verify_segment(dir: &BuildDir, artifact: &ProofArtifact) -> Result<bool> {
    verify_build(dir, artifact, true)
}

/// Refuses a segment's build where a whole model's is expected.
pub(super) fn refuse_segment(settings: &Settings, dir: &BuildDir) -> Result<()> {
    if settings.privacy.inputs == Visibility::Chained
        || settings.privacy.outputs == Visibility::Chained
    {
        return Err(Error::InvalidInput(format!(
            "{} is one segment of a segmented build: its proof binds only its neighbours' \
             commitments; prove and verify the segmented build (the folder above it)",
            dir.root().display()
        )));
    }
    Ok(())
}

fn verify_build(dir: &BuildDir, artifact: &ProofArtifact, segment: bool) -> Result<bool> {
    dir.require_keys()?;
    let settings = Settings::read(&dir.settings())?;
    if !segment {
        refuse_segment(&settings, dir)?;
    }
    if artifact.model_id != settings.model_id {
        tracing::warn!(proof = %artifact.model_id, build = %settings.model_id, "the proof is for another model");
        return Ok(false);
    }
    let (proof, instances) = decode_proof(artifact);
    if instances.len() != settings.circuit.num_instances {
        tracing::warn!(
            found = instances.len(),
            expected = settings.circuit.num_instances,
            "wrong number of instances"
        );
        return Ok(false);
    }
    let srs = read_srs(&dir.srs(), settings.circuit.k)?;
    let vk = keys::read_vk(&dir.vk(), &settings.circuit)?;
    if !proving::verify(&srs, &vk, &proof, &instances) {
        return Ok(false);
    }
    check_output_data(&settings, &artifact.output_data, &instances)?;
    Ok(true)
}

/// Checks that a proof file's `output_data` is exactly what `prove` writes for these (verified)
/// instances: the decoded public outputs, or nothing when the outputs are private or hashed.
/// Values compare exactly: JSON floats round-trip (serde_json's `float_roundtrip`).
pub fn check_output_data(
    settings: &Settings,
    output_data: &[Vec<f64>],
    instances: &[Fr],
) -> Result<()> {
    let expected = match settings.privacy.outputs {
        Visibility::Public => decode_outputs(settings, settings.quantization.scale, instances)?,
        Visibility::Private | Visibility::Hashed | Visibility::Chained => Vec::new(),
    };
    match first_difference(output_data, &expected) {
        Some((at, found, expected)) => Err(Error::OutputDataMismatch {
            at,
            found,
            expected,
        }),
        None => Ok(()),
    }
}

/// Where `found` first differs from `expected`: (`output_data[i][j]` or `output_data[i]`, the
/// value found there, the value expected there).
fn first_difference(found: &[Vec<f64>], expected: &[Vec<f64>]) -> Option<(String, String, String)> {
    let array = |a: Option<&Vec<f64>>| {
        a.map_or_else(
            || "absent".to_string(),
            |v| format!("an array of {} values", v.len()),
        )
    };
    let value = |v: Option<&f64>| v.map_or_else(|| "absent".to_string(), |v| v.to_string());
    for i in 0..found.len().max(expected.len()) {
        let (Some(f), Some(e)) = (found.get(i), expected.get(i)) else {
            return Some((
                format!("output_data[{i}]"),
                array(found.get(i)),
                array(expected.get(i)),
            ));
        };
        for j in 0..f.len().max(e.len()) {
            if f.get(j) != e.get(j) {
                return Some((
                    format!("output_data[{i}][{j}]"),
                    value(f.get(j)),
                    value(e.get(j)),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_of_output_data_is_named() {
        let proven = vec![vec![0.5, -1.25], vec![2.0]];
        assert_eq!(first_difference(&proven, &proven), None);
        let mut edited = proven.clone();
        edited[0][1] = -1.0;
        assert_eq!(
            first_difference(&edited, &proven),
            Some(("output_data[0][1]".into(), "-1".into(), "-1.25".into()))
        );
        assert_eq!(
            first_difference(&proven[..1], &proven),
            Some((
                "output_data[1]".into(),
                "absent".into(),
                "an array of 1 values".into()
            ))
        );
        assert_eq!(
            first_difference(&[vec![0.5]], &proven[..1]),
            Some(("output_data[0][1]".into(), "absent".into(), "-1.25".into()))
        );
        // Private or hashed outputs: the file must hold none.
        assert_eq!(
            first_difference(&proven, &[]),
            Some((
                "output_data[0]".into(),
                "an array of 2 values".into(),
                "absent".into()
            ))
        );
    }
}
