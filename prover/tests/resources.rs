//! Resource limits at compile: the memory estimate is recorded, and a circuit estimated above
//! the limit is refused with its numbers, before any layout when even a lower bound exceeds it.

mod common;

use zkinfer_prover::input::InputData;
use zkinfer_prover::model::{Model, Node, Op};
use zkinfer_prover::onnx::import;
use zkinfer_prover::pipeline::{compile_model, CircuitOptions};
use zkinfer_prover::quantize::QuantizationConfig;
use zkinfer_prover::resources::{MemoryLimit, ResourceEstimate};
use zkinfer_prover::Error;

fn example() -> (Model, InputData) {
    let model = import(&common::example_file("model.onnx")).unwrap();
    let calibration = InputData::read(&common::example_file("calibration.json")).unwrap();
    (model, calibration)
}

fn options(limit: Option<u64>) -> CircuitOptions {
    CircuitOptions {
        memory_limit: limit.map(MemoryLimit::given),
        ..CircuitOptions::default()
    }
}

#[test]
fn the_estimate_is_recorded_and_a_lower_limit_refuses_the_example() {
    let (model, calibration) = example();
    let config = QuantizationConfig::default();
    let (settings, _) =
        compile_model(model.clone(), "", &calibration, config, options(None)).unwrap();
    let estimate = settings.resources.expect("estimate recorded");
    assert_eq!(estimate.k, settings.circuit.k);
    // The example proves in ~15-20 MiB; the estimate is conservative but of that order.
    assert!(
        (20 << 20..200 << 20).contains(&estimate.proving_bytes),
        "{estimate:?}"
    );

    let limit = Some(estimate.proving_bytes);
    assert!(compile_model(model.clone(), "", &calibration, config, options(limit)).is_ok());
    let limit = Some(estimate.proving_bytes - 1);
    match compile_model(model, "", &calibration, config, options(limit)) {
        Err(Error::TooLarge {
            k,
            needed_mib,
            qualifier,
            ..
        }) => {
            assert_eq!(k, settings.circuit.k);
            assert_eq!(needed_mib, estimate.proving_bytes >> 20);
            assert_eq!(qualifier, "about");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

/// An `inputs` → `outputs` dense layer with small nonzero weights.
fn dense_model(inputs: usize, outputs: usize) -> (Model, InputData) {
    let node = |name: &str, op, inputs: Vec<usize>, shape: Vec<usize>| Node {
        name: name.into(),
        op_type: name.into(),
        op,
        inputs,
        shape,
    };
    let model = Model {
        nodes: vec![
            node(
                "input",
                Op::Input(zkinfer_prover::ops::wiring::Input { index: 0 }),
                vec![],
                vec![1, inputs],
            ),
            node(
                "dense",
                Op::Dense(zkinfer_prover::ops::linear::Dense {
                    weights: (0..inputs * outputs)
                        .map(|i| ((i % 17) as f64 - 8.5) / 64.0)
                        .collect(),
                    bias: vec![0.0; outputs],
                    in_features: inputs,
                    out_features: outputs,
                }),
                vec![0],
                vec![1, outputs],
            ),
        ],
        inputs: vec![0],
        outputs: vec![1],
        specialized: Vec::new(),
    };
    let calibration = InputData {
        input_data: vec![(0..inputs).map(|i| (i % 5) as f64 / 4.0).collect()],
        salt: None,
        subject: None,
    };
    (model, calibration)
}

/// A 256 → 256 dense layer takes a dot-product region (one gate column would need 2^18 rows);
/// the lower bound, checked before any layout, stays below the planned circuit's estimate.
#[test]
fn the_lower_bound_stays_below_a_dot_product_layout() {
    let (model, calibration) = dense_model(256, 256);
    let config = QuantizationConfig::default();
    let (settings, qmodel) = compile_model(model, "", &calibration, config, options(None)).unwrap();
    let dot = settings.circuit.dot.expect("a dot-product region");
    assert!(settings.circuit.k <= 16, "k = {}", settings.circuit.k);
    assert_eq!(
        settings.circuit.dot_rows,
        256usize.div_ceil(dot.width) * 257
    );
    let estimate = settings.resources.expect("estimate recorded");
    let bound = ResourceEstimate::lower_bound(&qmodel);
    assert!(
        bound.proving_bytes <= estimate.proving_bytes,
        "bound {bound:?} above the estimate {estimate:?}"
    );
}

/// A 1024 → 4096 dense layer: 4M multiply-accumulates, far beyond 256 MiB. It is refused on
/// the lower bound, before the planner lays out (and holds in memory) its 12M cells.
#[test]
fn a_model_too_large_for_the_limit_is_refused_before_layout() {
    let (model, calibration) = dense_model(1024, 4096);
    let started = std::time::Instant::now();
    let err = compile_model(
        model,
        "",
        &calibration,
        QuantizationConfig::default(),
        options(Some(256 << 20)),
    )
    .unwrap_err();
    match &err {
        Error::TooLarge {
            k,
            needed_mib,
            qualifier,
            limit_mib,
            ..
        } => {
            assert_eq!(*qualifier, "at least", "{err}");
            assert!(*k >= 20 && *needed_mib > 1024 && *limit_mib == 256, "{err}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("rows") && msg.contains("--max-memory"),
        "{msg}"
    );
    eprintln!("refused in {:?}: {msg}", started.elapsed());
}

/// A convolution is a sparse linear map of three cells per term: the lower bound counts them
/// (a CNN's bound was its tensors alone) and stays below the planned circuit's estimate.
#[test]
fn the_lower_bound_counts_convolution_terms_and_stays_below_the_layout() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ops");
    let calibration =
        zkinfer_prover::input::InputData::read(&dir.join("conv_basic.calib.json")).unwrap();
    let model =
        zkinfer_prover::onnx::import_specialized(&dir.join("conv_basic.onnx"), Some(&calibration))
            .unwrap();
    let config = QuantizationConfig::default();
    let (settings, qmodel) = compile_model(model, "", &calibration, config, options(None)).unwrap();
    let terms = zkinfer_prover::resources::linear_terms(&qmodel);
    assert!(terms > 0, "conv_basic has no Linear node");
    let bound = ResourceEstimate::lower_bound(&qmodel);
    let estimate = settings.resources.expect("estimate recorded");
    assert!(
        bound.proving_bytes <= estimate.proving_bytes,
        "bound {bound:?} above the estimate {estimate:?}"
    );
    // At least two cells a term (three in an inner product, two in a chain) are laid out.
    assert!(
        2 * terms <= settings.circuit.advice_cells as u64,
        "{terms} terms, {} cells",
        settings.circuit.advice_cells
    );
}
