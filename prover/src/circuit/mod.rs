//! Circuit layout: the quantized model as a halo2-base circuit (KZG on BN254).
//!
//! Public instances are the graph inputs, packed several per field element, followed by the
//! graph outputs, one signed fixed-point integer per field element (negative values as `p - |x|`),
//! the parameter commitment when parameters are hashed, and last the *subject*: the account the
//! statement is about (an address as a field element, see [`Bindings`]), so that a verified
//! output can be credited to the account the proof names and to no one else.
//! Weights are circuit constants: constant cells of halo2-base's gates, or, for dense layers too
//! large for one gate column, fixed cells of a dot-product region ([`DotProducts`]).
//!
//! Input packing: every input `x` is range-checked to `[-2^b, 2^b)`, so its lane `x + 2^b` has
//! `b + 1` bits; [`PACK_BITS`] / (`b + 1`) lanes are packed little-endian into one instance word.
//! The lanes are range-checked and the word stays below `2^248 < p`, so a word determines its
//! inputs uniquely. Packing keeps calldata small and the generated verifier under EIP-170.

mod dense;
mod dot;
mod lookup;
mod ops;
mod relu;
mod rescale;
mod select;
#[cfg(test)]
pub(crate) mod testing;

pub use dense::DenseChip;
pub use dot::{DotProducts, DotShape, MAX_DOT_WIDTH};
pub use lookup::{
    function_table, FunctionLookups, FusedLookup, ModelCircuit, ModelCircuitParams, LOOKUP_WIDTH,
};
pub use relu::{Rectified, ReluChip};
pub use rescale::{RescaleChip, Rescaled};
pub use select::{magnitude_bits, SelectChip};

use halo2_base::gates::circuit::{
    builder::BaseCircuitBuilder, BaseCircuitParams, CircuitBuilderStage,
};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use serde::{Deserialize, Serialize};

use crate::commitment::{commit_in_circuit, param_groups, ParamVisibility, Visibility};
use crate::fixed::to_field;
use crate::quantize::{QOp, QuantizedModel};
use crate::{Error, Result};

/// Rows at the bottom of the circuit kept free for blinding factors.
pub const BLINDING_ROWS: usize = 20;
/// Smallest circuit size (log2 rows).
pub const MIN_K: usize = 8;
/// Largest circuit size this build accepts (log2 rows).
pub const MAX_K: usize = 24;
/// By default the planner grows `k` until the advice cells fit in this many gate columns (or a
/// dot-product region of this many columns fits beside one gate column): few columns keep the
/// proof, the verifier's gas and its bytecode small. More gate columns at a smaller `k` prove
/// faster (mlp_large before the dot-product region: k=17/4 columns 11.6 s, k=16/7 7.7 s, k=15/14
/// 6.5 s) but the generated verifier outgrows EIP-170 (24.8 kB at 7 columns, 34.7 kB at 14).
pub const MAX_ADVICE_COLUMNS: usize = 4;
/// Bits of an instance word used for packed input lanes (below the field's 253 usable bits).
pub const PACK_BITS: u32 = 248;

/// The circuit's shape, fixed at compile time and stored in the settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CircuitParams {
    /// log2 of the number of rows.
    pub k: usize,
    /// halo2-base configuration (columns, lookup bits, instance columns).
    pub base: BaseCircuitParams,
    /// Advice cells used by the gates.
    pub advice_cells: usize,
    /// Cells range-checked through the lookup table.
    pub lookup_cells: usize,
    /// Distinct constants (fixed cells).
    pub fixed_cells: usize,
    /// Number of public instances (packed input words, outputs, parameter commitment, subject).
    pub num_instances: usize,
    /// How many leading instances are packed input words.
    pub input_words: usize,
    /// Per-node cost, in graph order.
    pub node_costs: Vec<NodeCost>,
    /// Advice column triples for function lookups.
    #[serde(default)]
    pub lookup_columns: usize,
    /// Rows of the function table.
    #[serde(default)]
    pub table_rows: usize,
    /// `Some`: range checks, constants and functions share one lookup on the single gate
    /// column (see [`ModelCircuitParams::fused`]).
    #[serde(default)]
    pub fused: Option<FusedLookup>,
    /// `Some`: the dense layers' multiply-accumulates take a dot-product region of their own
    /// (one input and `width` running sums per row, weights in fixed columns).
    #[serde(default)]
    pub dot: Option<DotShape>,
    /// Rows of the dot-product region.
    #[serde(default)]
    pub dot_rows: usize,
}

impl CircuitParams {
    /// The parameters [`ModelCircuit`] is configured with.
    pub fn model_params(&self) -> ModelCircuitParams {
        ModelCircuitParams {
            base: self.base.clone(),
            lookup_columns: self.lookup_columns,
            fused: self.fused,
            dot: self.dot,
        }
    }

    /// Bits of one range-table entry.
    pub fn lookup_bits(&self) -> usize {
        self.fused
            .map(|f| f.lookup_bits)
            .or(self.base.lookup_bits)
            .unwrap_or_default()
    }
}

/// How many input lanes of `lane_bits` bits share one instance word.
pub fn lanes_per_word(lane_bits: u32) -> usize {
    (PACK_BITS / lane_bits) as usize
}

/// Cells a node costs in the circuit (the compile report's per-layer table).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeCost {
    /// ONNX node name.
    pub name: String,
    /// ONNX op type.
    pub op_type: String,
    /// Advice cells in the gate columns.
    pub advice_cells: usize,
    /// Cells range-checked through the lookup table.
    pub lookup_cells: usize,
    /// Rows of the dot-product region.
    #[serde(default)]
    pub dot_rows: usize,
}

/// What a proof binds besides the model's tensors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bindings {
    /// The data owner's secret salt for hashed inputs and outputs.
    pub salt: Fr,
    /// Who the statement is about: an address (below 2^160) as a field element, the last public
    /// instance. It is a witness cell copied to the instance column, so a proof made for one
    /// subject does not verify for another.
    pub subject: Fr,
}

impl Bindings {
    /// Bindings with a salt and no subject (zero).
    pub fn salted(salt: Fr) -> Self {
        Bindings {
            salt,
            subject: Fr::zero(),
        }
    }
}

/// What laying out a model produced.
pub struct Synthesis {
    /// Public instance values (packed input words, outputs, parameter commitment, subject).
    pub instances: Vec<Fr>,
    /// How many leading instances are packed input words.
    pub input_words: usize,
    /// Per-node cost.
    pub costs: Vec<NodeCost>,
}

/// Lays out `model` on `builder` with the given tensor values; the bindings' salt keys the
/// commitments of hashed inputs/outputs (see [`crate::commitment`]) and its subject is the last
/// public instance.
pub fn synthesize(
    circuit: &mut ModelCircuit,
    model: &QuantizedModel,
    values: &[Vec<i128>],
    bindings: Bindings,
) -> Synthesis {
    let salt = bindings.salt;
    let range = circuit.range_chip();
    let builder = &mut circuit.builder;
    let mut recorders = ops::Recorders {
        lookups: &mut circuit.lookups,
        dot: circuit.dot.as_mut(),
    };
    let ctx = builder.main(0);
    let privacy = model.privacy;
    let salt = (privacy.inputs == Visibility::Hashed || privacy.outputs == Visibility::Hashed)
        .then(|| ctx.load_witness(salt));
    let mut hashed_words = Vec::new();
    // Hashed parameters: witness cells, range-checked and packed per group, committed below.
    let mut params: Vec<Vec<Vec<AssignedValue<Fr>>>> = vec![Vec::new(); model.nodes.len()];
    let mut param_words = Vec::new();
    if privacy.params == ParamVisibility::Hashed {
        for (node, values, bits) in param_groups(model) {
            let cells: Vec<_> = values
                .iter()
                .map(|v| ctx.load_witness(to_field((*v).into())))
                .collect();
            let lanes: Vec<_> = cells
                .iter()
                .map(|c| range_check_signed(ctx, &range, *c, bits))
                .collect();
            param_words.extend(pack(ctx, &range, &lanes, bits + 1));
            params[node].push(cells);
        }
    }
    let mut cells: Vec<Vec<AssignedValue<Fr>>> = Vec::with_capacity(model.nodes.len());
    let mut public = Vec::new();
    let mut costs = Vec::with_capacity(model.nodes.len());
    for (node, vals) in model.nodes.iter().zip(values) {
        let (advice0, lookup0) = (ctx.advice.len(), range.lookup_manager()[0].total_rows());
        let dot0 = recorders.dot.as_ref().map_or(0, |d| d.rows());
        let out = match &node.op {
            QOp::Input { .. } => {
                let xs: Vec<_> = vals
                    .iter()
                    .map(|v| ctx.load_witness(to_field(*v)))
                    .collect();
                let lanes: Vec<_> = xs
                    .iter()
                    .map(|x| range_check_signed(ctx, &range, *x, node.bits))
                    .collect();
                // Private inputs keep their range checks (later chips rely on the bounds).
                match privacy.inputs {
                    Visibility::Public => public.extend(pack(ctx, &range, &lanes, node.bits + 1)),
                    Visibility::Private => {}
                    Visibility::Hashed => {
                        hashed_words.extend(pack(ctx, &range, &lanes, node.bits + 1))
                    }
                }
                xs
            }
            _ => {
                // Only filled when parameters are hashed.
                let p = (!params[cells.len()].is_empty()).then(|| params[cells.len()].as_slice());
                ops::lay_out(ctx, &range, &mut recorders, model, node, &cells, p)
            }
        };
        costs.push(NodeCost {
            name: node.name.clone(),
            op_type: node.op_type.clone(),
            advice_cells: ctx.advice.len() - advice0,
            lookup_cells: range.lookup_manager()[0].total_rows() - lookup0 + lookups_in(node),
            dot_rows: recorders.dot.as_ref().map_or(0, |d| d.rows()) - dot0,
        });
        cells.push(out);
    }
    if let (Visibility::Hashed, Some(salt)) = (privacy.inputs, salt) {
        public.push(commit_in_circuit(ctx, range.gate(), salt, &hashed_words));
    }
    let input_words = public.len();
    let outputs = model.outputs.iter().flat_map(|&o| cells[o].iter().copied());
    match (privacy.outputs, salt) {
        (Visibility::Hashed, Some(salt)) => {
            let outputs: Vec<_> = outputs.collect();
            public.push(commit_in_circuit(ctx, range.gate(), salt, &outputs));
        }
        (Visibility::Private, _) => {}
        _ => public.extend(outputs),
    }
    if privacy.params == ParamVisibility::Hashed {
        let salt = model
            .param_salt
            .as_deref()
            .and_then(crate::fixed::field_from_hex)
            .unwrap_or_default();
        let salt = ctx.load_witness(salt);
        public.push(commit_in_circuit(ctx, range.gate(), salt, &param_words));
    }
    // The subject: a witness copied to the last instance, bound like every instance (the
    // transcript absorbs it and the copy constraint ties the proof to its value).
    public.push(ctx.load_witness(bindings.subject));
    let instances = public.iter().map(|c| *c.value()).collect();
    builder.assigned_instances = vec![public];
    circuit.finish_layout();
    Synthesis {
        instances,
        input_words,
        costs,
    }
}

/// Proves `x ∈ [-2^bits, 2^bits)`; returns the lane `x + 2^bits ∈ [0, 2^(bits+1))`.
fn range_check_signed(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: AssignedValue<Fr>,
    bits: u32,
) -> AssignedValue<Fr> {
    let shifted = range.gate().add(ctx, x, Constant(to_field(1i128 << bits)));
    range.range_check(ctx, shifted, bits as usize + 1);
    shifted
}

/// Packs range-checked lanes of `lane_bits` bits into words, little-endian.
fn pack(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    lanes: &[AssignedValue<Fr>],
    lane_bits: u32,
) -> Vec<AssignedValue<Fr>> {
    let pow = &range.gate().pow_of_two;
    lanes
        .chunks(lanes_per_word(lane_bits))
        .map(|chunk| {
            let weights = (0..chunk.len()).map(|j| Constant(pow[j * lane_bits as usize]));
            range
                .gate()
                .inner_product(ctx, chunk.iter().copied(), weights)
        })
        .collect()
}

/// Values of every tensor for an all-zero input, unchecked: the layout does not depend on them.
fn placeholder_values(model: &QuantizedModel) -> Result<Vec<Vec<i128>>> {
    let zeros: Vec<Vec<i128>> = model.input_lens().iter().map(|n| vec![0; *n]).collect();
    model.forward(&zeros, false)
}

fn lookups_in(node: &crate::quantize::QNode) -> usize {
    match node.op {
        QOp::Lookup { .. } => node.shape.iter().product(),
        _ => 0,
    }
}

/// A planning builder: halo2-base's range table of `k - 1` bits, or none in the fused layout.
fn builder(stage: CircuitBuilderStage, k: usize, fused: bool) -> BaseCircuitBuilder<Fr> {
    let b = BaseCircuitBuilder::from_stage(stage)
        .use_k(k)
        .use_instance_columns(1);
    if fused {
        b
    } else {
        b.use_lookup_bits(k - 1)
    }
}

/// Range bits of the fused table at `2^k` rows: the largest that leaves room for `other` rows
/// (functions, constants) and one all-zero row, at most `k - 1`.
fn fused_bits(k: usize, other: usize) -> Option<usize> {
    let free = (1usize << k).checked_sub(BLINDING_ROWS + other + 1)?;
    let bits = (free.checked_ilog2()? as usize).min(k - 1);
    (bits >= MIN_FUSED_BITS).then_some(bits)
}

/// Smallest range-table width of the fused layout (narrower tables cost many limbs).
const MIN_FUSED_BITS: usize = 8;

/// Chooses the circuit size and width, with a `k-1`-bit range table.
///
/// A model that fits one gate column takes the fused layout (range checks, constants and
/// functions in one lookup on that column, with the range table narrowed to make room).
///
/// Among layouts with at most `max_columns` advice columns it takes the smallest domain, unless a
/// single column fits in at most 2^[`NARROW_MAX_K`] rows (or in no more rows than the widest
/// layout, as when a function table fixes the domain): then one column, because every column
/// costs the on-chain verifier an advice and a σ commitment, a selector and their openings
/// (≈ 20–25k gas each), while proving such a domain stays well under a second.
///
/// At each domain size it tries, in order: one gate column; one gate column beside the narrowest
/// dot-product region of `w + 1 ≤ max_columns` columns that fits (dense layers with fixed
/// weights); `max_columns` gate columns with halo2-base's range lookup.
pub fn plan(model: &QuantizedModel, max_columns: usize) -> Result<CircuitParams> {
    let widest = plan_with_columns(model, max_columns)?;
    if widest.base.num_advice_per_phase[0] > 1 || widest.dot.is_some() {
        if let Ok(narrow) = plan_with_columns(model, 1) {
            if narrow.k <= widest.k.max(NARROW_MAX_K) {
                return Ok(narrow);
            }
        }
    }
    Ok(widest)
}

/// Largest domain (log2 rows) for which [`plan`] prefers a single advice column.
pub const NARROW_MAX_K: usize = 14;

/// The smallest domain whose layout needs at most `max_columns` advice columns.
fn plan_with_columns(model: &QuantizedModel, max_columns: usize) -> Result<CircuitParams> {
    let max_columns = max_columns.max(1);
    let values = placeholder_values(model)?;
    let macs = multiply_accumulates(model);
    let table = std::sync::Arc::new(function_table(model));
    let dot_widths: Vec<usize> = if dot_applies(model) {
        (1..=MAX_DOT_WIDTH.min(max_columns - 1)).collect()
    } else {
        Vec::new()
    };
    let mac_rows = match dot_widths.last() {
        Some(w) => macs / w,
        None => 3 * macs / max_columns,
    };
    let lower = mac_rows.max(table.len() + BLINDING_ROWS).max(1).ilog2() as usize;
    for k in lower.max(MIN_K)..=MAX_K {
        if table.len() + BLINDING_ROWS > 1 << k {
            continue;
        }
        let usable = (1usize << k) - BLINDING_ROWS;
        // One gate column with the multiply-accumulates in it (three cells each).
        if 3 * macs <= usable {
            if let Some(p) = try_fused_layout(model, &values, &table, k, None) {
                if p.base.num_advice_per_phase[0] == 1 {
                    return Ok(p);
                }
            }
        }
        // One gate column beside the narrowest dot-product region that fits.
        if let Some(&width) = dot_widths.iter().find(|w| dot_rows(model, **w) <= usable) {
            let dot = Some(DotShape { width });
            if let Some(p) = try_fused_layout(model, &values, &table, k, dot) {
                if p.base.num_advice_per_phase[0] == 1 && p.dot_rows <= usable {
                    return Ok(p);
                }
            }
        }
        let (p, _) = try_layout(model, &values, &table, k, None, None);
        if p.base.num_advice_per_phase[0] <= max_columns {
            return Ok(p);
        }
    }
    Err(Error::Circuit(format!(
        "the model does not fit in 2^{MAX_K} rows"
    )))
}

/// Whether the dense layers can take a dot-product region: they have some, with constant
/// weights (hashed weights are witness cells and stay in halo2-base's inner products).
fn dot_applies(model: &QuantizedModel) -> bool {
    model.privacy.params != ParamVisibility::Hashed
        && model
            .nodes
            .iter()
            .any(|n| matches!(n.op, QOp::Dense { .. }))
}

/// Rows the dense layers take in a dot-product region of `width` accumulators.
fn dot_rows(model: &QuantizedModel, width: usize) -> usize {
    sum_over_dense(model, |rows, _, inputs, outputs| {
        rows * DotProducts::rows_for(outputs, inputs, width)
    })
}

/// Multiply-accumulates of the dense layers (nonzero weights × input rows).
pub fn multiply_accumulates(model: &QuantizedModel) -> usize {
    sum_over_dense(model, |rows, weights, _, _| {
        weights.iter().filter(|w| **w != 0).count() * rows
    })
}

/// The sum over the dense layers of `f(input rows, weights, in_features, out_features)`.
fn sum_over_dense(
    model: &QuantizedModel,
    f: impl Fn(usize, &[i64], usize, usize) -> usize,
) -> usize {
    model
        .nodes
        .iter()
        .map(|n| match &n.op {
            QOp::Dense {
                weights,
                in_features,
                out_features,
                ..
            } => {
                let rows = n.shape.iter().product::<usize>() / out_features.max(&1);
                f(rows, weights, *in_features, *out_features)
            }
            _ => 0,
        })
        .sum()
}

/// The fused layout at `2^k` rows with the widest range table that leaves room for the
/// function and constant entries; `None` when none fits.
fn try_fused_layout(
    model: &QuantizedModel,
    values: &[Vec<i128>],
    table: &std::sync::Arc<Vec<[Fr; LOOKUP_WIDTH]>>,
    k: usize,
    dot: Option<DotShape>,
) -> Option<CircuitParams> {
    // The constants are known after a layout; narrower range tables add a few (limb bases).
    let mut other = table.len();
    for _ in 0..3 {
        let fused = FusedLookup {
            lookup_bits: fused_bits(k, other)?,
            functions: !table.is_empty(),
        };
        let (p, rows) = try_layout(model, values, table, k, Some(fused), dot);
        if rows + 1 + BLINDING_ROWS <= 1 << k {
            return Some(p);
        }
        other = rows - (1 << fused.lookup_bits);
    }
    None
}

/// Lays out `model` at `2^k` rows (fused, or separate; with or without a dot-product region)
/// and reports its shape, with the rows of the fused table (0 when separate).
fn try_layout(
    model: &QuantizedModel,
    values: &[Vec<i128>],
    table: &std::sync::Arc<Vec<[Fr; LOOKUP_WIDTH]>>,
    k: usize,
    fused: Option<FusedLookup>,
    dot: Option<DotShape>,
) -> (CircuitParams, usize) {
    let b = builder(CircuitBuilderStage::Keygen, k, fused.is_some());
    let mut c = ModelCircuit::new(b, table.clone(), 0, fused, dot);
    let synthesis = synthesize(&mut c, model, values, Bindings::default());
    let base = c.builder.calculate_params(Some(BLINDING_ROWS));
    let stats = c.builder.statistics();
    let range_rows = c.range_chip().lookup_manager()[0].total_rows();
    let function_rows = c.lookups.len();
    let fixed_cells = c.distinct_constants().len();
    let dot_rows = c.dot.as_ref().map_or(0, DotProducts::rows);
    // Planning circuits are never synthesized; clear them so they drop quietly.
    c.clear();
    let usable = (1usize << k) - BLINDING_ROWS;
    let (lookup_columns, fused_rows) = match fused {
        // The fused table: range, function and constant entries.
        Some(f) => (0, (1 << f.lookup_bits) + table.len() + fixed_cells),
        None => (function_rows.div_ceil(usable), 0),
    };
    let params = CircuitParams {
        k,
        base,
        advice_cells: stats.gate.total_advice_per_phase[0],
        lookup_cells: range_rows,
        fixed_cells,
        num_instances: synthesis.instances.len(),
        input_words: synthesis.input_words,
        node_costs: synthesis.costs,
        lookup_columns,
        table_rows: table.len(),
        fused,
        dot,
        dot_rows,
    };
    (params, fused_rows)
}

/// The circuit for key generation (values are placeholders).
pub fn keygen_circuit(model: &QuantizedModel, params: &CircuitParams) -> Result<ModelCircuit> {
    let values = placeholder_values(model)?;
    let b =
        BaseCircuitBuilder::from_stage(CircuitBuilderStage::Keygen).use_params(params.base.clone());
    let mut c = circuit(model, params, b);
    synthesize(&mut c, model, &values, Bindings::default());
    Ok(c)
}

fn circuit(
    model: &QuantizedModel,
    params: &CircuitParams,
    builder: BaseCircuitBuilder<Fr>,
) -> ModelCircuit {
    ModelCircuit::new(
        builder,
        std::sync::Arc::new(function_table(model)),
        params.lookup_columns,
        params.fused,
        params.dot,
    )
}

/// The circuit for proving, with the real tensor values; returns it with its public instances.
pub fn prover_circuit(
    model: &QuantizedModel,
    params: &CircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
    values: &[Vec<i128>],
    bindings: Bindings,
) -> (ModelCircuit, Vec<Fr>) {
    let mut c = circuit(
        model,
        params,
        BaseCircuitBuilder::prover(params.base.clone(), break_points),
    );
    let instances = synthesize(&mut c, model, values, bindings).instances;
    (c, instances)
}

/// The circuit for MockProver checks, with the real tensor values (salt 0, subject
/// [`TEST_SUBJECT`]).
pub fn mock_circuit(
    model: &QuantizedModel,
    params: &CircuitParams,
    values: &[Vec<i128>],
) -> (ModelCircuit, Vec<Fr>) {
    let bindings = Bindings {
        salt: Fr::zero(),
        subject: Fr::from(TEST_SUBJECT),
    };
    mock_circuit_bound(model, params, values, bindings)
}

/// The subject of [`mock_circuit`]'s statements (a nonzero address).
pub const TEST_SUBJECT: u64 = 0xA11CE;

/// [`mock_circuit`] with a salt for hashed inputs/outputs and a subject.
pub fn mock_circuit_bound(
    model: &QuantizedModel,
    params: &CircuitParams,
    values: &[Vec<i128>],
    bindings: Bindings,
) -> (ModelCircuit, Vec<Fr>) {
    let b =
        BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock).use_params(params.base.clone());
    let mut c = circuit(model, params, b);
    let instances = synthesize(&mut c, model, values, bindings).instances;
    (c, instances)
}

/// Soundness sweeps: the cells among `cells` whose value, incremented by one after the layout
/// (copies, lookups and instances as they were, see [`ModelCircuit::tamper_advice`]), MockProver
/// still accepts with `instances`. `honest` builds a fresh circuit of the honest witness.
pub fn accepted_perturbations(
    k: u32,
    instances: &[Fr],
    cells: impl IntoIterator<Item = usize>,
    honest: impl Fn() -> ModelCircuit,
) -> Vec<usize> {
    cells
        .into_iter()
        .filter(|&i| {
            let mut circuit = honest();
            circuit.tamper_advice(i, Fr::one());
            halo2_base::halo2_proofs::dev::MockProver::run(k, &circuit, vec![instances.to_vec()])
                .expect("mock synthesis")
                .verify()
                .is_ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::Scale;
    use crate::quantize::{QNode, QuantizationConfig};
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
                node("input", QOp::Input { index: 0 }, vec![], vec![1, 3], 10),
                node(
                    "dense",
                    QOp::Dense {
                        weights: vec![16, -16, 8, 0, 4, -4],
                        bias: vec![64, -64],
                        in_features: 3,
                        out_features: 2,
                    },
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
            let params = try_fused_layout(model, &placeholders, &table, 9, dot).unwrap();
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

    /// The separate layout (several gate columns, halo2-base's range lookup, function lookups
    /// copied into their own columns), as multi-column models take: changing any one advice
    /// cell of a sigmoid model's honest witness is rejected.
    #[test]
    fn separate_layout_rejects_every_single_cell_change() {
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
}
