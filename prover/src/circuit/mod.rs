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

mod model_circuit;
mod planner;
mod synthesis;
mod table;
#[cfg(any(test, feature = "test-utils"))]
mod testing;
#[cfg(test)]
mod tests;

pub use crate::chips::pack::{lanes_per_word, PACK_BITS};
pub use model_circuit::{FusedLookup, ModelCircuit, ModelCircuitParams};
pub use planner::{multiply_accumulates, plan, plan_as, LayoutChoice, MIN_CHAIN_K, NARROW_MAX_K};
pub use synthesis::{fused_relus, synthesize, Bindings, Synthesis};
pub use table::function_table;
#[cfg(any(test, feature = "test-utils"))]
pub use testing::{accepted_perturbations, mock_circuit, TEST_SUBJECT};

use halo2_base::gates::circuit::{
    builder::BaseCircuitBuilder, BaseCircuitParams, CircuitBuilderStage,
};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};

use crate::chips::DotShape;
use crate::quantize::QuantizedModel;
use crate::Result;
use synthesis::placeholder_values;

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

    /// The layout family these parameters belong to (never [`LayoutChoice::Auto`]).
    pub fn layout(&self) -> LayoutChoice {
        match (self.fused, self.dot) {
            (None, _) => LayoutChoice::Columns,
            (Some(_), Some(_)) => LayoutChoice::Dot,
            (Some(f), None) if f.mac_chain => LayoutChoice::Chain,
            (Some(_), None) => LayoutChoice::Plain,
        }
    }
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

/// The circuit for key generation (values are placeholders).
pub fn keygen_circuit(model: &QuantizedModel, params: &CircuitParams) -> Result<ModelCircuit> {
    let values = placeholder_values(model)?;
    let b =
        BaseCircuitBuilder::from_stage(CircuitBuilderStage::Keygen).use_params(params.base.clone());
    let mut c = circuit(model, params, b);
    synthesize(&mut c, model, &values, Bindings::default());
    Ok(c)
}

pub(super) fn circuit(
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
