//! One function per subcommand. Each returns what to print: text, or JSON with `--json`.

use std::path::Path;
use std::time::Instant;

use alloy::primitives::{utils::format_ether, Address, Bytes, B256, U256};
use alloy::providers::Provider;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use zkinfer_codegen::{reusable_for_build, verifier_for_build, Solc};
use zkinfer_prover::artifacts::{check_output_file, Artifact, BuildDir, ProofArtifact, Settings};
use zkinfer_prover::fixed::Scale;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, SrsChoice};
use zkinfer_prover::quantize::QuantizationConfig;

use crate::chain::{self, connect, connect_read_only, describe, parse_address, tx_hex};
use crate::cli::*;
use crate::contracts::{compile_consumers, RiskAdjustedLending, VerifiedInferenceOracle};
use crate::progress::with_spinner;
use zkinfer_prover::resources::{parse_size, MemoryLimit};

/// What a command prints and its exit code.
pub(crate) struct Outcome {
    pub(crate) json: Value,
    pub(crate) text: String,
    pub(crate) exit_code: i32,
}

impl Outcome {
    fn ok(json: Value, text: impl Into<String>) -> Self {
        Outcome {
            json,
            text: text.into(),
            exit_code: 0,
        }
    }
}

/// Runs the parsed command.
pub(crate) fn dispatch(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Compile(a) => compile(&a),
        Command::Setup(a) => setup(&a),
        Command::Prove(a) => prove(&a),
        Command::Verify(a) => verify(&a),
        Command::Codegen(a) => codegen(&a),
        Command::Deploy(a) => runtime()?.block_on(deploy(&a)),
        Command::Submit(a) => runtime()?.block_on(submit(&a)),
        Command::Read(a) => runtime()?.block_on(read(&a)),
        Command::Run(a) => run(&a),
        Command::Commitment(a) => runtime()?.block_on(commitment(&a)),
        Command::Attest(a) => runtime()?.block_on(attest(&a)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn quant_config(q: &QuantArgs) -> QuantizationConfig {
    // accuracy: activations 2^13, weights 2^13, function tables of 2^14 entries;
    // resources: 2^10, 2^10 and 2^11.
    let (scale, table_bits) = match q.target {
        Target::Accuracy => (13, 14),
        Target::Resources => (10, 11),
    };
    let scale = q.scale.unwrap_or(scale);
    QuantizationConfig {
        scale: Scale(scale),
        weight_scale: Scale(q.weight_scale.unwrap_or(scale)),
        margin_bits: q.margin_bits,
        table_bits: q.table_bits.unwrap_or(table_bits),
    }
}

fn compile_step(
    model: &Path,
    calibration: &Path,
    out: &Path,
    quant: &QuantArgs,
    force: bool,
) -> Result<Settings> {
    let calibration = InputData::read(calibration)?;
    // The accuracy target searches finer scales unless the user fixed them.
    let search_scales = matches!(quant.target, Target::Accuracy)
        && quant.scale.is_none()
        && quant.weight_scale.is_none();
    let options = pipeline::CircuitOptions {
        max_advice_columns: quant.max_columns,
        search_scales,
        privacy: zkinfer_prover::commitment::Privacy {
            inputs: quant.input_visibility.into(),
            outputs: quant.output_visibility.into(),
            params: quant.param_visibility.into(),
        },
        param_salt: match &quant.param_salt {
            Some(s) => Some(
                zkinfer_prover::fixed::field_from_hex(s)
                    .with_context(|| format!("--param-salt {s} is not a field element (0x hex)"))?,
            ),
            None => None,
        },
        memory_limit: match &quant.max_memory {
            Some(text) => Some(MemoryLimit::given(parse_size(text).with_context(|| {
                format!("--max-memory {text:?} is not a size (e.g. 8GiB, 512MiB)")
            })?)),
            None => MemoryLimit::available(),
        },
        force,
    };
    let settings = pipeline::compile_with(
        model,
        &calibration,
        quant_config(quant),
        options,
        &BuildDir::new(out),
    )?;
    Ok(settings)
}

async fn commitment(a: &CommitmentArgs) -> Result<Outcome> {
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
    if input.salt.is_none() {
        tracing::warn!(
            "no salt in the input file: the commitment of low-entropy data can be guessed"
        );
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
            receipt_timeout: DEFAULT_RECEIPT_TIMEOUT_S,
        })
        .await?;
        let oracle =
            VerifiedInferenceOracle::new(parse_address(consumer, "consumer")?, &chain.provider);
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
fn word(f: &Fr) -> U256 {
    U256::from_le_slice(f.to_repr().as_ref())
}

/// Parses a subject address as the prover does (`0x` + 40 hex digits).
fn parse_subject(text: &str) -> Result<Fr> {
    Ok(zkinfer_prover::input::parse_subject(text)?)
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

async fn attest(a: &AttestArgs) -> Result<Outcome> {
    let dir = BuildDir::new(&a.build_dir);
    let settings = Settings::read(&dir.settings())?;
    let subject = parse_address(&a.subject, "subject")?;
    let inputs = settings.num_public_inputs();
    if inputs == 0 {
        bail!("this build's inputs are private: a proof carries no input to attest (compile with --input-visibility public or hashed)");
    }
    let input = InputData::read(&a.input)?;
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
    let oracle =
        VerifiedInferenceOracle::new(parse_address(&a.consumer, "consumer")?, &chain.provider);
    let call = oracle.attest(model_id, subject, input_hash);
    if let Err(e) = call.call().await {
        let reason = e
            .as_revert_data()
            .and_then(|d| chain::decode_revert(&d))
            .unwrap_or_else(|| describe(&e.to_string()));
        bail!("the oracle refuses the attestation: {reason}");
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

fn settings_json(s: &Settings) -> Value {
    json!({
        "model_id": s.model_id,
        "k": s.circuit.k,
        "advice_columns": s.circuit.base.num_advice_per_phase.first(),
        "lookup_bits": s.circuit.lookup_bits(),
        "fused_lookup": s.circuit.fused.is_some(),
        "advice_cells": s.circuit.advice_cells,
        "lookup_cells": s.circuit.lookup_cells,
        "fixed_cells": s.circuit.fixed_cells,
        "instances": s.circuit.num_instances,
        "privacy": s.privacy,
        "param_commitment": s.param_commitment,
        "scale": s.quantization.scale.0,
        "calibration_samples": s.calibration_samples,
        "lookup_columns": s.circuit.lookup_columns,
        "function_table_rows": s.circuit.table_rows,
        "dot_width": s.circuit.dot.map(|d| d.width),
        "dot_rows": s.circuit.dot_rows,
        "estimated_proving_bytes": s.resources.map(|r| r.proving_bytes),
        "nodes": s.nodes,
        "layers": s.circuit.node_costs,
    })
}

fn compile(a: &CompileArgs) -> Result<Outcome> {
    let s = compile_step(&a.model, &a.calibration, &a.out, &a.quant, a.force)?;
    let mut text = format!(
        "compiled {} → {}\n  model id {}\n  k = {} ({} advice columns, {}-bit range table, {}, {} function table rows)\n  {} advice cells, {} range-checked cells, {} public values\n",
        a.model.display(),
        a.out.display(),
        s.model_id,
        s.circuit.k,
        s.circuit.base.num_advice_per_phase[0],
        s.circuit.lookup_bits(),
        match s.circuit.fused {
            Some(_) => "range checks, constants and functions in one lookup".to_string(),
            None => format!("{} lookup column triples", s.circuit.lookup_columns),
        },
        s.circuit.table_rows,
        s.circuit.advice_cells,
        s.circuit.lookup_cells,
        s.circuit.num_instances
    );
    if let Some(d) = s.circuit.dot {
        text.push_str(&format!(
            "  dense layers in a dot-product region: {} rows of 1 input and {} running sums, weights in fixed columns\n",
            s.circuit.dot_rows, d.width
        ));
    }
    if let Some(r) = s.resources {
        text.push_str(&format!(
            "  setup and proving need about {} MiB ({} columns of 2^{} rows)\n",
            r.proving_bytes >> 20,
            r.columns,
            r.k
        ));
    }
    let p = s.privacy;
    text.push_str(&format!(
        "  visibility: inputs {:?}, outputs {:?}, parameters {:?}\n",
        p.inputs, p.outputs, p.params
    ));
    if let Some(c) = &s.param_commitment {
        text.push_str(&format!(
            "  parameter commitment {c} (publish it; consumers pin it)\n"
        ));
    }
    text.push_str(&format!(
        "\n  {:<32} {:<20} {:>12} {:>10} {:>12} {:>8}\n",
        "layer", "op", "advice cells", "dot rows", "lookups", "share"
    ));
    // Shares of all advice cells: the gate column's and the dot-product region's.
    let row_cells = s.circuit.dot.map_or(0, |d| d.width + 1);
    let cells = |advice: usize, dot_rows: usize| advice + dot_rows * row_cells;
    let total = cells(s.circuit.advice_cells, s.circuit.dot_rows).max(1) as f64;
    for c in &s.circuit.node_costs {
        text.push_str(&format!(
            "  {:<32} {:<20} {:>12} {:>10} {:>12} {:>7.1}%\n",
            truncate(&c.name, 32),
            truncate(&c.op_type, 20),
            c.advice_cells,
            c.dot_rows,
            c.lookup_cells,
            100.0 * cells(c.advice_cells, c.dot_rows) as f64 / total
        ));
    }
    Ok(Outcome::ok(settings_json(&s), text.trim_end()))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn srs_choice(a: &SetupArgs) -> Result<SrsChoice> {
    match (&a.srs, a.dev_srs) {
        (Some(path), _) => Ok(SrsChoice::File(path.clone())),
        (None, true) => Ok(SrsChoice::Dev),
        (None, false) => bail!(
            "choose an SRS: --srs FILE (a ceremony file) or --dev-srs (insecure, testing only)"
        ),
    }
}

fn setup_step(dir: &BuildDir, choice: &SrsChoice) -> Result<f64> {
    if matches!(choice, SrsChoice::Dev) {
        eprintln!("WARNING: --dev-srs uses an SRS from a public seed. Its proofs can be forged by anyone. Testing only.");
    }
    let (info, secs) = with_spinner("generating keys", || pipeline::setup(dir, choice));
    info?;
    Ok(secs)
}

fn setup(a: &SetupArgs) -> Result<Outcome> {
    let dir = BuildDir::new(&a.build_dir);
    let choice = srs_choice(a)?;
    let secs = setup_step(&dir, &choice)?;
    let pk = std::fs::metadata(dir.pk()).map(|m| m.len()).unwrap_or(0);
    let vk = std::fs::metadata(dir.vk()).map(|m| m.len()).unwrap_or(0);
    Ok(Outcome::ok(
        json!({ "setup_seconds": secs, "pk_bytes": pk, "vk_bytes": vk, "dev_srs": matches!(choice, SrsChoice::Dev) }),
        format!(
            "keys written to {} in {secs:.2} s (pk {pk} B, vk {vk} B)",
            a.build_dir.display()
        ),
    ))
}

fn prove_step(
    dir: &BuildDir,
    input: &Path,
    out: &Path,
    subject: Option<&str>,
) -> Result<(ProofArtifact, f64)> {
    // Before any work: a proof that cannot be written is not computed.
    check_output_file(out)?;
    let mut input = InputData::read(input)?;
    if let Some(subject) = subject {
        let given = parse_subject(subject)?;
        if let Some(file) = &input.subject {
            if parse_subject(file)? != given {
                bail!("--subject {subject} differs from the input file's subject {file}");
            }
        }
        input.subject = Some(subject.to_string());
    }
    let (artifact, secs) = with_spinner("proving", || pipeline::prove(dir, &input));
    let artifact = artifact?;
    artifact.write(out)?;
    Ok((artifact, secs))
}

fn proof_len(a: &ProofArtifact) -> usize {
    a.proof.len().saturating_sub(2) / 2
}

fn prove(a: &ProveArgs) -> Result<Outcome> {
    let (artifact, secs) = prove_step(
        &BuildDir::new(&a.build_dir),
        &a.input,
        &a.out,
        a.subject.as_deref(),
    )?;
    Ok(Outcome::ok(
        json!({ "prove_seconds": secs, "proof_bytes": proof_len(&artifact), "output_data": artifact.output_data, "proof": a.out }),
        format!(
            "proof written to {} ({} bytes, {secs:.2} s)\n  output_data {:?}",
            a.out.display(),
            proof_len(&artifact),
            artifact.output_data
        ),
    ))
}

fn verify(a: &VerifyArgs) -> Result<Outcome> {
    let artifact = ProofArtifact::read(&a.proof)?;
    let start = Instant::now();
    let valid = pipeline::verify(&BuildDir::new(&a.build_dir), &artifact)?;
    let secs = start.elapsed().as_secs_f64();
    Ok(Outcome {
        json: json!({ "valid": valid, "verify_seconds": secs }),
        text: if valid {
            format!("proof valid ({secs:.3} s)")
        } else {
            "proof INVALID".into()
        },
        exit_code: if valid { 0 } else { 1 },
    })
}

fn codegen(a: &CodegenArgs) -> Result<Outcome> {
    let dir = BuildDir::new(&a.build_dir);
    let solc = Solc::new(&a.solc.solc);
    if a.verifier.kind == VerifierChoice::Reusable {
        let reusable = reusable_for_build(&dir, &solc)?;
        reusable.verifier.write(&a.out)?;
        let key_path = a.out.with_extension("key.sol");
        reusable.key.write(&key_path)?;
        let size = reusable.verifier.compiled.deployed_bytecode.len();
        let key_size = reusable.key_code.len();
        return Ok(Outcome::ok(
            json!({
                "verifier": a.out,
                "key": key_path,
                "runtime_bytecode_bytes": size,
                "key_bytes": key_size,
                "proof_bytes": reusable.plan.proof_len(),
                "msm_points": reusable.plan.terms.len() + 3,
            }),
            format!(
                "reusable verifier written to {} (runtime bytecode {size} B, shared by all models)\n\
                 verifying key contract written to {} ({key_size} B of key data)",
                a.out.display(),
                key_path.display()
            ),
        ));
    }
    let verifier = verifier_for_build(&dir, &solc)?;
    verifier.write(&a.out)?;
    let size = verifier.compiled.deployed_bytecode.len();
    Ok(Outcome::ok(
        json!({ "verifier": a.out, "runtime_bytecode_bytes": size, "source_bytes": verifier.source.len() }),
        format!(
            "verifier written to {} (runtime bytecode {size} B)",
            a.out.display()
        ),
    ))
}

async fn deploy(a: &DeployArgs) -> Result<Outcome> {
    if a.verifier.kind == VerifierChoice::SnarkVerifier && a.reusable_verifier.is_some() {
        bail!(
            "--reusable-verifier names a shared Halo2Verifier; it does not go with --verifier snark-verifier"
        );
    }
    let dir = BuildDir::new(&a.build_dir);
    let settings = Settings::read(&dir.settings())?;
    // Everything that can be refused is refused before the first transaction.
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
    let mut deployment = json!({
        "chain_id": chain.chain_id,
        "model_id": settings.model_id,
        "verifier": verifier_addr,
        "oracle": oracle_addr,
        "lending": lending_addr,
        "verifier_runtime_bytes": runtime_bytes,
        "proof_bytes": proof_len,
        "dev_srs": dev_srs,
        "attesters": attesters,
        "attestation_max_age": (!attesters.is_empty()).then_some(a.attestation_max_age),
        "gas": { "verifier": verifier_gas, "oracle": r2.gas_used, "register": r3.gas_used, "lending": r4.gas_used },
    });
    let mut text = format!(
        "deployed on chain {}\n  verifier {verifier_addr} ({runtime_bytes} B runtime, {verifier_gas} gas)",
        chain.chain_id
    );
    if let Some((key_addr, key_gas, key_bytes)) = key {
        deployment["key"] = json!(key_addr);
        deployment["key_bytes"] = json!(key_bytes);
        deployment["gas"]["key"] = json!(key_gas);
        text.push_str(&format!(
            "\n  key      {key_addr} ({key_bytes} B, {key_gas} gas)"
        ));
    }
    let path = dir.root().join("deployment.json");
    std::fs::write(&path, serde_json::to_string_pretty(&deployment)?)
        .with_context(|| format!("writing {}", path.display()))?;
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

async fn submit(a: &SubmitArgs) -> Result<Outcome> {
    let artifact = ProofArtifact::read(&a.proof)?;
    let (proof, instances) = pipeline::decode_proof(&artifact)?;
    let model_id: B256 = artifact
        .model_id
        .parse()
        .context("model id in the proof file")?;
    let consumer = parse_address(&a.consumer, "consumer")?;
    let chain = connect(&a.chain).await?;
    let oracle = VerifiedInferenceOracle::new(consumer, &chain.provider);
    let subject = instances
        .last()
        .and_then(zkinfer_prover::input::subject_address)
        .context("the proof's last instance (its subject) is not an address")?;
    let subject = parse_address(&subject, "subject")?;
    let words: Vec<U256> = instances.iter().map(word).collect();
    let call = oracle.submitInference(model_id, Bytes::from(proof), words);
    // Simulate first: a revert is reported with its decoded reason and nothing is sent.
    if let Err(e) = call.call().await {
        let reason = e
            .as_revert_data()
            .and_then(|d| chain::decode_revert(&d))
            .unwrap_or_else(|| describe(&e.to_string()));
        bail!("the oracle rejects this proof: {reason} (the proof file is unchanged)");
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

async fn read(a: &ReadArgs) -> Result<Outcome> {
    let chain = connect_read_only(&a.rpc_url).await?;
    let consumer = parse_address(&a.consumer, "consumer")?;
    let subject: Address = parse_address(&a.subject, "subject")?;
    let model_id: B256 = a.model_id.parse().context("invalid model id")?;
    let oracle = VerifiedInferenceOracle::new(consumer, &chain.provider);
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
    if let Some(lending) = &a.lending {
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

fn run(a: &RunArgs) -> Result<Outcome> {
    let temp;
    let build = match &a.build_dir {
        Some(d) => d.clone(),
        None => {
            temp = std::env::temp_dir().join(format!("zkinfer-run-{}", std::process::id()));
            temp.clone()
        }
    };
    let result = run_in(a, &build);
    if a.build_dir.is_none() {
        let _ = std::fs::remove_dir_all(&build);
    }
    result
}

fn run_in(a: &RunArgs, build: &Path) -> Result<Outcome> {
    check_output_file(&a.out)?;
    let dir = BuildDir::new(build);
    let start = Instant::now();
    // A temporary build directory is this run's own: anything there is stale.
    let force = a.force || a.build_dir.is_none();
    let settings = compile_step(&a.model, &a.input, build, &a.quant, force)?;
    let compile_s = start.elapsed().as_secs_f64();
    let setup_s = setup_step(&dir, &SrsChoice::Dev)?;
    let proof_path = build.join("proof.json");
    let (artifact, prove_s) = prove_step(&dir, &a.input, &proof_path, None)?;
    let start = Instant::now();
    let valid = pipeline::verify(&dir, &artifact)?;
    let verify_s = start.elapsed().as_secs_f64();
    if !valid {
        bail!("internal error: the fresh proof did not verify");
    }
    let result = json!({
        "output_data": artifact.output_data,
        "verified": valid,
        "model_id": settings.model_id,
        "k": settings.circuit.k,
        "proof_bytes": proof_len(&artifact),
        "timings": { "compile_s": compile_s, "setup_s": setup_s, "prove_s": prove_s, "verify_s": verify_s },
    });
    std::fs::write(&a.out, serde_json::to_string_pretty(&result)?)
        .with_context(|| format!("writing {}", a.out.display()))?;
    let text = format!(
        "verified output_data {:?} (k = {}, proof {} B; compile {compile_s:.2} s, setup {setup_s:.2} s, prove {prove_s:.2} s, verify {verify_s:.3} s) → {}",
        artifact.output_data,
        settings.circuit.k,
        proof_len(&artifact),
        a.out.display()
    );
    Ok(Outcome::ok(result, text))
}
