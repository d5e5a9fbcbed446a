//! Submitting a proof to the oracle (`submit`), reading what it stored (`read`), and asking a
//! deployed verifier for its verdict (`verify-evm`).

use alloy::primitives::{utils::format_ether, Address, Bytes, U256};
use alloy::providers::Provider;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use zkinfer_prover::artifacts::{Artifact, ProofArtifact};
use zkinfer_prover::encoding::ModelId;
use zkinfer_prover::pipeline;

use super::deployment::Deployment;
use super::{bytes32, dequantize, hint, oracle_at, raw_verifier_calldata, word};
use crate::chain::{self, connect, connect_read_only, describe, parse_address, tx_hex};
use crate::cli::*;
use crate::commands::Outcome;
use crate::contracts::RiskAdjustedLending;

pub(crate) async fn submit(a: &SubmitArgs) -> Result<Outcome> {
    crate::segmented::refuse_segmented_proof(&a.proof)?;
    let artifact = ProofArtifact::read(&a.proof)?;
    let (proof, instances) = pipeline::decode_proof(&artifact);
    let model_id = bytes32(&artifact.model_id);
    let consumer = match (&a.consumer, &a.deployment) {
        (Some(c), _) => c.clone(),
        (None, Some(file)) => Deployment::read(file)?.oracle()?.to_string(),
        (None, None) => bail!("give --consumer ORACLE or --deployment BUILD/deployment.json"),
    };
    let chain = connect(&a.chain).await?;
    let oracle = oracle_at(&chain.provider, &consumer).await?;
    let subject = instances
        .last()
        .and_then(zkinfer_prover::input::subject_address)
        .context("the proof's last instance (its subject) is not an address")?;
    let subject = parse_address(&subject, "subject")?;
    let words: Vec<U256> = instances.iter().map(word).collect();
    let call = oracle.submitInference(model_id, Bytes::from(proof), words);
    // Simulate first: a revert is reported with its decoded reason and nothing is sent.
    if let Err(e) = call.call().await {
        let reason = chain::call_refusal(&e);
        bail!(
            "the oracle rejects this proof: {reason}{} (the proof file is unchanged)",
            hint(&reason)
        );
    }
    let receipt = chain
        .send(call.into_transaction_request(), "submitting the proof")
        .await
        .map_err(|e| anyhow!("{e:#} (the proof file {} is unchanged)", a.proof.display()))?;
    let sender = chain.sender.expect("connected with a wallet");
    let stored = oracle
        .latestInference(model_id, subject)
        .call()
        .await
        .context("reading the stored inference")?;
    let outputs: Vec<String> = stored.outputs.iter().map(|v| v.to_string()).collect();
    let scale = stored.scale;
    let decoded = dequantize(&stored.outputs, scale);
    let json = json!({
        "tx_hash": tx_hex(receipt.transaction_hash),
        "gas_used": receipt.gas_used,
        "block": receipt.block_number,
        "subject": subject,
        "submitter": sender,
        "outputs_fixed": outputs,
        "scale": scale,
        "outputs": decoded,
    });
    let text = format!(
        "proof accepted in tx {} (gas used {})\n  on-chain output of {subject} {:?} (fixed-point {:?} / 2^{scale})",
        tx_hex(receipt.transaction_hash),
        receipt.gas_used,
        decoded,
        outputs
    );
    Ok(Outcome::ok(json, text))
}

pub(crate) async fn read(a: &ReadArgs) -> Result<Outcome> {
    let deployment = a.deployment.as_deref().map(Deployment::read).transpose()?;
    let file = || {
        deployment
            .as_ref()
            .context("give --consumer and --model-id, or --deployment BUILD/deployment.json")
    };
    let consumer = match &a.consumer {
        Some(c) => c.clone(),
        None => file()?.oracle()?.to_string(),
    };
    let model_id = match &a.model_id {
        Some(id) => id
            .parse::<ModelId>()
            .map_err(|e| anyhow!("invalid --model-id: {e}"))?,
        None => file()?.record.model_id,
    };
    let lending = a.lending.clone().or_else(|| {
        deployment
            .as_ref()
            .and_then(|d| d.record.lending.map(|l| l.to_string()))
    });
    let chain = connect_read_only(&a.rpc_url).await?;
    let subject: Address = parse_address(&a.subject, "subject")?;
    let model_id = bytes32(&model_id);
    let oracle = oracle_at(&chain.provider, &consumer).await?;
    let stored = oracle
        .latestInference(model_id, subject)
        .call()
        .await
        .map_err(|e| {
            let reason = e
                .as_revert_data()
                .and_then(|d| chain::decode_revert(&d))
                .unwrap_or_else(|| e.to_string());
            anyhow::anyhow!("reading the oracle: {reason}")
        })?;
    let decoded = dequantize(&stored.outputs, stored.scale);
    let mut json =
        json!({ "outputs": decoded, "scale": stored.scale, "block": stored.blockNumber });
    let mut text = format!("verified output {decoded:?} (block {})", stored.blockNumber);
    if let Some(lending) = &lending {
        let pool = RiskAdjustedLending::new(parse_address(lending, "lending")?, &chain.provider);
        let ltv = pool
            .ltvBps(subject)
            .call()
            .await
            .map_err(|e| anyhow::anyhow!("reading the pool: {}", describe(&e.to_string())))?;
        let limit = pool.creditLimit(subject).call().await?;
        let collateral = pool.collateral(subject).call().await?;
        json["ltv_bps"] = json!(ltv.to::<u64>());
        json["credit_limit_wei"] = json!(limit.to_string());
        json["collateral_wei"] = json!(collateral.to_string());
        text.push_str(&format!(
            "\n  lending pool: LTV {}.{:02}% → credit limit {} ETH on {} ETH collateral",
            ltv.to::<u64>() / 100,
            ltv.to::<u64>() % 100,
            format_ether(limit),
            format_ether(collateral)
        ));
    }
    Ok(Outcome::ok(json, text))
}

/// `verify-evm`: the deployed verifier's verdict on a proof file, by `eth_call`.
pub(crate) async fn verify_evm(a: &VerifyEvmArgs) -> Result<Outcome> {
    let artifact = ProofArtifact::read(&a.proof)?;
    let (proof, instances) = pipeline::decode_proof(&artifact);
    let words: Vec<U256> = instances.iter().map(word).collect();
    let (verifier, key) = match &a.deployment {
        Some(file) => {
            let d = Deployment::read(file)?;
            if d.record.model_id != artifact.model_id {
                bail!(
                    "the proof is for model {}, {} deployed model {}",
                    artifact.model_id,
                    d.path().display(),
                    d.record.model_id
                );
            }
            (
                d.record.verifier.to_string(),
                d.record.key.map(|k| k.to_string()),
            )
        }
        None => (
            a.verifier
                .clone()
                .context("give --verifier or --deployment")?,
            a.key.clone(),
        ),
    };
    let chain = connect_read_only(&a.rpc_url).await?;
    let verifier = parse_address(&verifier, "verifier")?;
    if chain.provider.get_code_at(verifier).await?.is_empty() {
        bail!("no contract at the verifier address {verifier}");
    }
    let verdict: std::result::Result<(), String> = match &key {
        Some(key) => {
            let key = parse_address(key, "key")?;
            let v = crate::contracts::ReusableHalo2Verifier::new(verifier, &chain.provider);
            match v.verifyProof(key, Bytes::from(proof), words).call().await {
                Ok(true) => Ok(()),
                Ok(false) => Err("the verifier answered false".into()),
                Err(e) => Err(chain::call_refusal(&e)),
            }
        }
        None => {
            let data = raw_verifier_calldata(&words, &proof);
            let tx = alloy::rpc::types::TransactionRequest::default()
                .to(verifier)
                .input(Bytes::from(data).into());
            match chain.provider.call(tx).await {
                Ok(out) if out.as_ref() == U256::from(1u64).to_be_bytes::<32>() => Ok(()),
                Ok(out) => Err(format!("the verifier answered 0x{}", hex::encode(&out))),
                Err(_) => Err(
                    "the verifier reverted (the model-specific verifier gives no reason)".into(),
                ),
            }
        }
    };
    let valid = verdict.is_ok();
    let reason = verdict.err();
    Ok(Outcome {
        json: json!({ "valid": valid, "reason": reason, "verifier": verifier, "key": key }),
        text: match &reason {
            None => format!("proof valid on chain (verifier {verifier})"),
            Some(r) => format!("proof INVALID on chain: {r}"),
        },
        exit_code: if valid { 0 } else { 1 },
    })
}
