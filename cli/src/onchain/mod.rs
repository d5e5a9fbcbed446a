//! The subcommands that talk to a chain: [`deploy`] (verifier, oracle, pool; its record in
//! [`deployment`]), [`attest`] and input [`commitment`] registration, [`submit`], [`read`] and
//! [`verify_evm`]; the service's relay to the oracle ([`OracleRelay`]). The conversions every one of them needs live here once: a field element as
//! an EVM word ([`word`]), a model id as `bytes32`, on-chain fixed point as floats.

mod attest;
mod deploy;
mod deployment;
mod relay;
mod submit;

pub(crate) use attest::{attest, commitment};
pub(crate) use deploy::deploy;
pub(crate) use relay::OracleRelay;
pub(crate) use submit::{read, submit, verify_evm};

use alloy::primitives::{B256, I256, U256};
use alloy::providers::Provider;
use anyhow::{bail, Context, Result};
use zkinfer_prover::encoding::ModelId;
use zkinfer_prover::fixed::Scale;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::ff::PrimeField;

use crate::chain::parse_address;
use crate::contracts::VerifiedInferenceOracle;

/// The chain id of a local development chain (anvil, hardhat).
const LOCAL_CHAIN_ID: u64 = 31337;

/// A field element as the EVM word the contracts take: the one conversion from the prover's
/// values to the chain's.
pub(crate) fn word(f: &Fr) -> U256 {
    U256::from_le_slice(f.to_repr().as_ref())
}

/// A model id as the `bytes32` the oracle keys models by.
pub(crate) fn bytes32(id: &ModelId) -> B256 {
    B256::from(*id.as_bytes())
}

/// On-chain fixed-point outputs (`int256` at `2^scale`) as floats (beyond `i128`, which no
/// model of this build produces, through their decimal text).
fn dequantize(outputs: &[I256], scale: u8) -> Vec<f64> {
    let scale = Scale(scale.into());
    outputs
        .iter()
        .map(|v| match i128::try_from(*v) {
            Ok(q) => scale.dequantize(q),
            Err(_) => v.to_string().parse::<f64>().unwrap_or(f64::NAN) / scale.multiplier(),
        })
        .collect()
}

/// The oracle at `--consumer`, after checking that a contract is there (a call to an account
/// without code "succeeds" with nothing to decode).
async fn oracle_at<'a>(
    chain_provider: &'a alloy::providers::DynProvider,
    consumer: &str,
) -> Result<
    VerifiedInferenceOracle::VerifiedInferenceOracleInstance<&'a alloy::providers::DynProvider>,
> {
    let addr = parse_address(consumer, "consumer")?;
    let code = chain_provider
        .get_code_at(addr)
        .await
        .with_context(|| format!("reading the code at {addr}"))?;
    if code.is_empty() {
        bail!("no contract at {addr} (--consumer): give the oracle's address from BUILD/deployment.json");
    }
    Ok(VerifiedInferenceOracle::new(addr, chain_provider))
}

/// What to do about an oracle refusal, named by its decoded reason.
fn hint(reason: &str) -> &'static str {
    const HINTS: [(&str, &str); 8] = [
        ("NoSubject", "; prove again with --subject ADDR (the account to credit)"),
        ("SubjectNotSender", "; without bound or attested inputs only the subject may submit: send with the subject's key"),
        ("InputNotCommitted", "; the subject registers its input commitment first: `zkinfer commitment BUILD --input INPUT.json --consumer ORACLE` with the subject's key"),
        ("NoAttestation", "; the data provider vouches for the input first: `zkinfer attest BUILD --input INPUT.json --subject ADDR` with the attester's key"),
        ("AttestationStale", "; ask the data provider for a fresh attestation"),
        ("ModelNotActive", "; the model's owner has not activated it yet (`zkinfer deploy` does, last)"),
        ("StatementAlreadyUsed", "; this statement (model, instances, attestation) was credited before: a new one needs new data or a new attestation"),
        ("NotAttester", "; only an account the oracle's owner granted the attester role may attest"),
    ];
    HINTS
        .iter()
        .find(|(name, _)| reason.starts_with(name))
        .map_or("", |(_, hint)| hint)
}

/// The model-specific verifier's calldata: each instance as a 32-byte word, then the proof.
pub(crate) fn raw_verifier_calldata(words: &[U256], proof: &[u8]) -> Vec<u8> {
    let mut data: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes::<32>()).collect();
    data.extend_from_slice(proof);
    data
}
