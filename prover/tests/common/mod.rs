//! Helpers shared by the prover's integration tests.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::PathBuf;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared/bench-models/<name>.<ext>` beside the repository.
pub fn bench_file(name: &str, ext: &str) -> PathBuf {
    repo_root()
        .join("../shared/bench-models")
        .join(format!("{name}.{ext}"))
}

/// The bundled example's files.
pub fn example_file(file: &str) -> PathBuf {
    repo_root().join("examples/credit_risk").join(file)
}

/// A fresh temporary directory under the target dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap()
}

/// `ort_output` of a meta.json (onnxruntime's reference output).
pub fn ort_output(meta: &std::path::Path) -> Vec<f64> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    meta["ort_output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}
