//! Per-operator fixtures (`fixtures/make_op_fixtures.py`): each model is compiled, its circuit
//! checked by MockProver (honest accepted, a changed output rejected), proven and verified with
//! a real KZG proof, and its outputs compared with onnxruntime's and tract's.

mod common;

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::dev::MockProver;
use zkinfer_prover::artifacts::{Artifact, BuildDir, ModelArtifact, Settings};
use zkinfer_prover::circuit::{accepted_perturbations, mock_circuit};
use zkinfer_prover::fixed::{from_field, to_field};
use zkinfer_prover::halo2_base;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{compile, prove, setup, verify, witness, SrsChoice};
use zkinfer_prover::quantize::QuantizationConfig;
use zkinfer_prover::reference::run_tract;
use zkinfer_prover::Error;

/// The bound: 0.05 absolute or 2% relative, per output.
fn within_tolerance(got: f64, want: f64) -> bool {
    let err = (got - want).abs();
    err <= 0.05 || err <= 0.02 * want.abs()
}

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ops");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    v.sort();
    assert!(v.len() >= 40, "fixtures missing: run make_op_fixtures.py");
    v
}

fn sibling(onnx: &Path, ext: &str) -> PathBuf {
    onnx.with_extension(ext)
}

/// Returns (worst abs error, k, advice cells per output element of the op's nodes).
fn check_case(onnx: &Path) -> (f64, usize, f64) {
    let name = onnx.file_stem().unwrap().to_string_lossy().to_string();
    let dir = BuildDir::new(common::temp_dir(&format!("op-{name}")));
    let calib = InputData::read(&sibling(onnx, "calib.json")).unwrap();
    // Smaller tables than the default keep this suite fast; accuracy is still within bounds.
    let config = QuantizationConfig {
        table_bits: 12,
        ..QuantizationConfig::default()
    };
    let settings = compile(onnx, &calib, config, &dir).unwrap_or_else(|e| panic!("{name}: {e}"));
    let model = ModelArtifact::read(&dir.model()).unwrap().model;
    let input = InputData::read(&sibling(onnx, "input.json")).unwrap();
    let values = witness(&model, &input).unwrap_or_else(|e| panic!("{name}: {e}"));

    let (circuit, instances) = mock_circuit(&model, &settings.circuit, &values);
    let k = settings.circuit.k as u32;
    let mock = MockProver::run(k, &circuit, vec![instances.clone()]).unwrap();
    assert!(mock.verify().is_ok(), "{name}: honest witness rejected");
    // The last output, and the subject (the last instance).
    let n = instances.len();
    for (at, what) in [(n - 2, "output"), (n - 1, "subject")] {
        let mut tampered = instances.clone();
        tampered[at] += to_field(1);
        assert!(
            MockProver::run(k, &circuit, vec![tampered])
                .unwrap()
                .verify()
                .is_err(),
            "{name}: changed {what} accepted"
        );
    }

    let (tried, cells) = perturbation_sweep(&model, &settings, &values, &instances);
    eprintln!("{name}: {tried} of {cells} advice cells perturbed, every one rejected");

    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sibling(onnx, "expected.json")).unwrap())
            .unwrap();
    let ort: Vec<f64> = expected["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let outputs: Vec<f64> = instances[settings.num_public_inputs()..n - 1]
        .iter()
        .map(|f| model.config.scale.dequantize(from_field(f).unwrap()))
        .collect();
    // tract, the second reference, lacks some operators (tree ensembles, BatchNormalization
    // with computed statistics) and shapes given as inputs: those cases are compared with
    // onnxruntime only.
    const TRACT_LACKS: &[&str] = &["sklearn_", "batchnorm_computed", "shape_input"];
    // Every graph input, the ones fixed at compile included, for the references.
    let mut shapes = settings.input_shapes.clone();
    for s in &settings.specialized_inputs {
        shapes.insert(s.position, s.shape.clone());
    }
    let tract = match run_tract(onnx, &shapes, &input.input_data) {
        Ok(t) => Some(t.concat()),
        Err(e) if TRACT_LACKS.iter().any(|p| name.starts_with(p)) => {
            eprintln!("{name}: no tract reference ({e})");
            None
        }
        Err(e) => panic!("{name}: tract: {e}"),
    };
    assert_eq!(outputs.len(), ort.len(), "{name}: output length");
    let mut worst = 0.0f64;
    for (i, (o, r)) in outputs.iter().zip(&ort).enumerate() {
        assert!(within_tolerance(*o, *r), "{name}: {o} vs onnxruntime {r}");
        if let Some(t) = tract.as_ref().map(|t| t[i]) {
            assert!(within_tolerance(*o, t), "{name}: {o} vs tract {t}");
        }
        worst = worst.max((o - r).abs());
    }

    // A real proof, verified.
    setup(&dir, &SrsChoice::Dev).unwrap();
    let artifact = prove(&dir, &input).unwrap();
    assert!(verify(&dir, &artifact).unwrap(), "{name}: proof rejected");
    assert_eq!(artifact.output_data.concat(), outputs);

    let op_cells: usize = settings
        .circuit
        .node_costs
        .iter()
        .filter(|c| c.op_type != "Input")
        .map(|c| c.advice_cells)
        .sum();
    (
        worst,
        settings.circuit.k,
        op_cells as f64 / outputs.len() as f64,
    )
}

/// Advice cells perturbed per fixture when it has more (all of them when it has fewer).
const SWEEP_SAMPLE: usize = 256;

/// Under-constraint hunt: each sampled advice cell of the honest witness, incremented by one
/// after the layout (copies, lookups and instances unchanged), must make MockProver reject.
/// Returns (cells perturbed, cells in the layout).
fn perturbation_sweep(
    model: &zkinfer_prover::quantize::QuantizedModel,
    settings: &Settings,
    values: &[Vec<i128>],
    instances: &[halo2_base::halo2_proofs::halo2curves::bn256::Fr],
) -> (usize, usize) {
    use rand::SeedableRng;
    let k = settings.circuit.k as u32;
    let all = mock_circuit(model, &settings.circuit, values)
        .0
        .constrained_advice_cells();
    let cells = all.len();
    let sample: Vec<usize> = if cells <= SWEEP_SAMPLE {
        all
    } else {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cells as u64);
        rand::seq::index::sample(&mut rng, cells, SWEEP_SAMPLE)
            .into_iter()
            .map(|i| all[i])
            .collect()
    };
    let accepted = accepted_perturbations(k, instances, sample.iter().copied(), || {
        mock_circuit(model, &settings.circuit, values).0
    });
    assert!(
        accepted.is_empty(),
        "advice cells {accepted:?} of {cells} changed and accepted"
    );
    (sample.len(), cells)
}

/// Runs the family's fixtures (only those whose name contains `OPS_ONLY`, when it is set).
fn check_all(filter: impl Fn(&str) -> bool) {
    let only = std::env::var("OPS_ONLY").unwrap_or_default();
    let mut rows = Vec::new();
    for onnx in fixtures() {
        let name = onnx.file_stem().unwrap().to_string_lossy().to_string();
        if name.starts_with("unsupported_") || !filter(&name) || !name.contains(&only) {
            continue;
        }
        let (worst, k, per) = check_case(&onnx);
        rows.push(format!("| {name} | {k} | {worst:.2e} | {per:.1} |"));
    }
    assert!(!rows.is_empty() || !only.is_empty());
    eprintln!(
        "| case | k | worst abs err vs ORT | advice cells per output |\n|---|---|---|---|\n{}",
        rows.join("\n")
    );
    // `make ops-table` collects every family's rows into one file (bench/ops.md).
    if let Ok(path) = std::env::var("OPS_TABLE") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        // One write: the families run in parallel threads and append to the same file.
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        f.write_all(text.as_bytes()).unwrap();
    }
}

/// Fixture name prefixes per test family; every fixture must fall in one.
const LINEAR: &[&str] = &[
    "conv",
    "avgpool",
    "global_avgpool",
    "batchnorm",
    "reduce_sum",
    "reduce_mean",
    "gemm",
    "matmul",
    "cnn",
    "cumsum",
];
const ARITHMETIC_AND_PIECEWISE: &[&str] = &[
    "add",
    "sub",
    "mul",
    "div",
    "relu",
    "prelu",
    "min_",
    "sum_",
    "mean_",
    "leaky",
    "clip",
    "abs",
    "max",
    "global_maxpool",
    "reduce_max",
    "reduce_l1",
    "reduce_l2",
    "reduce_min",
    "pow",
    "floor",
];
const WIRING: &[&str] = &[
    "transpose",
    "concat",
    "slice",
    "squeeze",
    "pad",
    "gather",
    "identity",
    "torch_flatten",
    "expand",
    "tile",
    "fold_",
    "split",
    "shape_input",
    "depth_to_space",
    "space_to_depth",
    "resize",
];
const NONLINEAR: &[&str] = &[
    "fn_",
    "softmax",
    "layer_norm",
    "instance_norm",
    "group_norm",
    "reduce_log",
];
/// Models exported by PyTorch (`fixtures/make_exported_fixtures.py`).
const EXPORTED: &[&str] = &[
    "torch_causal",
    "torch_masked",
    "torch_dynamo",
    "torch_gpt",
    "torch_lstm",
    "torch_gru",
];
const COMPARISON_AND_SKLEARN: &[&str] = &[
    "cmp_", "sign", "neg", "argmax", "einsum", "sklearn_", "logic_", "topk",
];

fn in_family(family: &[&str], name: &str) -> bool {
    family.iter().any(|p| name.starts_with(p))
}

#[test]
fn linear_family_ops() {
    check_all(|n| in_family(LINEAR, n));
}

#[test]
fn arithmetic_and_piecewise_ops() {
    check_all(|n| in_family(ARITHMETIC_AND_PIECEWISE, n));
}

#[test]
fn wiring_ops() {
    check_all(|n| in_family(WIRING, n));
}

#[test]
fn nonlinear_ops() {
    check_all(|n| in_family(NONLINEAR, n));
}

#[test]
fn comparison_selection_and_sklearn_ops() {
    check_all(|n| in_family(COMPARISON_AND_SKLEARN, n));
}

#[test]
fn exported_models() {
    check_all(|n| in_family(EXPORTED, n));
}

#[test]
fn every_fixture_is_covered_by_a_test() {
    let families = [
        EXPORTED,
        LINEAR,
        ARITHMETIC_AND_PIECEWISE,
        WIRING,
        NONLINEAR,
        COMPARISON_AND_SKLEARN,
        &["unsupported_"],
    ];
    for onnx in fixtures() {
        let name = onnx.file_stem().unwrap().to_string_lossy().to_string();
        assert!(
            families.iter().any(|f| in_family(f, &name)),
            "{name} is not run by any test"
        );
    }
}

#[test]
fn an_unimported_ml_operator_is_unsupported_before_keygen() {
    let onnx = fixtures()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("unsupported_svm_classifier"))
        .unwrap();
    let dir = BuildDir::new(common::temp_dir("op-unsupported"));
    let calib = InputData::read(&sibling(&onnx, "calib.json")).unwrap();
    match compile(&onnx, &calib, QuantizationConfig::default(), &dir) {
        Err(Error::Unsupported { op, node }) => {
            assert_eq!(op, "SVMClassifier");
            assert_eq!(node, "svm");
        }
        other => panic!("expected unsupported, got {other:?}"),
    }
    assert!(!dir.settings().exists(), "the build directory stays empty");
}

#[test]
fn a_mask_reaching_anything_but_softmax_is_refused() {
    let onnx = fixtures()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("unsupported_mask_into_relu"))
        .unwrap();
    let dir = BuildDir::new(common::temp_dir("op-mask-relu"));
    let calib = InputData::read(&sibling(&onnx, "calib.json")).unwrap();
    match compile(&onnx, &calib, QuantizationConfig::default(), &dir) {
        Err(Error::InvalidNode { op, node, reason }) => {
            assert_eq!((op.as_str(), node.as_str()), ("Relu", "relu"));
            assert!(reason.contains("attention mask"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn masked_softmax_entries_are_exact_zeros() {
    let onnx = fixtures()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("softmax_causal_mask_add"))
        .unwrap();
    let dir = BuildDir::new(common::temp_dir("op-mask-zeros"));
    let calib = InputData::read(&sibling(&onnx, "calib.json")).unwrap();
    compile(&onnx, &calib, QuantizationConfig::default(), &dir).unwrap();
    let model = ModelArtifact::read(&dir.model()).unwrap().model;
    let input = InputData::read(&sibling(&onnx, "input.json")).unwrap();
    let values = witness(&model, &input).unwrap();
    let out = &values[model.outputs[0]];
    // A 4×4 causal mask: row r keeps columns 0..=r; the rest are masked.
    for (i, v) in out.iter().enumerate() {
        let (row, col) = (i / 4, i % 4);
        if col > row {
            assert_eq!(*v, 0, "masked entry ({row}, {col})");
        } else {
            assert!(*v > 0, "kept entry ({row}, {col}) is {v}");
        }
    }
}

#[test]
fn integer_shape_inputs_are_fixed_at_compile_and_held_to_their_value() {
    let onnx = fixtures()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("shape_input_with_ids"))
        .unwrap();
    let dir = BuildDir::new(common::temp_dir("op-shape-input"));
    let calib = InputData::read(&sibling(&onnx, "calib.json")).unwrap();
    let settings = compile(&onnx, &calib, QuantizationConfig::default(), &dir).unwrap();
    // The fewest inputs fixed: the shape, not the ids (data, which stay a circuit input).
    let fixed: Vec<_> = settings
        .specialized_inputs
        .iter()
        .map(|s| (s.position, s.name.as_str(), s.values.clone()))
        .collect();
    assert_eq!(fixed, vec![(1, "shape", vec![1.0, 12.0])]);
    assert_eq!(settings.input_shapes, vec![vec![3]]);
    let model = ModelArtifact::read(&dir.model()).unwrap().model;
    let mut input = InputData::read(&sibling(&onnx, "input.json")).unwrap();
    witness(&model, &input).unwrap();
    // Another value is refused with the input named, before any proof.
    input.input_data[1] = vec![2.0, 6.0];
    match witness(&model, &input) {
        Err(Error::InvalidInput(m)) => assert!(m.contains("'shape'") && m.contains("fixed"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // So is a missing array.
    input.input_data.truncate(1);
    assert!(matches!(
        witness(&model, &input),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn malformed_tree_ensembles_are_refused() {
    for (case, why) in [
        ("unsupported_tree_shared_node", "shared node"),
        ("unsupported_tree_without_branch", "no branch"),
    ] {
        let onnx = fixtures()
            .into_iter()
            .find(|p| p.to_string_lossy().contains(case))
            .unwrap();
        let dir = BuildDir::new(common::temp_dir(case));
        let calib = InputData::read(&sibling(&onnx, "calib.json")).unwrap();
        match compile(&onnx, &calib, QuantizationConfig::default(), &dir) {
            Err(Error::InvalidNode { op, reason, .. }) => {
                assert_eq!(op, "TreeEnsembleRegressor");
                assert!(reason.contains(why), "{case}: {reason}");
            }
            other => panic!("{case}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn computed_gather_indices_out_of_range_have_no_witness() {
    let onnx = fixtures()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("gather_computed_embedding"))
        .unwrap();
    let dir = BuildDir::new(common::temp_dir("op-gather-range"));
    let calib = InputData::read(&sibling(&onnx, "calib.json")).unwrap();
    compile(&onnx, &calib, QuantizationConfig::default(), &dir).unwrap();
    let model = ModelArtifact::read(&dir.model()).unwrap().model;
    let mut input = InputData::read(&sibling(&onnx, "input.json")).unwrap();
    // The table has 5 rows: -5..5 select one; 5, -6 and 2.5 select none (ONNX refuses them).
    for bad in [5.0, -6.0, 2.5] {
        input.input_data[0][1] = bad;
        match witness(&model, &input) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("index"), "{bad}: {m}"),
            other => panic!("{bad}: expected a refusal, got {other:?}"),
        }
    }
    input.input_data[0][1] = -5.0;
    witness(&model, &input).unwrap();
}
