//! Input attestations (`attest`) and input commitments (`commitment`, registered with the oracle
//! by the subject), for a single circuit or a segmented model (whose proofs carry the aggregated
//! statement under the model's own id).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;
use zkinfer_prover::artifacts::{Artifact, BuildDir, Settings};
use zkinfer_prover::commitment::Visibility;
use zkinfer_prover::encoding::ModelId;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline;
use zkinfer_prover::privacy::Privacy;
use zkinfer_segments::{SegmentedDir, SegmentedSettings};

use super::{bytes32, hint, oracle_at, word};
use crate::chain::{self, connect, parse_address, tx_hex};
use crate::cli::*;
use crate::commands::Outcome;

/// What `commitment` and `attest` read of a build: its model id and privacy, and the statement
/// a proof of an input would carry.
struct ModelBuild {
    dir: PathBuf,
    segmented: bool,
    model_id: ModelId,
    privacy: Privacy,
}

impl ModelBuild {
    /// Opens a single circuit's build or a segmented model's (refusing one segment's alone).
    fn open(build_dir: &Path, command: &str) -> Result<Self> {
        let segmented = crate::segmented::is_model_build(build_dir, command)?;
        let (model_id, privacy) = if segmented {
            let s = SegmentedSettings::read(&SegmentedDir::new(build_dir).settings())?;
            (s.model_id, s.privacy)
        } else {
            let s = Settings::read(&BuildDir::new(build_dir).settings())?;
            (s.model_id, s.privacy)
        };
        Ok(ModelBuild {
            dir: build_dir.to_path_buf(),
            segmented,
            model_id,
            privacy,
        })
    }

    /// The public instances a proof of `input` would carry, computed without proving, and how
    /// many leading ones are input words (packed inputs, or the input commitment).
    fn statement(&self, input: &InputData) -> Result<(Vec<Fr>, usize)> {
        if self.segmented {
            let s = zkinfer_segments::statement(&SegmentedDir::new(&self.dir), input)?;
            return Ok((s.words, s.input_words));
        }
        let dir = BuildDir::new(&self.dir);
        let input_words = Settings::read(&dir.settings())?.num_public_inputs();
        Ok((pipeline::statement(&dir, input)?, input_words))
    }
}

pub(crate) async fn commitment(a: &CommitmentArgs) -> Result<Outcome> {
    let build = ModelBuild::open(&a.build_dir, "commitment")?;
    let (hashed_inputs, hashed_outputs) = (
        build.privacy.inputs == Visibility::Hashed,
        build.privacy.outputs == Visibility::Hashed,
    );
    if !hashed_inputs && !hashed_outputs {
        bail!("neither inputs nor outputs are hashed in this build (compile with --input-visibility hashed or --output-visibility hashed)");
    }
    let input = InputData::read(&a.input)?;
    let (words, input_words) = build.statement(&input)?;
    // The input commitment is the first instance; the output commitment follows the input words.
    let input_commitment = hashed_inputs.then(|| words.first().copied()).flatten();
    let output_commitment = hashed_outputs
        .then(|| words.get(input_words).copied())
        .flatten();
    let hex = |f: Option<Fr>| f.map(|f| zkinfer_prover::fixed::field_to_hex(&f));
    let (inputs, outputs) = (hex(input_commitment), hex(output_commitment));
    let mut text = [
        ("input commitment ", &inputs),
        ("output commitment", &outputs),
    ]
    .iter()
    .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label} {v}")))
    .collect::<Vec<_>>()
    .join("\n");
    let mut out = json!({ "inputs": inputs, "outputs": outputs });
    if let (Some(consumer), Some(rpc_url)) = (&a.consumer, &a.rpc_url) {
        let Some(value) = input_commitment else {
            bail!("only input commitments are registered with the oracle, and this build's inputs are not hashed");
        };
        let model_id = bytes32(&build.model_id);
        let chain = connect(&ChainArgs {
            rpc_url: rpc_url.clone(),
            private_key: a.private_key.clone(),
            keystore: None,
            password_file: None,
            receipt_timeout: DEFAULT_RECEIPT_TIMEOUT_S,
        })
        .await?;
        // The commitment is registered for the sending account: the one a proof must name.
        if let (Some(file), Some(sender)) = (&input.subject, chain.sender) {
            if parse_address(file, "subject")? != sender {
                bail!("the input file's subject {file} is not the sending account {sender}: a commitment is registered for the account that sends it (use the subject's --private-key)");
            }
        }
        let oracle = oracle_at(&chain.provider, consumer).await?;
        let receipt = chain
            .send(
                oracle
                    .commitInput(model_id, word(&value))
                    .into_transaction_request(),
                "registering the input commitment",
            )
            .await?;
        out["tx"] = json!(tx_hex(receipt.transaction_hash));
        out["gas_used"] = json!(receipt.gas_used);
        text.push_str(&format!(
            "\nregistered with {consumer} in tx {} (gas used {})",
            tx_hex(receipt.transaction_hash),
            receipt.gas_used
        ));
    }
    Ok(Outcome::ok(out, text))
}

pub(crate) async fn attest(a: &AttestArgs) -> Result<Outcome> {
    let build = ModelBuild::open(&a.build_dir, "attest")?;
    let subject = parse_address(&a.subject, "subject")?;
    if build.privacy.inputs == Visibility::Private {
        bail!("this build's inputs are private: a proof carries no input to attest (compile with --input-visibility public or hashed)");
    }
    let input = InputData::read(&a.input)?;
    if let Some(file) = &input.subject {
        if parse_address(file, "subject")? != subject {
            bail!("--subject {subject} differs from the input file's subject {file}");
        }
    }
    // The input words a proof of this input carries: packed inputs, or the input commitment.
    let (statement, inputs) = build.statement(&input)?;
    let packed: Vec<u8> = statement
        .get(..inputs)
        .context("the statement is shorter than its input words")?
        .iter()
        .flat_map(|f| word(f).to_be_bytes::<32>())
        .collect();
    let input_hash = alloy::primitives::keccak256(&packed);
    let model_id = bytes32(&build.model_id);
    let chain = connect(&a.chain).await?;
    let oracle = oracle_at(&chain.provider, &a.consumer).await?;
    let call = oracle.attest(model_id, subject, input_hash);
    if let Err(e) = call.call().await {
        let reason = chain::call_refusal(&e);
        bail!(
            "the oracle refuses the attestation: {reason}{}",
            hint(&reason)
        );
    }
    if oracle.attestationMaxAge(model_id).call().await? == 0 {
        tracing::warn!("model {model_id} does not require attested inputs: this attestation changes nothing for it");
    }
    let receipt = chain
        .send(call.into_transaction_request(), "attesting the input")
        .await?;
    // The public mapping's getter returns the `Attestation` struct's fields in order:
    // (inputHash, attester, blockNumber, id, epoch).
    let stored = oracle
        .attestations(model_id, subject)
        .call()
        .await
        .context("reading the attestation back")?;
    let (block, id) = (stored._2, stored._3);
    let json = json!({
        "tx_hash": tx_hex(receipt.transaction_hash),
        "gas_used": receipt.gas_used,
        "subject": subject,
        "input_hash": input_hash,
        "attestation_id": id,
        "block": block,
    });
    let text = format!(
        "attested input {input_hash} for {subject} (attestation {} in block {}, tx {}, gas used {})",
        id,
        block,
        tx_hex(receipt.transaction_hash),
        receipt.gas_used
    );
    Ok(Outcome::ok(json, text))
}
