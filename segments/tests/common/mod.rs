//! Helpers shared by the segments crate's tests.
#![allow(dead_code)] // each test file uses a part of it

use std::path::PathBuf;

use zkinfer_prover::input::InputData;
use zkinfer_prover::onnx::import_specialized;
use zkinfer_prover::pipeline::CircuitOptions;
use zkinfer_prover::quantize::QuantizationConfig;
use zkinfer_segments::{compile_segmented, Goal, SegmentedDir, SegmentedSettings};

/// A path in the repository.
pub(crate) fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// Compile options without a memory check (the test machine's free memory varies).
pub(crate) fn options() -> CircuitOptions {
    CircuitOptions {
        memory_limit: None,
        ..CircuitOptions::default()
    }
}

/// The bundled credit-risk example's file `name`.
pub(crate) fn credit_risk_file(name: &str) -> PathBuf {
    repo(&format!("examples/credit_risk/{name}"))
}

/// The credit-risk example compiled into `segments` segments in a fresh folder named `name`.
pub(crate) fn compile_credit_risk(
    name: &str,
    segments: usize,
) -> (SegmentedDir, SegmentedSettings) {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("zkinfer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = SegmentedDir::new(&root);
    let calibration = InputData::read(&credit_risk_file("calibration.json")).unwrap();
    let model = import_specialized(&credit_risk_file("model.onnx"), Some(&calibration)).unwrap();
    let settings = compile_segmented(
        model,
        "credit_risk",
        &calibration,
        QuantizationConfig::default(),
        options(),
        Goal::Segments(segments),
        &dir,
    )
    .unwrap();
    (dir, settings)
}
