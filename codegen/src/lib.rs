//! zkinfer's code generation: verifying key → Solidity verifier (+ ABI and bytecode),
//! compiled with solc through its standard-JSON interface.

mod error;
pub mod plan;
pub mod reference;
pub mod solc;
pub mod templated;
pub mod verifier;

pub use error::{Error, Result};
pub use solc::{CompiledContract, Optimizer, Solc};
pub use verifier::{
    generate_aggregation_verifier, generate_verifier, ACCUMULATOR_LIMBS, CODE_SIZE_LIMIT,
    VERIFIER_CONTRACT,
};

use std::path::Path;

use zkinfer_prover::artifacts::{Artifact, BuildDir, KeysInfo, Settings};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use zkinfer_prover::halo2_base::halo2_proofs::plonk::VerifyingKey;
use zkinfer_prover::srs::SrsSource;
use zkinfer_prover::{keys, srs};

/// The comment a contract generated from development-SRS keys carries.
pub const INSECURE_KEYS_WARNING: &str = "/// WARNING: INSECURE KEYS. These keys were made with zkinfer's development SRS (`--dev-srs`), whose\n/// secret comes from a public seed: anyone can forge a proof that this contract accepts. Testing only;\n/// never deploy it where anything of value depends on it (`zkinfer setup --srs` takes a ceremony file).\n";

/// Whether a build's keys come from the insecure development SRS.
pub fn dev_srs_keys(dir: &BuildDir) -> Result<bool> {
    Ok(KeysInfo::read(&dir.keys_info())?.srs == SrsSource::DevInsecure)
}

/// `source` with [`INSECURE_KEYS_WARNING`] after its pragma line when `insecure`.
fn mark_insecure(source: String, insecure: bool) -> String {
    const PRAGMA: &str = "pragma solidity 0.8.19;\n";
    match (insecure, source.find(PRAGMA)) {
        (true, Some(at)) => {
            let split = at + PRAGMA.len();
            format!(
                "{}\n{INSECURE_KEYS_WARNING}{}",
                &source[..split],
                &source[split..]
            )
        }
        (true, None) => format!("{INSECURE_KEYS_WARNING}{source}"),
        (false, _) => source,
    }
}

/// Which Solidity verifier to generate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VerifierKind {
    /// A model-specific contract from snark-verifier's EVM loader (hardened), called with raw
    /// calldata: the default while it costs less gas.
    #[default]
    SnarkVerifier,
    /// The reusable `ReusableHalo2Verifier` (deployed once) plus the model's verifying key contract.
    Reusable,
}

/// The reusable verifier and one build's verifying key contract.
#[derive(Clone, Debug)]
pub struct ReusableVerifier {
    /// The shared `ReusableHalo2Verifier` contract.
    pub verifier: GeneratedVerifier,
    /// The model's `ZkinferVerifyingKey` contract (its creation code deploys the key blob).
    pub key: GeneratedVerifier,
    /// The key blob, i.e. the key contract's runtime code.
    pub key_code: Vec<u8>,
    /// The flattened verifying key.
    pub plan: plan::VerifierPlan,
}

/// What a verifier is generated from: a build's settings, SRS and verifying key, read once and
/// checked to belong together (the model hashes to its id, the keys were made for that model).
struct BuildKeys {
    settings: Settings,
    srs: srs::Srs,
    vk: VerifyingKey<G1Affine>,
    /// The SRS is the development one, by its label or by its content.
    insecure: bool,
}

impl BuildKeys {
    fn load(dir: &BuildDir) -> Result<Self> {
        dir.require_keys()?;
        let (settings, _) = zkinfer_prover::pipeline::load(dir)?;
        let info = KeysInfo::read(&dir.keys_info())?;
        if info.model_id != settings.model_id {
            return Err(zkinfer_prover::Error::KeysForAnotherModel.into());
        }
        let srs = srs::read_srs(&dir.srs(), settings.circuit.k)?;
        let vk = keys::read_vk(&dir.vk(), &settings.circuit)?;
        // The verifying key is the one setup made for this model (keys.json records its hash).
        if keys::vk_sha256(&vk) != info.vk_sha256 {
            return Err(zkinfer_prover::Error::KeysForAnotherModel.into());
        }
        // A development SRS in place of the recorded one is insecure, whatever keys.json says.
        let insecure = info.srs == SrsSource::DevInsecure || srs::is_dev_srs(&srs);
        Ok(BuildKeys {
            settings,
            srs,
            vk,
            insecure,
        })
    }
}

/// Renders and compiles the reusable verifier and the verifying key contract of a build.
pub fn reusable_for_build(dir: &BuildDir, solc: &Solc) -> Result<ReusableVerifier> {
    let BuildKeys {
        settings,
        srs,
        vk,
        insecure,
    } = BuildKeys::load(dir)?;
    let plan = plan::VerifierPlan::new(&srs, &vk, settings.circuit.num_instances)?;
    let key_source = mark_insecure(
        templated::render_verifying_key(&plan, &settings.model_id.to_string()),
        insecure,
    );
    let key = GeneratedVerifier {
        compiled: templated::compile_verifying_key(solc, &key_source)?,
        source: key_source,
        proof_len: Some(plan.proof_len()),
    };
    let key_code = templated::key_bytes(&plan);
    if key_code.len() > CODE_SIZE_LIMIT {
        return Err(Error::TooLarge {
            size: key_code.len(),
            limit: CODE_SIZE_LIMIT,
        });
    }
    let verifier = GeneratedVerifier {
        source: templated::REUSABLE_VERIFIER_SOURCE.to_string(),
        compiled: templated::compile_reusable_verifier(solc)?,
        proof_len: None,
    };
    Ok(ReusableVerifier {
        verifier,
        key,
        key_code,
        plan,
    })
}

/// The generated verifier: source, ABI and bytecode.
#[derive(Clone, Debug)]
pub struct GeneratedVerifier {
    /// Solidity source.
    pub source: String,
    /// The compiled contract.
    pub compiled: CompiledContract,
    /// The exact proof length in bytes that the verifier (or key) accepts; `None` for the
    /// shared reusable verifier, which takes any model's key.
    pub proof_len: Option<usize>,
}

/// Generates and compiles the verifier of a build directory with keys.
pub fn verifier_for_build(dir: &BuildDir, solc: &Solc) -> Result<GeneratedVerifier> {
    let BuildKeys {
        settings,
        srs,
        vk,
        insecure,
    } = BuildKeys::load(dir)?;
    let source = mark_insecure(
        generate_verifier(&srs, &vk, settings.circuit.num_instances)?,
        insecure,
    );
    let verifier = compile_verifier(source, solc, settings.circuit.num_instances)?;
    // Cross-check with the key's own layout where the reusable verifier's plan covers the key.
    if let Ok(plan) = plan::VerifierPlan::new(&srs, &vk, settings.circuit.num_instances) {
        if Some(plan.proof_len()) != verifier.proof_len {
            return Err(Error::Solc(format!(
                "generated verifier reads {:?} proof bytes, the verifying key's layout has {}",
                verifier.proof_len,
                plan.proof_len()
            )));
        }
    }
    Ok(verifier)
}

/// Generates and compiles the verifier of an aggregation key whose proofs carry `num_instances`
/// instances, the accumulator last (see [`generate_aggregation_verifier`]). Its `proof_len`
/// counts what follows the statement in calldata: the accumulator's words and the proof, which is
/// what an aggregated proof file holds as its proof. `insecure` marks development-SRS keys.
pub fn aggregation_verifier(
    srs: &zkinfer_prover::srs::Srs,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    insecure: bool,
    solc: &Solc,
) -> Result<GeneratedVerifier> {
    let source = mark_insecure(
        generate_aggregation_verifier(srs, vk, num_instances)?,
        insecure,
    );
    compile_verifier(source, solc, num_instances - ACCUMULATOR_LIMBS)
}

/// Compiles a generated verifier's `source` (for `num_instances` public values), checking its
/// size against EIP-170 and reading the exact proof length it takes.
pub fn compile_verifier(
    source: String,
    solc: &Solc,
    num_instances: usize,
) -> Result<GeneratedVerifier> {
    let mut contracts = solc.compile(&[("Verifier.sol", &source)], Optimizer::Off)?;
    let compiled = contracts
        .remove(VERIFIER_CONTRACT)
        .ok_or_else(|| Error::Solc(format!("no {VERIFIER_CONTRACT} in the compiler output")))?;
    let size = compiled.deployed_bytecode.len();
    if size > CODE_SIZE_LIMIT {
        return Err(Error::TooLarge {
            size,
            limit: CODE_SIZE_LIMIT,
        });
    }
    let proof_len = verifier::calldata_len(&source)?
        .checked_sub(32 * num_instances)
        .ok_or_else(|| Error::Solc("generated verifier reads less than its instances".into()))?;
    Ok(GeneratedVerifier {
        source,
        compiled,
        proof_len: Some(proof_len),
    })
}

impl GeneratedVerifier {
    /// Writes `<path>` (Solidity), `<stem>.abi.json` and `<stem>.bin` (creation bytecode, hex) beside it.
    pub fn write(&self, path: &Path) -> Result<()> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| Error::Io { path: p, source }
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(path, &self.source).map_err(io(path))?;
        let abi = path.with_extension("abi.json");
        std::fs::write(
            &abi,
            serde_json::to_string_pretty(&self.compiled.abi).expect("json"),
        )
        .map_err(io(&abi))?;
        let bin = path.with_extension("bin");
        std::fs::write(&bin, hex::encode(&self.compiled.bytecode)).map_err(io(&bin))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_keys_are_marked_after_the_pragma() {
        let source =
            "// SPDX-License-Identifier: MIT\npragma solidity 0.8.19;\ncontract A {}\n".to_string();
        let marked = mark_insecure(source.clone(), true);
        assert!(marked.starts_with("// SPDX-License-Identifier: MIT\npragma solidity 0.8.19;\n\n/// WARNING: INSECURE KEYS."));
        assert!(marked.ends_with("contract A {}\n"));
        assert_eq!(mark_insecure(source.clone(), false), source);
    }
}
