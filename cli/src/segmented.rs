//! `compile --segments/--max-k`, and `setup`, `prove`, `verify` on a segmented build (see
//! `zkinfer_segments`). On-chain commands refuse a segmented build: its proof is one proof per
//! segment, and one transaction verifying them all needs the aggregation circuit (not built).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use serde_json::json;
use zkinfer_prover::artifacts::{check_output_file, Artifact};
use zkinfer_prover::input::InputData;
use zkinfer_prover::onnx::import_specialized;
use zkinfer_prover::pipeline::SrsChoice;
use zkinfer_prover::privacy::Visibility;
use zkinfer_segments::{Goal, SegmentedDir, SegmentedProof};

use crate::cli::{CompileArgs, ProveArgs, SetupArgs, VerifyArgs};
use crate::commands::{circuit_options, input_with_subject, quant_config, Outcome};

/// Compiles into segments and prints the plan (per segment: layers, k, columns, memory).
pub(crate) fn compile(a: &CompileArgs) -> Result<Outcome> {
    let goal = match (a.segments, a.max_k) {
        (Some(n), _) if n >= 1 => Goal::Segments(n),
        (Some(n), _) => bail!("--segments {n}: a model has at least one segment"),
        (None, Some(max_k)) => Goal::Fit { max_k },
        (None, None) => bail!("give --segments N or --max-k K"),
    };
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

/// Keys for every segment.
pub(crate) fn setup(a: &SetupArgs, choice: &SrsChoice) -> Result<Outcome> {
    let start = Instant::now();
    zkinfer_segments::setup(&SegmentedDir::new(&a.build_dir), choice, &mut |i, n| {
        tracing::info!("setup: segment {i} of {n} done")
    })?;
    let secs = start.elapsed().as_secs_f64();
    Ok(Outcome::ok(
        json!({ "setup_seconds": secs, "dev_srs": matches!(choice, SrsChoice::Dev) }),
        format!(
            "keys of every segment written under {} in {secs:.2} s",
            a.build_dir.display()
        ),
    ))
}

/// Proves every segment, `--jobs` at a time.
pub(crate) fn prove(a: &ProveArgs) -> Result<Outcome> {
    check_output_file(&a.out)?;
    let input = input_with_subject(&a.input, a.subject.as_deref())?;
    if input.subject()? == Default::default() {
        tracing::warn!("the proof names no subject (--subject or \"subject\" in the input file)");
    }
    let start = Instant::now();
    let proof =
        zkinfer_segments::prove(&SegmentedDir::new(&a.build_dir), &input, a.jobs, &|i, n| {
            tracing::info!("proving: {i} of {n} segments done")
        })?;
    let secs = start.elapsed().as_secs_f64();
    proof.write(&a.out)?;
    let bytes: usize = proof.segments.iter().map(|p| p.proof.0.len()).sum();
    Ok(Outcome::ok(
        json!({ "prove_seconds": secs, "proof_bytes": bytes, "segments": proof.segments.len(), "output_data": proof.output_data, "proof": a.out }),
        format!(
            "proof of {} segments written to {} ({bytes} bytes, {secs:.2} s)\n  output_data {:?}",
            proof.segments.len(),
            a.out.display(),
            proof.output_data
        ),
    ))
}

/// Verifies every segment proof and the chain of boundary commitments.
pub(crate) fn verify(a: &VerifyArgs) -> Result<Outcome> {
    let proof = SegmentedProof::read(&a.proof)?;
    let start = Instant::now();
    let why = zkinfer_segments::verify(&SegmentedDir::new(&a.build_dir), &proof)?;
    let secs = start.elapsed().as_secs_f64();
    let valid = why.is_none();
    Ok(Outcome {
        json: json!({ "valid": valid, "verify_seconds": secs, "reason": why }),
        text: match &why {
            None => format!(
                "proof valid: {} segments chained ({secs:.3} s)",
                proof.segments.len()
            ),
            Some(why) => format!("proof INVALID: {why}"),
        },
        exit_code: if valid { 0 } else { 1 },
    })
}

/// Refuses an on-chain command on a segmented build.
pub(crate) fn refuse_on_chain(build_dir: &Path, command: &str) -> Result<()> {
    let settings = zkinfer_prover::artifacts::BuildDir::new(build_dir).settings();
    let one_segment = zkinfer_prover::artifacts::Settings::read(&settings).is_ok_and(|s| {
        s.privacy.inputs == Visibility::Chained || s.privacy.outputs == Visibility::Chained
    });
    if one_segment {
        bail!(
            "{command}: {} is one segment of a segmented build: alone, its proof says nothing \
             about the model",
            build_dir.display()
        );
    }
    if SegmentedDir::is_segmented(build_dir) {
        bail!(
            "{command}: {} is a segmented build; its proof is one proof per segment, verified \
             off-chain with `zkinfer verify`. On-chain verification of a segmented model needs \
             the aggregation step, which is not built yet",
            build_dir.display()
        );
    }
    Ok(())
}

/// Refuses a segmented proof file where one proof is expected.
pub(crate) fn refuse_segmented_proof(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let segmented =
        serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("segments").is_some());
    if segmented {
        bail!(
            "{}: a segmented proof (one proof per segment) cannot be submitted: on-chain \
             verification of a segmented model needs the aggregation step, which is not built yet",
            path.display()
        );
    }
    Ok(())
}
