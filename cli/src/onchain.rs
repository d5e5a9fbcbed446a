//! The subcommands that talk to a chain: deploy, attest, commitment registration, submit, read.

use alloy::primitives::{utils::format_ether, Address, Bytes, B256, U256};
use alloy::providers::Provider;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use zkinfer_codegen::{reusable_for_build, verifier_for_build, Solc};
use zkinfer_prover::artifacts::{Artifact, BuildDir, ProofArtifact, Settings};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline;

use crate::chain::{self, connect, connect_read_only, describe, parse_address, tx_hex};
use crate::cli::*;
use crate::commands::Outcome;
use crate::contracts::{compile_consumers, RiskAdjustedLending, VerifiedInferenceOracle};

pub(crate) async fn commitment(a: &CommitmentArgs) -> Result<Outcome> {
    let dir = BuildDir::new(&a.build_dir);
    let input = InputData::read(&a.input)?;
    let c = pipeline::commitments(&dir, &input)?;
    let hex = |f: Option<zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr>| {
        f.map(|f| zkinfer_prover::fixed::field_to_hex(&f))
    };
    let (inputs, outputs) = (hex(c.inputs), hex(c.outputs));
    if inputs.is_none() && outputs.is_none() {
        bail!("neither inputs nor outputs are hashed in this build (compile with --input-visibility hashed or --output-visibility hashed)");
    }
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
        let Some(value) = c.inputs else {
            bail!("only input commitments are registered with the oracle, and this build's inputs are not hashed");
        };
        let settings = Settings::read(&dir.settings())?;
        let model_id: B256 = settings
            .model_id
            .parse()
            .context("model id in settings.json")?;
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

/// A field element as the EVM word the contracts take.
pub(crate) fn word(f: &Fr) -> U256 {
    U256::from_le_slice(f.to_repr().as_ref())
}

/// The attesters of `deploy --attester`, checked against the build before anything is sent: an
/// attestation vouches for the proof's public input words, so it means something only when they
/// fix the outputs.
fn attesters_for(a: &DeployArgs, settings: &Settings) -> Result<Vec<Address>> {
    use zkinfer_prover::commitment::Visibility;
    let attesters = a
        .attester
        .iter()
        .map(|s| parse_address(s, "attester"))
        .collect::<Result<Vec<_>>>()?;
    if attesters.is_empty() {
        return Ok(attesters);
    }
    if a.attestation_max_age == 0 {
        bail!("--attestation-max-age must be at least 1 block");
    }
    match (settings.privacy.inputs, settings.privacy.outputs) {
        (Visibility::Private, _) => bail!(
            "--attester: this build's inputs are private, so a proof carries nothing an attester could vouch for (compile with --input-visibility public or hashed)"
        ),
        (Visibility::Public, Visibility::Hashed) => bail!(
            "--attester: with public inputs and hashed outputs the output commitment's salt is not fixed by the attested inputs (anyone could re-prove them with another salt); hash the inputs too (--input-visibility hashed)"
        ),
        _ => Ok(attesters),
    }
}

/// The chain id of a local development chain (anvil, hardhat).
const LOCAL_CHAIN_ID: u64 = 31337;

pub(crate) async fn attest(a: &AttestArgs) -> Result<Outcome> {
    let dir = BuildDir::new(&a.build_dir);
    let settings = Settings::read(&dir.settings())?;
    let subject = parse_address(&a.subject, "subject")?;
    let inputs = settings.num_public_inputs();
    if inputs == 0 {
        bail!("this build's inputs are private: a proof carries no input to attest (compile with --input-visibility public or hashed)");
    }
    let input = InputData::read(&a.input)?;
    if let Some(file) = &input.subject {
        if parse_address(file, "subject")? != subject {
            bail!("--subject {subject} differs from the input file's subject {file}");
        }
    }
    // The input words a proof of this input carries: packed inputs, or the input commitment.
    let statement = pipeline::statement(&dir, &input)?;
    let packed: Vec<u8> = statement[..inputs]
        .iter()
        .flat_map(|f| word(f).to_be_bytes::<32>())
        .collect();
    let input_hash = alloy::primitives::keccak256(&packed);
    let model_id: B256 = settings
        .model_id
        .parse()
        .context("model id in settings.json")?;
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
    let stored = oracle
        .attestations(model_id, subject)
        .call()
        .await
        .context("reading the attestation back")?;
    let json = json!({
        "tx_hash": tx_hex(receipt.transaction_hash),
        "gas_used": receipt.gas_used,
        "subject": subject,
        "input_hash": input_hash,
        "attestation_id": stored.id,
        "block": stored.blockNumber,
    });
    let text = format!(
        "attested input {input_hash} for {subject} (attestation {} in block {}, tx {}, gas used {})",
        stored.id,
        stored.blockNumber,
        tx_hex(receipt.transaction_hash),
        receipt.gas_used
    );
    Ok(Outcome::ok(json, text))
}

pub(crate) async fn deploy(a: &DeployArgs) -> Result<Outcome> {
    if a.verifier.kind == VerifierChoice::SnarkVerifier && a.reusable_verifier.is_some() {
        bail!(
            "--reusable-verifier names a shared Halo2Verifier; it does not go with --verifier snark-verifier"
        );
    }
    let dir = BuildDir::new(&a.build_dir);
    // Everything that can be refused is refused before the first transaction.
    dir.require_keys()?;
    let settings = Settings::read(&dir.settings())?;
    let attesters = attesters_for(a, &settings)?;
    let chain = connect(&a.chain).await?;
    let solc = Solc::new(&a.solc.solc);
    let consumers = compile_consumers(&solc)?;
    let model_id: B256 = settings
        .model_id
        .parse()
        .context("model id in settings.json")?;
    // Keys anyone can forge proofs for stay on local chains unless the user insists.
    let dev_srs = zkinfer_codegen::dev_srs_keys(&dir)?;
    if dev_srs && chain.chain_id != LOCAL_CHAIN_ID && !a.allow_dev_srs {
        bail!(
            "the keys in {} were made with --dev-srs: anyone can forge proofs for them. Refusing to deploy on chain {} (only a local chain, id {LOCAL_CHAIN_ID}, takes them without --allow-dev-srs); run `zkinfer setup --srs <ceremony file>`",
            a.build_dir.display(),
            chain.chain_id
        );
    }
    if dev_srs {
        tracing::warn!(
            "deploying INSECURE development-SRS keys on chain {}",
            chain.chain_id
        );
    }
    let scale = settings.quantization.scale.0;
    let scale = u8::try_from(scale)
        .ok()
        .filter(|s| *s < 128)
        .with_context(|| format!("scale 2^{scale} is too large for the oracle (below 2^128)"))?;
    let (num_inputs, num_outputs) = (
        u32::try_from(settings.num_public_inputs()).context("input instance count")?,
        u32::try_from(settings.num_public_outputs()).context("output instance count")?,
    );

    // The verifier: model-specific, or the shared one (deployed here or reused) plus the key.
    let (verifier_addr, verifier_gas, runtime_bytes, key, proof_len) = match a.verifier.kind {
        VerifierChoice::SnarkVerifier => {
            let verifier = verifier_for_build(&dir, &solc)?;
            let (addr, receipt) = chain
                .deploy(
                    verifier.compiled.bytecode.clone(),
                    U256::ZERO,
                    "the verifier",
                )
                .await?;
            let size = verifier.compiled.deployed_bytecode.len();
            let proof_len = verifier.proof_len.context("the verifier's proof length")?;
            (addr, receipt.gas_used, size, None, proof_len)
        }
        VerifierChoice::Reusable => {
            let reusable = reusable_for_build(&dir, &solc)?;
            let (addr, gas) = match &a.reusable_verifier {
                Some(existing) => {
                    let addr = parse_address(existing, "reusable verifier")?;
                    let code = chain.provider.get_code_at(addr).await?;
                    if code.is_empty() {
                        bail!("no contract at the reusable verifier address {addr}");
                    }
                    (addr, 0)
                }
                None => {
                    let code = reusable.verifier.compiled.bytecode.clone();
                    let (addr, receipt) = chain
                        .deploy(code, U256::ZERO, "the reusable verifier")
                        .await?;
                    (addr, receipt.gas_used)
                }
            };
            let (key_addr, receipt) = chain
                .deploy(
                    reusable.key.compiled.bytecode.clone(),
                    U256::ZERO,
                    "the verifying key",
                )
                .await?;
            let size = reusable.verifier.compiled.deployed_bytecode.len();
            (
                addr,
                gas,
                size,
                Some((key_addr, receipt.gas_used, reusable.key_code.len())),
                reusable.plan.proof_len(),
            )
        }
    };
    // The record and report of what is deployed so far: the verifier (and key).
    let mut deployment = json!({
        "version": DEPLOYMENT_VERSION,
        "chain_id": chain.chain_id,
        "model_id": settings.model_id,
        "verifier": verifier_addr,
        "verifier_runtime_bytes": runtime_bytes,
        "proof_bytes": proof_len,
        "dev_srs": dev_srs,
        "gas": { "verifier": verifier_gas },
    });
    let mut text = format!(
        "deployed on chain {}{}\n  verifier {verifier_addr} ({runtime_bytes} B runtime, {verifier_gas} gas)",
        chain.chain_id,
        if a.verifier_only { " (verifier only)" } else { "" }
    );
    if let Some((key_addr, key_gas, key_bytes)) = key {
        deployment["key"] = json!(key_addr);
        deployment["key_bytes"] = json!(key_bytes);
        deployment["gas"]["key"] = json!(key_gas);
        text.push_str(&format!(
            "\n  key      {key_addr} ({key_bytes} B, {key_gas} gas)"
        ));
    }
    if a.verifier_only {
        write_deployment(&dir, &deployment)?;
        return Ok(Outcome::ok(deployment, text));
    }
    let (oracle_addr, r2) = chain
        .deploy(consumers.oracle.bytecode.clone(), U256::ZERO, "the oracle")
        .await?;
    let oracle = VerifiedInferenceOracle::new(oracle_addr, &chain.provider);
    let proof_len = u32::try_from(proof_len).context("proof length")?;
    let request = match key {
        Some((key_addr, ..)) => oracle
            .registerModelWithKey(
                model_id,
                verifier_addr,
                key_addr,
                num_inputs,
                num_outputs,
                scale,
                proof_len,
            )
            .into_transaction_request(),
        None => oracle
            .registerModel(
                model_id,
                verifier_addr,
                num_inputs,
                num_outputs,
                scale,
                proof_len,
            )
            .into_transaction_request(),
    };
    let r3 = chain.send(request, "registering the model").await?;
    // A model with hashed parameters is trusted as the committed one only.
    if let Some(c) = &settings.param_commitment {
        let word =
            U256::from_str_radix(c.trim_start_matches("0x"), 16).context("param commitment")?;
        let pin = oracle
            .requireParamCommitment(model_id, word)
            .into_transaction_request();
        chain.send(pin, "pinning the parameter commitment").await?;
    }
    // A hashed-input model accepts only proofs about the subject's committed data.
    if settings.privacy.inputs == zkinfer_prover::commitment::Visibility::Hashed {
        let bind = oracle
            .requireInputCommitment(model_id)
            .into_transaction_request();
        chain.send(bind, "binding inputs to commitments").await?;
    }
    // Attested inputs: only data a granted provider vouched for, no older than the limit.
    for addr in &attesters {
        let grant = oracle.grantAttester(*addr).into_transaction_request();
        chain
            .send(grant, &format!("granting attester {addr}"))
            .await?;
    }
    if !attesters.is_empty() {
        let require = oracle
            .requireAttestation(model_id, a.attestation_max_age)
            .into_transaction_request();
        chain.send(require, "requiring attested inputs").await?;
    }
    // Live only now, with its policy fixed: no output can exist under a weaker one.
    let activate = oracle.activateModel(model_id).into_transaction_request();
    chain.send(activate, "activating the model").await?;
    let mut code = consumers.lending.bytecode.clone();
    code.extend(alloy::sol_types::SolConstructor::abi_encode(
        &RiskAdjustedLending::constructorCall {
            oracle_: oracle_addr,
            modelId_: model_id,
            maxScoreAge_: a.max_score_age,
        },
    ));
    let fund = U256::from(a.fund_eth) * U256::from(10u64).pow(U256::from(18));
    let (lending_addr, r4) = chain.deploy(code, fund, "the lending pool").await?;
    deployment["oracle"] = json!(oracle_addr);
    deployment["lending"] = json!(lending_addr);
    deployment["attesters"] = json!(attesters);
    deployment["attestation_max_age"] =
        json!((!attesters.is_empty()).then_some(a.attestation_max_age));
    deployment["gas"]["oracle"] = json!(r2.gas_used);
    deployment["gas"]["register"] = json!(r3.gas_used);
    deployment["gas"]["lending"] = json!(r4.gas_used);
    write_deployment(&dir, &deployment)?;
    text.push_str(&format!(
        "\n  oracle   {oracle_addr} (model {} registered)\n  lending  {lending_addr} (funded with {} ETH)",
        settings.model_id, a.fund_eth
    ));
    for addr in &attesters {
        text.push_str(&format!(
            "\n  attester {addr} (attestations valid for {} blocks)",
            a.attestation_max_age
        ));
    }
    Ok(Outcome::ok(deployment, text))
}

pub(crate) async fn submit(a: &SubmitArgs) -> Result<Outcome> {
    let artifact = ProofArtifact::read(&a.proof)?;
    let (proof, instances) = pipeline::decode_proof(&artifact)?;
    let model_id: B256 = artifact
        .model_id
        .parse()
        .context("model id in the proof file")?;
    let consumer = match (&a.consumer, &a.deployment) {
        (Some(c), _) => c.clone(),
        (None, Some(file)) => Deployment::read(file)?.require("oracle")?,
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
    let decoded: Vec<f64> = stored
        .outputs
        .iter()
        .map(|v| v.to_string().parse::<f64>().unwrap_or(f64::NAN) / f64::from(scale).exp2())
        .collect();
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
    let from_file = |what: &str| -> Result<String> {
        deployment
            .as_ref()
            .context("give --consumer and --model-id, or --deployment BUILD/deployment.json")?
            .require(what)
    };
    let consumer = a.consumer.clone().map_or_else(|| from_file("oracle"), Ok)?;
    let model_id = a
        .model_id
        .clone()
        .map_or_else(|| from_file("model_id"), Ok)?;
    let lending = a
        .lending
        .clone()
        .or_else(|| deployment.as_ref().and_then(|d| d.get("lending")));
    let chain = connect_read_only(&a.rpc_url).await?;
    let subject: Address = parse_address(&a.subject, "subject")?;
    let model_id: B256 = model_id.parse().context("invalid model id")?;
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
    let decoded: Vec<f64> = stored
        .outputs
        .iter()
        .map(|v| v.to_string().parse::<f64>().unwrap_or(f64::NAN) / f64::from(stored.scale).exp2())
        .collect();
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

/// Version of the `deployment.json` records `deploy` writes.
const DEPLOYMENT_VERSION: u32 = 1;

/// Writes `BUILD/deployment.json`.
fn write_deployment(dir: &BuildDir, deployment: &serde_json::Value) -> Result<()> {
    let path = dir.root().join("deployment.json");
    std::fs::write(&path, serde_json::to_string_pretty(deployment)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// A `deployment.json` that `deploy` wrote, read for its addresses.
struct Deployment {
    path: std::path::PathBuf,
    value: serde_json::Value,
}

impl Deployment {
    fn read(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the deployment record {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(1);
        if version != u64::from(DEPLOYMENT_VERSION) {
            bail!(
                "{}: deployment record version {version}, this zkinfer reads {DEPLOYMENT_VERSION}",
                path.display()
            );
        }
        Ok(Deployment {
            path: path.to_path_buf(),
            value,
        })
    }

    /// A string field, when present.
    fn get(&self, field: &str) -> Option<String> {
        self.value
            .get(field)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }

    /// A string field that must be there.
    fn require(&self, field: &str) -> Result<String> {
        self.get(field).with_context(|| {
            format!(
                "{} has no {field:?} (deployed with --verifier-only?)",
                self.path.display()
            )
        })
    }
}

/// `verify-evm`: the deployed verifier's verdict on a proof file, by `eth_call`.
pub(crate) async fn verify_evm(a: &VerifyEvmArgs) -> Result<Outcome> {
    let artifact = ProofArtifact::read(&a.proof)?;
    let (proof, instances) = pipeline::decode_proof(&artifact)?;
    let words: Vec<U256> = instances.iter().map(word).collect();
    let (verifier, key) = match &a.deployment {
        Some(file) => {
            let d = Deployment::read(file)?;
            if let Some(id) = d.get("model_id") {
                if id != artifact.model_id {
                    bail!(
                        "the proof is for model {}, {} deployed model {id}",
                        artifact.model_id,
                        file.display()
                    );
                }
            }
            (d.require("verifier")?, d.get("key"))
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
            let v = crate::contracts::Halo2Verifier::new(verifier, &chain.provider);
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

/// The model-specific verifier's calldata: each instance as a 32-byte word, then the proof.
pub(crate) fn raw_verifier_calldata(words: &[U256], proof: &[u8]) -> Vec<u8> {
    let mut data: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes::<32>()).collect();
    data.extend_from_slice(proof);
    data
}
