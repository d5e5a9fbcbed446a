//! One function per subcommand. Each returns what to print: text, or JSON with `--json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use zkinfer_codegen::{reusable_for_build, verifier_for_build, Solc};
use zkinfer_prover::artifacts::{check_output_file, Artifact, BuildDir, ProofArtifact, Settings};
use zkinfer_prover::fixed::Scale;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, SrsChoice};
use zkinfer_prover::privacy::Visibility;
use zkinfer_prover::quantize::QuantizationConfig;
use zkinfer_prover::resources::{parse_size, MemoryLimit};

use crate::cli::*;
use crate::onchain;
use crate::progress::with_phases;
use crate::segmented;
use zkinfer_segments::SegmentedDir;

/// What a command prints and its exit code.
pub(crate) struct Outcome {
    pub(crate) json: Value,
    pub(crate) text: String,
    pub(crate) exit_code: i32,
}

impl Outcome {
    pub(crate) fn ok(json: Value, text: impl Into<String>) -> Self {
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
        Command::Deploy(a) => runtime()?.block_on(onchain::deploy(&a)),
        Command::Submit(a) => runtime()?.block_on(onchain::submit(&a)),
        Command::Read(a) => runtime()?.block_on(onchain::read(&a)),
        Command::Run(a) => run(&a),
        Command::Commitment(a) => runtime()?.block_on(onchain::commitment(&a)),
        Command::Attest(a) => runtime()?.block_on(onchain::attest(&a)),
        Command::VerifyEvm(a) => runtime()?.block_on(onchain::verify_evm(&a)),
        Command::EncodeCalldata(a) => encode_calldata(&a),
        Command::Completions(a) => Ok(completions(&a)),
        Command::Serve(a) => serve(&a),
        Command::Worker(a) => worker(&a),
    }
}

/// `serve`: the prover service until Ctrl-C or SIGTERM.
/// The SRS of a service's builds, from `--srs FILE` or `--dev-srs`.
fn service_srs(srs: &Option<PathBuf>, dev: bool) -> Result<SrsChoice> {
    match (srs, dev) {
        (Some(path), _) => Ok(SrsChoice::File(path.clone())),
        (None, true) => Ok(SrsChoice::Dev),
        (None, false) => bail!(
            "choose the SRS of every build's keys: --srs FILE (a ceremony file) or --dev-srs (insecure, testing only)"
        ),
    }
}

fn worker(a: &WorkerArgs) -> Result<Outcome> {
    let mut config = if zkinfer_service::objects::is_store_url(&a.store) {
        let cache = a.cache.clone().unwrap_or_else(|| "zkinfer-cache".into());
        let mut config = zkinfer_service::remote::WorkerConfig::new(a.queue.clone(), cache);
        config.objects = Some(a.store.clone());
        config
    } else if a.cache.is_some() {
        bail!("--cache goes with an object store (--store s3://…); a shared --store DIR is used as it is")
    } else {
        zkinfer_service::remote::WorkerConfig::new(a.queue.clone(), PathBuf::from(&a.store))
    };
    if let Some(name) = &a.name {
        config.name = name.clone();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C or SIGTERM: finish the job at hand, take no other.
    std::thread::spawn(move || {
        if let Ok(rt) = runtime() {
            rt.block_on(shutdown_signal());
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    zkinfer_service::remote::run(&config, &stop)?;
    Ok(Outcome::ok(json!({ "stopped": true }), "stopped"))
}

fn serve(a: &ServeArgs) -> Result<Outcome> {
    let mut config = zkinfer_service::ServeConfig::new(a.data_dir.clone(), a.listen);
    config.srs = service_srs(&a.srs, a.dev_srs)?;
    config.queue = a.queue.clone();
    config.lease = std::time::Duration::from_secs(a.lease);
    config.objects = a.store.clone();
    config.api_keys = match (&a.api_keys, std::env::var("ZKINFER_API_KEYS")) {
        (Some(path), _) => Some(zkinfer_service::auth::ApiKeys::read(path)?),
        (None, Ok(keys)) if !keys.trim().is_empty() => {
            Some(zkinfer_service::auth::ApiKeys::parse(&keys)?)
        }
        _ => None,
    };
    config.workers = usize::from(a.workers);
    config.max_queued_per_key = a.max_queued_per_key;
    config.max_queue = a.max_queue;
    config.max_body_bytes = parse_size(&a.max_body)
        .and_then(|b| usize::try_from(b).ok())
        .with_context(|| format!("--max-body {}: not a size (e.g. 256MiB)", a.max_body))?;
    config.max_attempts = a.max_attempts.max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if let Some(chain) = relay_account(a)? {
        let oracle = a.oracle.as_deref().expect("relay_account checked --oracle");
        let relay = runtime
            .block_on(crate::onchain::OracleRelay::connect(&chain, oracle))
            .context("--oracle")?;
        config.submitter = Some(std::sync::Arc::new(relay));
    }
    runtime.block_on(zkinfer_service::serve(config, shutdown_signal()))?;
    Ok(Outcome::ok(json!({ "stopped": true }), "stopped"))
}

/// The chain account of `serve --oracle`: the endpoint from --rpc-url or ETH_RPC_URL; the key
/// from ZKINFER_PRIVATE_KEY (never a flag: a flag shows in the process list), or a keystore from
/// --keystore/ETH_KEYSTORE with its password file from --password-file/ETH_PASSWORD.
fn relay_account(a: &ServeArgs) -> Result<Option<crate::cli::ChainArgs>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if a.oracle.is_none() {
        if a.rpc_url.is_some() || a.keystore.is_some() || a.password_file.is_some() {
            bail!("--rpc-url, --keystore and --password-file go with --oracle ADDRESS");
        }
        return Ok(None);
    }
    let rpc_url =
        a.rpc_url.clone().or_else(|| env("ETH_RPC_URL")).context(
            "--oracle needs the chain's JSON-RPC endpoint: --rpc-url URL (or ETH_RPC_URL)",
        )?;
    let keystore = a
        .keystore
        .clone()
        .or_else(|| env("ETH_KEYSTORE").map(PathBuf::from));
    let password_file = a
        .password_file
        .clone()
        .or_else(|| env("ETH_PASSWORD").map(PathBuf::from));
    let private_key = env("ZKINFER_PRIVATE_KEY");
    let private_key = match (&keystore, private_key, &password_file) {
        (Some(_), Some(_), _) => bail!(
            "--oracle: two submitting accounts, ZKINFER_PRIVATE_KEY and a keystore \
             (--keystore or ETH_KEYSTORE): keep one"
        ),
        (Some(_), None, None) => {
            bail!(
                "--oracle: the keystore needs its password file (--password-file or ETH_PASSWORD)"
            )
        }
        (Some(_), None, Some(_)) => None,
        (None, Some(key), None) => Some(key),
        (None, Some(_), Some(_)) => {
            bail!("--password-file goes with a keystore, not with ZKINFER_PRIVATE_KEY")
        }
        (None, None, _) => bail!(
            "--oracle needs the submitting account: ZKINFER_PRIVATE_KEY in the environment, or \
             --keystore FILE with --password-file FILE"
        ),
    };
    Ok(Some(crate::cli::ChainArgs {
        rpc_url,
        private_key,
        keystore,
        password_file,
        receipt_timeout: crate::cli::DEFAULT_RECEIPT_TIMEOUT_S,
    }))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("stopping: no new jobs are taken");
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(crate) fn quant_config(q: &QuantArgs) -> QuantizationConfig {
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
    let options = circuit_options(quant, force)?;
    let settings = pipeline::compile_with(
        model,
        &calibration,
        quant_config(quant),
        options,
        &BuildDir::new(out),
    )?;
    Ok(settings)
}

/// The circuit options `compile`'s flags ask for.
pub(crate) fn circuit_options(quant: &QuantArgs, force: bool) -> Result<pipeline::CircuitOptions> {
    // The accuracy target searches finer scales unless the user fixed them.
    let search_scales = matches!(quant.target, Target::Accuracy)
        && quant.scale.is_none()
        && quant.weight_scale.is_none();
    let options = pipeline::CircuitOptions {
        max_advice_columns: quant.max_columns,
        layout: quant.layout.into(),
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
    Ok(options)
}

/// Reads an input file and applies `--subject`, which must agree with the file's own subject.
pub(crate) fn input_with_subject(path: &Path, subject: Option<&str>) -> Result<InputData> {
    let mut input = InputData::read(path)?;
    if let Some(subject) = subject {
        let given = parse_subject(subject)?;
        if let Some(file) = &input.subject {
            if parse_subject(file)? != given {
                bail!("--subject {subject} differs from the input file's subject {file}");
            }
        }
        input.subject = Some(subject.to_string());
    }
    Ok(input)
}

/// Parses a subject address as the prover does (`0x` + 40 hex digits).
fn parse_subject(text: &str) -> Result<Fr> {
    Ok(zkinfer_prover::input::parse_subject(text)?)
}

fn settings_json(s: &Settings) -> Value {
    json!({
        "model_id": s.model_id,
        "k": s.circuit.k,
        "advice_columns": s.circuit.base.num_advice_per_phase.first(),
        "lookup_bits": s.circuit.lookup_bits(),
        "fused_lookup": s.circuit.fused.is_some(),
        "layout": s.circuit.layout().name(),
        "mac_chain": s.circuit.fused.is_some_and(|f| f.mac_chain),
        "chained_rescale": s.circuit.fused.is_some_and(|f| f.chained_rescale),
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
    if a.segments.is_some() || a.max_k.is_some() {
        return segmented::compile(a);
    }
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
    if s.circuit.fused.is_some_and(|f| f.mac_chain) {
        text.push_str(
            "  multiply-accumulates in chains on the gate column (two cells a term), weights in a fixed column\n",
        );
    }
    if s.circuit.fused.is_some_and(|f| f.chained_rescale) {
        text.push_str(
            "  rescales (and a ReLU reading only its affine map, reported with it) on the chains, narrow range tables\n",
        );
    }
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

pub(crate) fn srs_choice(a: &SetupArgs) -> Result<SrsChoice> {
    match (&a.srs, a.dev_srs) {
        (Some(path), _) => Ok(SrsChoice::File(path.clone())),
        (None, true) => Ok(SrsChoice::Dev),
        (None, false) => bail!(
            "choose an SRS: --srs FILE (a ceremony file) or --dev-srs (insecure, testing only)"
        ),
    }
}

fn setup_step(dir: &BuildDir, choice: &SrsChoice) -> Result<f64> {
    // The development SRS warns once, where it is made (`srs::dev_srs`).
    let (info, secs) = with_phases("generating keys", |report| {
        pipeline::setup_reporting(dir, choice, report)
    });
    info?;
    Ok(secs)
}

fn setup(a: &SetupArgs) -> Result<Outcome> {
    let dir = BuildDir::new(&a.build_dir);
    let choice = srs_choice(a)?;
    if SegmentedDir::is_segmented(&a.build_dir) {
        return segmented::setup(a, &choice);
    }
    if a.aggregation_k.is_some()
        || a.aggregation_root_k.is_some()
        || a.aggregation_arity.is_some()
        || a.no_aggregation
    {
        bail!(
            "--aggregation-k, --aggregation-root-k, --aggregation-arity and --no-aggregation are for a \
             segmented build (compile --segments or --max-k); {} is a single circuit",
            a.build_dir.display()
        );
    }
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

fn prove_step(dir: &BuildDir, input: &InputData, out: &Path) -> Result<(ProofArtifact, f64)> {
    // Before any work: a proof that cannot be written is not computed.
    check_output_file(out)?;
    let (artifact, secs) = with_phases("proving", |report| {
        pipeline::prove_reporting(dir, input, report)
    });
    let artifact = artifact?;
    artifact.write(out)?;
    Ok((artifact, secs))
}

/// `prove --outputs FILE`: the outputs of the model for the proven input as the circuit computes
/// them (dequantized), and the salt when they are hashed. Checked before proving: a file that
/// cannot be written, or that is the proof file, the input file or inside the build, is refused.
/// Written owner-only (0600): it holds what the proof file hides.
pub(crate) struct OutputsFile<'a> {
    path: &'a Path,
}

impl<'a> OutputsFile<'a> {
    /// Checks `prove --outputs` before any work.
    pub(crate) fn check(a: &'a ProveArgs) -> Result<Option<Self>> {
        let Some(path) = a.outputs.as_deref() else {
            return Ok(None);
        };
        check_output_file(path)?;
        let target = resolved(path);
        if target == resolved(&a.out) || target == resolved(&a.input) {
            bail!(
                "--outputs {}: that is the proof or the input file: give another file",
                path.display()
            );
        }
        if let (Some(t), Ok(build)) = (&target, std::fs::canonicalize(&a.build_dir)) {
            if t.starts_with(&build) {
                bail!(
                    "--outputs {}: inside the build folder, whose files may be published: give a file elsewhere",
                    path.display()
                );
            }
        }
        Ok(Some(OutputsFile { path }))
    }

    /// Writes the outputs of `model` for `input` (which must be the proven input).
    pub(crate) fn write(
        &self,
        model: &zkinfer_prover::quantize::QuantizedModel,
        input: &InputData,
    ) -> Result<()> {
        let output_data = pipeline::fixed_point_outputs(model, input)?;
        let mut file = json!({
            "output_data": output_data,
            "visibility": model.privacy.outputs,
        });
        if model.privacy.outputs == Visibility::Hashed {
            file["salt"] = json!(input.salt);
        }
        let text = serde_json::to_string_pretty(&file)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options
            .open(self.path)
            .with_context(|| format!("writing {}", self.path.display()))?;
        std::io::Write::write_all(&mut f, text.as_bytes())
            .with_context(|| format!("writing {}", self.path.display()))?;
        Ok(())
    }
}

/// A path with its folder resolved (the file itself may not exist yet), to compare files.
fn resolved(path: &Path) -> Option<std::path::PathBuf> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(std::fs::canonicalize(folder).ok()?.join(path.file_name()?))
}

fn proof_len(a: &ProofArtifact) -> usize {
    a.proof.0.len()
}

fn prove(a: &ProveArgs) -> Result<Outcome> {
    if segmented::is_model_build(&a.build_dir, "prove")? {
        return segmented::prove(a);
    }
    let outputs = OutputsFile::check(a)?;
    let dir = BuildDir::new(&a.build_dir);
    let input = input_with_subject(&a.input, a.subject.as_deref())?;
    let (artifact, secs) = prove_step(&dir, &input, &a.out)?;
    if let Some(file) = &outputs {
        let (_, model) = pipeline::load(&dir)?;
        file.write(&model, &input)?;
    }
    Ok(Outcome::ok(
        json!({ "prove_seconds": secs, "proof_bytes": proof_len(&artifact), "output_data": artifact.output_data, "proof": a.out, "outputs": a.outputs }),
        format!(
            "proof written to {} ({} bytes, {secs:.2} s)\n  output_data {:?}",
            a.out.display(),
            proof_len(&artifact),
            artifact.output_data
        ),
    ))
}

fn verify(a: &VerifyArgs) -> Result<Outcome> {
    if segmented::is_model_build(&a.build_dir, "verify")? {
        return segmented::verify(a);
    }
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
    if segmented::on_chain(&a.build_dir, "codegen")? {
        return segmented::codegen(a);
    }
    let dir = BuildDir::new(&a.build_dir);
    let solc = Solc::new(&a.solc.solc);
    if a.verifier.kind() == VerifierChoice::Reusable {
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

fn run(a: &RunArgs) -> Result<Outcome> {
    let temp;
    let build = match &a.build_dir {
        Some(d) => d.clone(),
        None => {
            // Unique per call: the CLI also runs in-process (the Python package), several at once.
            static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            temp = std::env::temp_dir().join(format!("zkinfer-run-{}-{run}", std::process::id()));
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
    let (artifact, prove_s) = prove_step(&dir, &InputData::read(&a.input)?, &proof_path)?;
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

/// `encode-calldata`: the exact calldata of a proof file for the chosen contract.
fn encode_calldata(a: &EncodeCalldataArgs) -> Result<Outcome> {
    use alloy::primitives::{Bytes, U256};
    use alloy::sol_types::SolCall;
    let artifact = ProofArtifact::read(&a.proof)?;
    let (proof, instances) = pipeline::decode_proof(&artifact);
    let words: Vec<U256> = instances.iter().map(onchain::word).collect();
    let calldata = match a.target {
        CalldataTarget::Oracle => crate::contracts::VerifiedInferenceOracle::submitInferenceCall {
            modelId: onchain::bytes32(&artifact.model_id),
            proof: Bytes::from(proof),
            instances: words,
        }
        .abi_encode(),
        CalldataTarget::Reusable => {
            let key = a.key.as_deref().context("--for reusable needs --key")?;
            crate::contracts::ReusableHalo2Verifier::verifyProofCall {
                vk: crate::chain::parse_address(key, "key")?,
                proof: Bytes::from(proof),
                instances: words,
            }
            .abi_encode()
        }
        CalldataTarget::SnarkVerifier => onchain::raw_verifier_calldata(&words, &proof),
    };
    let hex = format!("0x{}", hex::encode(&calldata));
    Ok(Outcome::ok(
        json!({ "calldata": hex, "bytes": calldata.len() }),
        hex,
    ))
}

/// `completions`: clap's completion script for `shell`.
fn completions(a: &CompletionsArgs) -> Outcome {
    let mut script = Vec::new();
    clap_complete::generate(
        a.shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "zkinfer",
        &mut script,
    );
    let text = String::from_utf8_lossy(&script).into_owned();
    Outcome::ok(
        json!({ "shell": a.shell.to_string(), "script": text }),
        text,
    )
}
