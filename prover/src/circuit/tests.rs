//! Model-level MockProver tests of the circuit: packing, hashing, every-cell sweeps.

use super::planner::{try_fused_layout, try_layout};
use super::*;
use crate::chips::DotProducts;
use crate::fixed::to_field;
use crate::fixed::Scale;
use crate::ops;
use crate::quantize::{QNode, QOp, QuantizationConfig};
use halo2_base::halo2_proofs::dev::MockProver;

/// input[3] → Dense(3→2) → Relu: small enough to check every instance by hand.
fn tiny_model() -> QuantizedModel {
    let node = |name: &str, op, inputs: Vec<usize>, shape: Vec<usize>, bits| QNode {
        name: name.into(),
        op_type: name.into(),
        op,
        inputs,
        shape,
        bits,
        calibrated_max: 1.0,
    };
    QuantizedModel {
        nodes: vec![
            node(
                "input",
                QOp::Input(ops::wiring::Input { index: 0 }),
                vec![],
                vec![1, 3],
                10,
            ),
            node(
                "dense",
                QOp::Dense(ops::linear::Dense {
                    weights: vec![16, -16, 8, 0, 4, -4],
                    bias: vec![64, -64],
                    in_features: 3,
                    out_features: 2,
                }),
                vec![0],
                vec![1, 2],
                12,
            ),
            node("relu", QOp::Relu, vec![1], vec![1, 2], 12),
        ],
        inputs: vec![0],
        outputs: vec![2],
        config: QuantizationConfig {
            scale: Scale(4),
            weight_scale: Scale(4),
            margin_bits: 1,
            table_bits: 12,
        },
        privacy: Default::default(),
        param_salt: None,
        specialized: Vec::new(),
    }
}

/// [`tiny_model`] with hashed inputs, outputs and parameters (parameter salt 99).
fn hashed_tiny_model() -> QuantizedModel {
    use crate::commitment::{ParamVisibility, Privacy, Visibility};
    let mut model = tiny_model();
    model.privacy = Privacy {
        inputs: Visibility::Hashed,
        outputs: Visibility::Hashed,
        params: ParamVisibility::Hashed,
    };
    model.param_salt = Some(crate::fixed::field_to_hex(&Fr::from(99)));
    model
}

/// Hashed inputs, outputs and parameters: three commitment instances, each binding.
#[test]
fn hashed_groups_are_committed_and_bind() {
    use crate::commitment::{commit, param_commitment};
    let model = hashed_tiny_model();
    let params = plan(&model, 4).unwrap();
    let values = model.forward(&[vec![3, -2, 5]], true).unwrap();
    let salt = Fr::from(7);
    let bindings = Bindings {
        salt,
        subject: Fr::from(TEST_SUBJECT),
        ..Bindings::default()
    };
    let (circuit, instances) = mock_circuit_bound(&model, &params, &values, bindings);
    assert_eq!(instances.len(), 4);
    assert_eq!(instances[3], bindings.subject);
    let outputs: Vec<Fr> = values[2].iter().map(|v| to_field(*v)).collect();
    assert_eq!(instances[1], commit(salt, &outputs));
    assert_eq!(instances[2], param_commitment(&model, Fr::from(99)));
    let k = params.k as u32;
    assert!(MockProver::run(k, &circuit, vec![instances.clone()])
        .unwrap()
        .verify()
        .is_ok());
    for i in 0..instances.len() {
        let mut bad = instances.clone();
        bad[i] += Fr::one();
        let (circuit, _) = mock_circuit_bound(&model, &params, &values, bindings);
        assert!(
            MockProver::run(k, &circuit, vec![bad])
                .unwrap()
                .verify()
                .is_err(),
            "commitment or subject instance {i} changed and accepted"
        );
    }
}

/// The Poseidon commitments of hashed inputs, outputs and parameters: changing any one of
/// a random sample of advice cells of the honest witness (sponge states, packed words, the
/// model) is rejected. (All of them take minutes; each run samples other ones, and a failure
/// names its cell.)
#[test]
fn hashed_layout_rejects_every_single_cell_change() {
    let model = hashed_tiny_model();
    let params = plan(&model, 4).unwrap();
    let values = model.forward(&[vec![3, -2, 5]], true).unwrap();
    let bindings = Bindings {
        salt: Fr::from(7),
        subject: Fr::from(TEST_SUBJECT),
        ..Bindings::default()
    };
    let (mut circuit, instances) = mock_circuit_bound(&model, &params, &values, bindings);
    let all = circuit.constrained_advice_cells();
    let cells = all.len();
    let k = params.k as u32;
    assert!(MockProver::run(k, &circuit, vec![instances.clone()])
        .unwrap()
        .verify()
        .is_ok());
    eprintln!("hashed layout: 512 of {cells} advice cells perturbed");
    let sample = rand::seq::index::sample(&mut rand::thread_rng(), cells, 512)
        .into_iter()
        .map(|i| all[i]);
    let accepted = accepted_perturbations(k, &instances, sample, || {
        mock_circuit_bound(&model, &params, &values, bindings).0
    });
    assert!(
        accepted.is_empty(),
        "advice cells {accepted:?} of {cells} changed and accepted"
    );
}

/// The tiny model with its dense layer in a dot-product region (widths 1–3: two groups, one
/// full group, one partial group; batches of one and two rows): the honest witness passes,
/// and changing any one advice cell a constraint reads (gate column and region) is rejected.
#[test]
fn dot_layout_rejects_every_single_cell_change() {
    // Batch 1, and batch 2 (two input rows through the same neurons).
    let mut batched = tiny_model();
    for (node, shape) in batched.nodes.iter_mut().zip([[2, 3], [2, 2], [2, 2]]) {
        node.shape = shape.to_vec();
    }
    let cases = [
        (tiny_model(), vec![5, -7, 1000]),
        (batched, vec![5, -7, 1000, 3, 2, -1]),
    ];
    for (model, input) in cases {
        let batch = input.len() / 3;
        check_dot_layout(&model, &model.forward(&[input], true).unwrap(), batch);
    }
}

fn check_dot_layout(model: &QuantizedModel, values: &[Vec<i128>], batch: usize) {
    let placeholders = placeholder_values(model).unwrap();
    let table = std::sync::Arc::new(function_table(model));
    for width in 1..=3 {
        let dot = Some(DotShape { width });
        let params = try_fused_layout(model, &placeholders, &table, 9, dot, false).unwrap();
        assert_eq!(params.dot, dot);
        assert_eq!(params.dot_rows, batch * DotProducts::rows_for(2, 3, width));
        let k = params.k as u32;
        let (mut circuit, instances) = mock_circuit(model, &params, values);
        let outputs: Vec<Fr> = values[2].iter().map(|v| to_field(*v)).collect();
        let n = instances.len();
        assert_eq!(&instances[n - 1 - outputs.len()..n - 1], &outputs[..]);
        assert_eq!(instances[n - 1], Fr::from(TEST_SUBJECT));
        assert!(MockProver::run(k, &circuit, vec![instances.clone()])
            .unwrap()
            .verify()
            .is_ok());
        let all = circuit.constrained_advice_cells();
        let main = circuit.builder.main(0).advice.len();
        assert!(all.len() > main, "the region's cells are swept");
        let accepted = accepted_perturbations(k, &instances, all, || {
            mock_circuit(model, &params, values).0
        });
        assert!(
            accepted.is_empty(),
            "batch {batch}, width {width}: cells {accepted:?} accepted"
        );
    }
}

/// [`tiny_model`] followed by a sparse affine map (as a convolution or pooling lowers to) with a
/// zero weight among its terms.
fn chain_model() -> QuantizedModel {
    let mut model = tiny_model();
    let mut linear = model.nodes[2].clone();
    linear.name = "linear".into();
    linear.op_type = "Conv".into();
    linear.op = QOp::Linear(ops::linear::Linear {
        terms: vec![vec![(0, 24), (1, -8)], vec![(1, 0), (0, 4)]],
        bias: vec![80, -48],
    });
    linear.inputs = vec![2];
    linear.bits = 14;
    model.nodes.push(linear);
    model.outputs = vec![3];
    model
}

/// Multiply-accumulate chains on the gate column (dense and sparse layers, batches of one and
/// two rows): fewer cells than halo2-base's inner products, the honest witness passes, and
/// changing any one advice cell (a running sum, a copied input, the bias) is rejected.
#[test]
fn chain_layout_rejects_every_single_cell_change() {
    let mut batched = chain_model();
    // The sparse map reads the first row only.
    for (node, shape) in batched
        .nodes
        .iter_mut()
        .zip([[2, 3], [2, 2], [2, 2], [1, 2]])
    {
        node.shape = shape.to_vec();
    }
    let cases = [
        (chain_model(), vec![5, -7, 1000]),
        (batched, vec![5, -7, 1000, 3, 2, -1]),
    ];
    for (model, input) in cases {
        let values = model.forward(&[input], true).unwrap();
        let placeholders = placeholder_values(&model).unwrap();
        let table = std::sync::Arc::new(function_table(&model));
        let plain = try_fused_layout(&model, &placeholders, &table, 9, None, false).unwrap();
        let params = try_fused_layout(&model, &placeholders, &table, 9, None, true).unwrap();
        assert!(params.fused.is_some_and(|f| f.mac_chain));
        // Nonzero terms: 5 dense per input row, 3 sparse; one cell fewer each, and fewer for
        // the rescales on the chains, with the ReLU fused into the dense layer's.
        let rows = values[0].len() / 3;
        let terms = 5 * rows + 3;
        assert!(plain.advice_cells > params.advice_cells + terms);
        assert!(params.fused.is_some_and(|f| f.chained_rescale));
        let cost = |p: &CircuitParams, i: usize| p.node_costs[i].advice_cells;
        assert_eq!(
            cost(&params, 2),
            0,
            "the ReLU is laid out with the dense layer"
        );
        assert!(cost(&params, 1) + 3 * rows < cost(&plain, 1) + cost(&plain, 2) - 5 * rows);
        let k = params.k as u32;
        let (mut circuit, instances) = mock_circuit(&model, &params, &values);
        let outputs: Vec<Fr> = values[3].iter().map(|v| to_field(*v)).collect();
        let n = instances.len();
        assert_eq!(&instances[n - 1 - outputs.len()..n - 1], &outputs[..]);
        assert!(MockProver::run(k, &circuit, vec![instances.clone()])
            .unwrap()
            .verify()
            .is_ok());
        assert_eq!(params.base.num_advice_per_phase, [1]);
        // The terms and the rescales' steps (at least one per output element).
        let chained = circuit.macs.as_ref().map_or(0, |m| m.len());
        assert!(chained >= terms + values[3].len() + values[1].len());
        let all = circuit.constrained_advice_cells();
        let accepted = accepted_perturbations(k, &instances, all, || {
            mock_circuit(&model, &params, &values).0
        });
        assert!(
            accepted.is_empty(),
            "rows {rows}: cells {accepted:?} accepted"
        );
        // Settings edited to two gate columns have no chain gate: synthesis refuses the chains.
        let mut wide = params.clone();
        wide.base.num_advice_per_phase = vec![2];
        let (circuit, instances) = mock_circuit(&model, &wide, &values);
        assert!(MockProver::run(k, &circuit, vec![instances]).is_err());
    }
}

#[test]
fn inputs_are_packed_and_outputs_follow() {
    let model = tiny_model();
    let params = plan(&model, MAX_ADVICE_COLUMNS).unwrap();
    let inputs = vec![vec![5i128, -7, 1000]];
    let values = model.forward(&inputs, true).unwrap();
    let (circuit, instances) = mock_circuit(&model, &params, &values);
    assert_eq!(params.input_words, 1);
    let lane = 11; // bits 10 + 1
    let packed: i128 = inputs[0]
        .iter()
        .enumerate()
        .map(|(j, x)| (x + (1 << 10)) << (lane * j))
        .sum();
    assert_eq!(instances[0], to_field(packed));
    assert_eq!(
        &instances[1..],
        &[
            to_field(values[2][0]),
            to_field(values[2][1]),
            Fr::from(TEST_SUBJECT)
        ]
    );
    let k = params.k as u32;
    assert!(MockProver::run(k, &circuit, vec![instances.clone()])
        .unwrap()
        .verify()
        .is_ok());
    // Changing the packed input word, an output or the subject instance is rejected.
    for (i, delta) in [
        (0usize, 1i128),
        (0, 1 << lane),
        (1, 1),
        (2, -1),
        (3, 1),
        (3, -1),
    ] {
        let mut bad = instances.clone();
        bad[i] += to_field(delta);
        assert!(
            MockProver::run(k, &circuit, vec![bad])
                .unwrap()
                .verify()
                .is_err(),
            "instance {i} + {delta}"
        );
    }
    // Swapped outputs are rejected.
    let mut swapped = instances.clone();
    swapped.swap(1, 2);
    assert_ne!(swapped, instances);
    assert!(MockProver::run(k, &circuit, vec![swapped])
        .unwrap()
        .verify()
        .is_err());
    // Another subject's statement is rejected, and so is a subject swapped with an output.
    let mut other = instances.clone();
    other[3] = Fr::from(0xB0Bu64);
    let mut swapped = instances.clone();
    swapped.swap(2, 3);
    for bad in [other, swapped] {
        assert!(MockProver::run(k, &circuit, vec![bad])
            .unwrap()
            .verify()
            .is_err());
    }
    // A circuit laid out for another subject does not satisfy this statement either.
    let bindings = Bindings {
        salt: Fr::zero(),
        subject: Fr::from(0xB0Bu64),
        ..Bindings::default()
    };
    let (for_bob, bob_instances) = mock_circuit_bound(&model, &params, &values, bindings);
    assert_eq!(bob_instances[..3], instances[..3]);
    assert!(MockProver::run(k, &for_bob, vec![instances.clone()])
        .unwrap()
        .verify()
        .is_err());
    assert!(MockProver::run(k, &for_bob, vec![bob_instances])
        .unwrap()
        .verify()
        .is_ok());
}

/// The `fn_sigmoid` op fixture compiled with 2^8-entry tables, and the values of its input.
pub(super) fn sigmoid_fixture() -> (QuantizedModel, Vec<Vec<i128>>) {
    let fixture = |ext: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/ops/fn_sigmoid")
            .with_extension(ext)
    };
    let calibration = crate::input::InputData::read(&fixture("calib.json")).unwrap();
    let input = crate::input::InputData::read(&fixture("input.json")).unwrap();
    let config = QuantizationConfig {
        table_bits: 8,
        ..QuantizationConfig::default()
    };
    let imported = crate::onnx::import(&fixture("onnx")).unwrap();
    let (_, model) =
        crate::pipeline::compile_model(imported, "", &calibration, config, Default::default())
            .unwrap();
    let values = model
        .forward(&model.quantize_inputs(&input.input_data), true)
        .unwrap();
    (model, values)
}

/// The separate layout (several gate columns, halo2-base's range lookup, function lookups
/// copied into their own columns), as multi-column models take: changing any one advice
/// cell of a sigmoid model's honest witness is rejected.
#[test]
fn separate_layout_rejects_every_single_cell_change() {
    let (model, values) = sigmoid_fixture();
    let table = std::sync::Arc::new(function_table(&model));
    let (params, _) = try_layout(
        &model,
        &placeholder_values(&model).unwrap(),
        &table,
        9,
        None,
        None,
    );
    assert!(params.fused.is_none() && params.lookup_columns >= 1);
    assert!(params.base.num_advice_per_phase[0] > 1, "{:?}", params.base);
    let k = params.k as u32;
    let (mut circuit, instances) = mock_circuit(&model, &params, &values);
    let all = circuit.constrained_advice_cells();
    let cells = all.len();
    assert!(MockProver::run(k, &circuit, vec![instances.clone()])
        .unwrap()
        .verify()
        .is_ok());
    let accepted = accepted_perturbations(k, &instances, all, || {
        mock_circuit(&model, &params, &values).0
    });
    assert!(
        accepted.is_empty(),
        "advice cells {accepted:?} of {cells} changed and accepted"
    );
}

#[test]
fn lanes_fit_below_the_modulus() {
    for lane in 1..=65 {
        assert!(lanes_per_word(lane) as u32 * lane <= PACK_BITS);
    }
}

/// `plan_as` holds the planner to each layout family (`compile --layout`): every forced layout
/// is of its family and proves the honest witness, `Auto` follows the planner's rule, and a
/// family that cannot hold the model is refused by name.
#[test]
fn plan_as_holds_the_planner_to_each_layout() {
    let model = chain_model();
    let values = model.forward(&[vec![5, -7, 1000]], true).unwrap();
    let mut ks = Vec::new();
    for choice in LayoutChoice::ALL {
        let params = plan_as(&model, MAX_ADVICE_COLUMNS, choice).unwrap();
        if choice != LayoutChoice::Auto {
            assert_eq!(params.layout(), choice, "{choice:?}");
        }
        ks.push((choice, params.k, params.layout()));
        let (circuit, instances) = mock_circuit(&model, &params, &values);
        MockProver::run(params.k as u32, &circuit, vec![instances])
            .unwrap()
            .assert_satisfied();
    }
    // The rule: where the plain column and the chains both fit at the smallest k, the plain
    // column (no weight column to commit to), though four columns would take one k less.
    assert_eq!(
        ks[0],
        (LayoutChoice::Auto, 9, LayoutChoice::Plain),
        "{ks:?}"
    );
    assert_eq!(
        ks[4],
        (LayoutChoice::Columns, 8, LayoutChoice::Columns),
        "{ks:?}"
    );
    let refused = |model: &QuantizedModel, columns, choice| {
        plan_as(model, columns, choice).unwrap_err().to_string()
    };
    let no_dot = refused(&model, 1, LayoutChoice::Dot);
    assert!(
        no_dot.contains("dot layout") && no_dot.contains("--max-columns 2"),
        "{no_dot}"
    );
    let (sigmoid, _) = sigmoid_fixture();
    let no_dense = refused(&sigmoid, MAX_ADVICE_COLUMNS, LayoutChoice::Dot);
    assert!(no_dense.contains("no dense layer"), "{no_dense}");
}
