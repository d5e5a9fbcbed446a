//! `compile --segments/--max-k`, and `setup`, `prove`, `verify`, `codegen` on a segmented build
//! (see `zkinfer_segments`). With aggregation keys (the default) a segmented build's proof is one
//! aggregated proof file, which `deploy`, `submit` and the consumer contracts take like any
//! other; with `setup --no-aggregation` it is one proof per segment, verified off-chain only.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::json;
use zkinfer_codegen::{GeneratedVerifier, Solc};
use zkinfer_prover::artifacts::{check_output_file, Artifact, ProofArtifact};
use zkinfer_prover::input::InputData;
use zkinfer_prover::onnx::import_specialized;
use zkinfer_prover::pipeline::SrsChoice;
use zkinfer_prover::privacy::Visibility;
use zkinfer_segments::{AggregationDegrees, Arity, Goal, SegmentedDir, SegmentedProof};

use crate::cli::{
    CodegenArgs, CompileArgs, LayoutArg, ProveArgs, SetupArgs, VerifierChoice, VerifyArgs,
};
use crate::commands::{circuit_options, input_with_subject, quant_config, Outcome, OutputsFile};

/// Compiles into segments and prints the plan (per segment: layers, k, columns, memory).
pub(crate) fn compile(a: &CompileArgs) -> Result<Outcome> {
    let goal = match (a.segments, a.max_k) {
        (Some(n), _) if n >= 1 => Goal::Segments(n),
        (Some(n), _) => bail!("--segments {n}: a model has at least one segment"),
        (None, Some(max_k)) => Goal::Fit { max_k },
        (None, None) => bail!("give --segments N or --max-k K"),
    };
    if a.quant.layout != LayoutArg::Auto {
        bail!("--layout holds a single circuit to one layout; segments are laid out by the planner's rule (drop --layout, or --segments/--max-k)");
    }
    let calibration = InputData::read(&a.calibration)?;
    let model = import_specialized(&a.model, Some(&calibration))?;
    let start = Instant::now();
    let settings = zkinfer_segments::compile_segmented(
        model,
        &a.model.display().to_string(),
        &calibration,
        quant_config(&a.quant),
        circuit_options(&a.quant, a.force)?,
        goal,
        &SegmentedDir::new(&a.out),
    )?;
    let secs = start.elapsed().as_secs_f64();
    let mut text = format!(
        "compiled {} → {} in {secs:.1} s: {} segments\n  model id {}\n\n  {:>3} {:<14} {:<44} {:>3} {:>8} {:>10} {:>9}\n",
        a.model.display(),
        a.out.display(),
        settings.segments.len(),
        settings.model_id,
        "#",
        "nodes",
        "layers",
        "k",
        "columns",
        "memory",
        "boundary"
    );
    for (i, s) in settings.segments.iter().enumerate() {
        let p = &s.plan;
        text.push_str(&format!(
            "  {i:>3} {:<14} {:<44} {:>3} {:>8} {:>6} MiB {:>9}\n",
            format!("{}..{}", p.nodes[0], p.nodes[1]),
            format!("{} … {}", p.layers[0], p.layers[1]),
            p.k,
            p.columns,
            p.memory_mib,
            p.boundary_in
        ));
    }
    Ok(Outcome::ok(
        json!({
            "model_id": settings.model_id,
            "segments": settings.segments.iter().map(|s| &s.plan).collect::<Vec<_>>(),
            "compile_seconds": secs,
            "privacy": settings.privacy,
        }),
        text.trim_end(),
    ))
}

/// Keys for every segment, then (unless `--no-aggregation`) the aggregation keys.
pub(crate) fn setup(a: &SetupArgs, choice: &SrsChoice) -> Result<Outcome> {
    let dir = SegmentedDir::new(&a.build_dir);
    let start = Instant::now();
    zkinfer_segments::setup(&dir, choice, &mut |i, n| {
        tracing::info!("setup: segment {i} of {n} done")
    })?;
    let segments_s = start.elapsed().as_secs_f64();
    let mut text = format!(
        "keys of every segment written under {} in {segments_s:.2} s",
        a.build_dir.display()
    );
    let mut aggregation = serde_json::Value::Null;
    let mut dev_srs = matches!(choice, SrsChoice::Dev);
    if a.no_aggregation {
        // Keys of an earlier setup would be stale beside the new segment keys.
        let old = dir.aggregation();
        if old.exists() {
            std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    } else {
        let start = Instant::now();
        let existing = zkinfer_segments::AggregationInfo::read(&dir.aggregation_info())
            .ok()
            .map(|i| i.degrees());
        let k = AggregationDegrees::choose(existing, a.aggregation_k, a.aggregation_root_k);
        let arity = match a.aggregation_arity {
            None => Arity::Auto,
            Some(1) => Arity::Flat,
            Some(a) => Arity::Tree(a.into()),
        };
        let info = zkinfer_segments::setup_aggregation(&dir, choice, k, arity)?;
        dev_srs = info.srs == zkinfer_prover::srs::SrsSource::DevInsecure;
        if a.aggregation_root_k
            .is_some_and(|root| root != info.config.degree)
        {
            tracing::warn!(
                "--aggregation-root-k applies to a tree's root or a wide flat aggregation; this \
                 one is flat and narrow at k = {} (--aggregation-k)",
                info.config.degree
            );
        }
        let secs = start.elapsed().as_secs_f64();
        let nodes = info.tree.as_ref().map_or(0, |t| t.nodes.len());
        let wrapped = info.tree.as_ref().map_or(&[][..], |t| &t.wrapped[..]);
        let node_k = info.node_k();
        let nodes_k = node_k.unwrap_or(info.config.degree);
        text.push_str(&format!(
            "\n  aggregation keys (k = {}, {} advice columns{}) in {secs:.2} s",
            info.config.degree,
            info.config.num_advice,
            match &info.tree {
                Some(t) if wrapped.is_empty() => format!(
                    "; a tree of arity {}: {nodes} inner nodes at k = {nodes_k}, then the root",
                    t.arity
                ),
                Some(t) => format!(
                    "; a tree of arity {}: {nodes} inner nodes at k = {nodes_k} (segments \
                     {wrapped:?} under nodes of their own), then the root",
                    t.arity
                ),
                None => String::new(),
            }
        ));
        aggregation = json!({
            "k": info.config.degree,
            "node_k": node_k,
            "advice_columns": info.config.num_advice,
            "arity": info.arity(),
            "inner_nodes": nodes,
            "wrapped_segments": wrapped,
            "setup_seconds": secs,
        });
    }
    Ok(Outcome::ok(
        json!({
            "setup_seconds": start.elapsed().as_secs_f64(),
            "segments_setup_seconds": segments_s,
            "aggregation": aggregation,
            "dev_srs": dev_srs,
        }),
        text,
    ))
}

/// Proves every segment, `--jobs` at a time, and aggregates them into one proof (or, without
/// aggregation keys, writes one proof per segment).
pub(crate) fn prove(a: &ProveArgs) -> Result<Outcome> {
    check_output_file(&a.out)?;
    let outputs = OutputsFile::check(a)?;
    let input = input_with_subject(&a.input, a.subject.as_deref())?;
    if input.subject()? == Default::default() {
        tracing::warn!("the proof names no subject (--subject or \"subject\" in the input file)");
    }
    let dir = SegmentedDir::new(&a.build_dir);
    let done = |i: usize, n: usize| tracing::info!("proving: {i} of {n} segments done");
    let start = Instant::now();
    if dir.has_aggregation() {
        let proved = zkinfer_segments::prove_aggregated(&dir, &input, a.jobs, &done)?;
        let secs = start.elapsed().as_secs_f64();
        let artifact = &proved.artifact;
        artifact.write(&a.out)?;
        write_outputs(&dir, outputs.as_ref(), &input)?;
        let bytes = artifact.proof.0.len();
        return Ok(Outcome::ok(
            json!({
                "prove_seconds": secs,
                "segments_seconds": proved.segments_seconds,
                "aggregation_seconds": proved.aggregation_seconds,
                "proof_bytes": bytes,
                "aggregated": true,
                "output_data": artifact.output_data,
                "proof": a.out,
                "outputs": a.outputs,
            }),
            format!(
                "aggregated proof written to {} ({bytes} bytes, {secs:.2} s: segments {:.2} s, aggregation {:.2} s)\n  output_data {:?}",
                a.out.display(),
                proved.segments_seconds,
                proved.aggregation_seconds,
                artifact.output_data
            ),
        ));
    }
    let proof = zkinfer_segments::prove(&dir, &input, a.jobs, &done)?;
    let secs = start.elapsed().as_secs_f64();
    proof.write(&a.out)?;
    write_outputs(&dir, outputs.as_ref(), &input)?;
    let bytes: usize = proof.segments.iter().map(|p| p.proof.0.len()).sum();
    Ok(Outcome::ok(
        json!({ "prove_seconds": secs, "proof_bytes": bytes, "aggregated": false, "segments": proof.segments.len(), "output_data": proof.output_data, "proof": a.out, "outputs": a.outputs }),
        format!(
            "proof of {} segments written to {} ({bytes} bytes, {secs:.2} s; not aggregated: off-chain only)\n  output_data {:?}",
            proof.segments.len(),
            a.out.display(),
            proof.output_data
        ),
    ))
}

/// `prove --outputs`: the whole model's outputs for `input`.
fn write_outputs(dir: &SegmentedDir, file: Option<&OutputsFile>, input: &InputData) -> Result<()> {
    if let Some(file) = file {
        let (_, model) = dir.load()?;
        file.write(&model, input)?;
    }
    Ok(())
}

/// Verifies an aggregated proof (with its accumulator), or every segment proof and the chain of
/// boundary commitments.
pub(crate) fn verify(a: &VerifyArgs) -> Result<Outcome> {
    let dir = SegmentedDir::new(&a.build_dir);
    let start = Instant::now();
    let (why, what) = if is_per_segment(&a.proof) {
        let proof = SegmentedProof::read(&a.proof)?;
        let why = zkinfer_segments::verify(&dir, &proof)?;
        (why, format!("{} segments chained", proof.segments.len()))
    } else {
        let artifact = ProofArtifact::read(&a.proof)?;
        let why = zkinfer_segments::verify_aggregated_proof(&dir, &artifact)?;
        (why, "aggregated".to_string())
    };
    let secs = start.elapsed().as_secs_f64();
    let valid = why.is_none();
    Ok(Outcome {
        json: json!({ "valid": valid, "verify_seconds": secs, "reason": why }),
        text: match &why {
            None => format!("proof valid: {what} ({secs:.3} s)"),
            Some(why) => format!("proof INVALID: {why}"),
        },
        exit_code: if valid { 0 } else { 1 },
    })
}

/// The EVM verifier of a segmented build's aggregation key.
pub(crate) fn aggregation_verifier(build_dir: &Path, solc: &Solc) -> Result<GeneratedVerifier> {
    let (info, srs, vk) =
        zkinfer_segments::aggregation_verifying_key(&SegmentedDir::new(build_dir))?;
    let insecure = info.srs == zkinfer_prover::srs::SrsSource::DevInsecure;
    Ok(zkinfer_codegen::aggregation_verifier(
        &srs,
        &vk,
        info.num_instances,
        insecure,
        solc,
    )?)
}

/// `codegen` on a segmented build: the aggregation key's verifier.
pub(crate) fn codegen(a: &CodegenArgs) -> Result<Outcome> {
    if a.verifier.choice == Some(VerifierChoice::Reusable) {
        bail!(
            "{}: a segmented build's proof carries a KZG accumulator that only its generated \
             verifier checks; use --verifier snark-verifier, or leave --verifier out",
            a.build_dir.display()
        );
    }
    let verifier = aggregation_verifier(&a.build_dir, &Solc::new(&a.solc.solc))?;
    verifier.write(&a.out)?;
    let size = verifier.compiled.deployed_bytecode.len();
    Ok(Outcome::ok(
        json!({ "verifier": a.out, "runtime_bytecode_bytes": size, "source_bytes": verifier.source.len(), "aggregated": true }),
        format!(
            "aggregation verifier written to {} (runtime bytecode {size} B)",
            a.out.display()
        ),
    ))
}

/// Whether an on-chain command runs on a segmented build (with aggregation keys); refuses one
/// segment's build and a segmented build without aggregation.
pub(crate) fn on_chain(build_dir: &Path, command: &str) -> Result<bool> {
    if !is_model_build(build_dir, command)? {
        return Ok(false);
    }
    let dir = SegmentedDir::new(build_dir);
    if !dir.has_aggregation() {
        bail!(
            "{command}: {} is a segmented build without aggregation keys (setup \
             --no-aggregation): on chain, a segmented model is verified through its aggregated \
             proof; run `zkinfer setup` on it without --no-aggregation",
            build_dir.display()
        );
    }
    Ok(true)
}

/// Whether `build_dir` is a segmented model's build (rather than a single circuit's); refuses
/// one segment's build, whose statement says nothing about the model.
pub(crate) fn is_model_build(build_dir: &Path, command: &str) -> Result<bool> {
    let settings = zkinfer_prover::artifacts::BuildDir::new(build_dir).settings();
    let one_segment = zkinfer_prover::artifacts::Settings::read(&settings).is_ok_and(|s| {
        s.privacy.inputs == Visibility::Chained || s.privacy.outputs == Visibility::Chained
    });
    if one_segment {
        bail!(
            "{command}: {} is one segment of a segmented build: alone, its proof says nothing \
             about the model (use the folder above it)",
            build_dir.display()
        );
    }
    Ok(SegmentedDir::is_segmented(build_dir))
}

/// Whether a proof file holds one proof per segment (`setup --no-aggregation`).
fn is_per_segment(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("segments").is_some())
}

/// Refuses a per-segment proof file where one proof is expected.
pub(crate) fn refuse_segmented_proof(path: &Path) -> Result<()> {
    if is_per_segment(path) {
        bail!(
            "{}: one proof per segment (a build set up with --no-aggregation) cannot be \
             submitted: run `zkinfer setup` on the build without --no-aggregation and prove again \
             for one aggregated proof",
            path.display()
        );
    }
    Ok(())
}
