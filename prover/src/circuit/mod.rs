//! Circuit layout: the quantized model as a halo2-base circuit (KZG on BN254).
//!
//! Public instances are the graph inputs followed by the graph outputs, each a signed
//! fixed-point integer embedded in the field. Weights are circuit constants.

mod dense;
mod relu;
mod rescale;
#[cfg(test)]
pub(crate) mod testing;

pub use dense::DenseChip;
pub use relu::{Rectified, ReluChip};
pub use rescale::{RescaleChip, Rescaled};

use halo2_base::gates::circuit::{builder::BaseCircuitBuilder, BaseCircuitParams, CircuitBuilderStage};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use serde::{Deserialize, Serialize};

use crate::fixed::to_field;
use crate::quantize::{QOp, QuantizedModel};
use crate::{Error, Result};

/// Rows at the bottom of the circuit kept free for blinding factors.
pub const BLINDING_ROWS: usize = 20;
/// Smallest circuit size (log2 rows).
pub const MIN_K: usize = 8;
/// Largest circuit size this build accepts (log2 rows).
pub const MAX_K: usize = 24;
/// The planner grows `k` until the advice cells fit in this many columns.
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
    /// Number of public instances (inputs then outputs).
    pub num_instances: usize,
}

/// Lays out `model` on `builder` with the given tensor values; returns the public instances.
pub fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, model: &QuantizedModel, values: &[Vec<i128>]) -> Vec<Fr> {
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let shift = model.config.weight_scale.0;
    let mut cells: Vec<Vec<AssignedValue<Fr>>> = Vec::with_capacity(model.nodes.len());
    let mut public = Vec::new();
    for (node, vals) in model.nodes.iter().zip(values) {
        let arg = |i: usize| &cells[node.inputs[i]];
        let out = match &node.op {
            QOp::Input { .. } => {
                let xs: Vec<_> = vals.iter().map(|v| ctx.load_witness(to_field(*v))).collect();
                for x in &xs {
                    range_check_signed(ctx, &range, *x, node.bits);
                }
                public.extend(xs.iter().copied());
                xs
            }
            QOp::Dense { weights, bias, in_features, out_features } => {
                let dense = DenseChip::new(range.gate());
                let rescale = RescaleChip::new(&range);
                let x = arg(0).clone();
                crate::model::dense(&x, *in_features, *out_features, |row, n| {
                    let w = &weights[n * in_features..(n + 1) * in_features];
                    let acc = dense.accumulate(ctx, row, w, bias[n]);
                    rescale.rescale(ctx, acc, shift, node.bits).output
                })
            }
            QOp::AddConst { values: c } => {
                let x = arg(0).clone();
                x.iter().zip(c).map(|(x, c)| range.gate().add(ctx, *x, Constant(to_field((*c).into())))).collect()
            }
            QOp::Add => {
                let (a, b) = (arg(0).clone(), arg(1).clone());
                a.iter().zip(&b).map(|(a, b)| range.gate().add(ctx, *a, *b)).collect()
            }
            QOp::Relu => {
                let relu = ReluChip::new(&range);
                let bits = model.nodes[node.inputs[0]].bits;
                arg(0).clone().into_iter().map(|x| relu.relu(ctx, x, bits).output).collect()
            }
            QOp::Reshape => arg(0).clone(),
        };
        cells.push(out);
    }
    for &o in &model.outputs {
        public.extend(cells[o].iter().copied());
    }
    let instances = public.iter().map(|c| *c.value()).collect();
    builder.assigned_instances = vec![public];
    instances
}

/// Proves `x ∈ [-2^bits, 2^bits)`.
fn range_check_signed(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, x: AssignedValue<Fr>, bits: u32) {
    let shifted = range.gate().add(ctx, x, Constant(to_field(1i128 << bits)));
    range.range_check(ctx, shifted, bits as usize + 1);
}

/// Values of every tensor for an all-zero input, unchecked: the layout does not depend on them.
fn placeholder_values(model: &QuantizedModel) -> Result<Vec<Vec<i128>>> {
    let zeros: Vec<Vec<i128>> = model.input_lens().iter().map(|n| vec![0; *n]).collect();
    model.forward(&zeros, false)
}

fn builder(stage: CircuitBuilderStage, k: usize) -> BaseCircuitBuilder<Fr> {
    BaseCircuitBuilder::from_stage(stage).use_k(k).use_lookup_bits(k - 1).use_instance_columns(1)
}

/// Chooses the circuit size: the smallest `k` whose rows hold the model in at most
/// [`MAX_ADVICE_COLUMNS`] advice columns, with a `k-1`-bit range table.
pub fn plan(model: &QuantizedModel) -> Result<CircuitParams> {
    let values = placeholder_values(model)?;
    let macs: usize = model
        .nodes
        .iter()
        .map(|n| match &n.op {
            QOp::Dense { weights, out_features, .. } => {
                let rows = n.shape.iter().product::<usize>() / out_features.max(&1);
                weights.iter().filter(|w| **w != 0).count() * rows
            }
            _ => 0,
        })
        .sum();
    let lower = (3 * macs / MAX_ADVICE_COLUMNS).max(1).ilog2() as usize;
    for k in lower.max(MIN_K)..=MAX_K {
        let mut b = builder(CircuitBuilderStage::Keygen, k);
        let instances = synthesize(&mut b, model, &values);
        let base = b.calculate_params(Some(BLINDING_ROWS));
        let stats = b.statistics();
        // Planning builders are never synthesized; clear them so they drop quietly.
        b.clear();
        if base.num_advice_per_phase[0] <= MAX_ADVICE_COLUMNS {
            return Ok(CircuitParams {
                k,
                base,
                advice_cells: stats.gate.total_advice_per_phase[0],
                lookup_cells: stats.total_lookup_advice_per_phase[0],
                fixed_cells: stats.gate.total_fixed,
                num_instances: instances.len(),
            });
        }
    }
    Err(Error::Circuit(format!("the model does not fit in 2^{MAX_K} rows")))
}

/// The circuit for key generation (values are placeholders).
pub fn keygen_circuit(model: &QuantizedModel, params: &CircuitParams) -> Result<BaseCircuitBuilder<Fr>> {
    let values = placeholder_values(model)?;
    let mut b = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Keygen).use_params(params.base.clone());
    synthesize(&mut b, model, &values);
    Ok(b)
}

/// The circuit for proving, with the real tensor values; returns it with its public instances.
pub fn prover_circuit(
    model: &QuantizedModel,
    params: &CircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
    values: &[Vec<i128>],
) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    let mut b = BaseCircuitBuilder::prover(params.base.clone(), break_points);
    let instances = synthesize(&mut b, model, values);
    (b, instances)
}

/// The circuit for MockProver checks, with the real tensor values.
pub fn mock_circuit(model: &QuantizedModel, params: &CircuitParams, values: &[Vec<i128>]) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    let mut b = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock).use_params(params.base.clone());
    let instances = synthesize(&mut b, model, values);
    (b, instances)
}
