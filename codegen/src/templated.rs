//! The reusable verifier: one `ReusableHalo2Verifier` contract for every model (a fixed template), and
//! per model a `ZkinferVerifyingKey` data contract rendered from its verifying key.

use crate::plan::VerifierPlan;
use crate::{CompiledContract, Error, Optimizer, Result, Solc};

/// The reusable verifier's Solidity source.
pub const REUSABLE_VERIFIER_SOURCE: &str =
    include_str!("../../contracts/src/verifiers/ReusableHalo2Verifier.sol");

/// Name of the reusable verifier contract.
pub const REUSABLE_VERIFIER_CONTRACT: &str = "ReusableHalo2Verifier";

/// Name of the verifying key contract.
pub const VERIFYING_KEY_CONTRACT: &str = "ZkinferVerifyingKey";

const VERIFYING_KEY_TEMPLATE: &str = include_str!("../templates/VerifyingKey.sol");

/// Compiles the reusable verifier (optimizer on: it has no unrolled code).
pub fn compile_reusable_verifier(solc: &Solc) -> Result<CompiledContract> {
    let mut out = solc.compile(
        &[("ReusableHalo2Verifier.sol", REUSABLE_VERIFIER_SOURCE)],
        Optimizer::On,
    )?;
    out.remove(REUSABLE_VERIFIER_CONTRACT).ok_or_else(|| {
        Error::Solc(format!(
            "no {REUSABLE_VERIFIER_CONTRACT} in the compiler output"
        ))
    })
}

/// The key blob as bytes (the key contract's runtime code).
pub fn key_bytes(plan: &VerifierPlan) -> Vec<u8> {
    plan.encode().concat()
}

/// Renders the verifying key contract of `plan` for the model named `model`.
pub fn render_verifying_key(plan: &VerifierPlan, model: &str) -> String {
    let blob = key_bytes(plan);
    let model: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    VERIFYING_KEY_TEMPLATE
        .replace("{{contract}}", VERIFYING_KEY_CONTRACT)
        .replace("{{model}}", &model)
        .replace("{{k}}", &plan.k.to_string())
        .replace("{{instances}}", &plan.num_instances.to_string())
        .replace("{{proof_len}}", &plan.proof_len().to_string())
        .replace("{{words}}", &(blob.len() / 32).to_string())
        .replace("{{blob}}", &hex::encode(&blob))
}

/// Compiles a rendered verifying key contract.
pub fn compile_verifying_key(solc: &Solc, source: &str) -> Result<CompiledContract> {
    let mut out = solc.compile(&[("VerifyingKey.sol", source)], Optimizer::On)?;
    out.remove(VERIFYING_KEY_CONTRACT).ok_or_else(|| {
        Error::Solc(format!(
            "no {VERIFYING_KEY_CONTRACT} in the compiler output"
        ))
    })
}
