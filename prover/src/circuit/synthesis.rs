//! Synthesis: lays a quantized model out on a [`ModelCircuit`], node by node through each
//! operator's [`crate::ops::QuantizedOperator::lay_out`], and exposes the public instances.

use halo2_base::gates::{RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};

use super::{ModelCircuit, NodeCost};
use crate::chips::pack::{pack, range_check_signed};
use crate::commitment::{chain_commit_in_circuit, commit_in_circuit, param_groups};
use crate::fixed::to_field;
use crate::ops::{Layout, Recorders};
use crate::privacy::{ParamVisibility, Visibility};
use crate::quantize::{QOp, QuantizedModel};
use crate::Result;

/// What a proof binds besides the model's tensors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bindings {
    /// The data owner's secret salt for hashed inputs and outputs.
    pub salt: Fr,
    /// Who the statement is about: an address (below 2^160) as a field element, the last public
    /// instance. It is a witness cell copied to the instance column, so a proof made for one
    /// subject does not verify for another.
    pub subject: Fr,
    /// The salt of segment-boundary commitments ([`Visibility::Chained`]): one random value
    /// shared by every segment of one proof, so neighbours' commitments match.
    pub chain_salt: Fr,
}

impl Bindings {
    /// Bindings with a salt and no subject (zero).
    pub fn salted(salt: Fr) -> Self {
        Bindings {
            salt,
            ..Bindings::default()
        }
    }
}

/// Per node: whether it is one of a pair fused in layouts with chained rescales (see
/// [`crate::ops::Layout::fused_relu`]): an affine map with constant weights (`Dense`, `Linear`)
/// whose only reader is a `Relu` of the same bound, and not a model output, and that `Relu`.
pub fn fused_relus(model: &QuantizedModel) -> Vec<bool> {
    let mut readers = vec![0usize; model.nodes.len()];
    for node in &model.nodes {
        for &i in &node.inputs {
            readers[i] += 1;
        }
    }
    let mut fused = vec![false; model.nodes.len()];
    for (j, node) in model.nodes.iter().enumerate() {
        let [i] = node.inputs[..] else { continue };
        let producer = &model.nodes[i];
        if matches!(node.op, QOp::Relu)
            && matches!(producer.op, QOp::Dense(_) | QOp::Linear(_))
            && readers[i] == 1
            && !model.outputs.contains(&i)
            && producer.bits == node.bits
        {
            fused[i] = true;
            fused[j] = true;
        }
    }
    fused
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
    let mut recorders = Recorders {
        lookups: &mut circuit.lookups,
        dot: circuit.dot.as_mut(),
        macs: circuit.macs.as_mut(),
    };
    let ctx = builder.main(0);
    let privacy = model.privacy;
    let keyed = |v: Visibility| matches!(v, Visibility::Hashed | Visibility::Chained);
    let salt = (keyed(privacy.inputs) || keyed(privacy.outputs)).then(|| ctx.load_witness(salt));
    // A boundary commitment covers the owner's salt too, so every segment of one proof is bound
    // to the same salt: the first segment's input commitment and the last one's output
    // commitment use one salt, as a single circuit's do.
    let chain_salt = (privacy.inputs == Visibility::Chained
        || privacy.outputs == Visibility::Chained)
        .then(|| {
            [
                ctx.load_witness(bindings.chain_salt),
                salt.expect("loaded above"),
            ]
        });
    let mut hashed_words = Vec::new();
    // Hashed parameters: witness cells, range-checked and packed per group, committed below.
    let (params, param_words) = if privacy.params == ParamVisibility::Hashed {
        load_params(ctx, &range, model)
    } else {
        (vec![Vec::new(); model.nodes.len()], Vec::new())
    };
    let chained = recorders.macs.as_ref().is_some_and(|m| m.rescales());
    let fused = if chained {
        fused_relus(model)
    } else {
        vec![false; model.nodes.len()]
    };
    let mut cells: Vec<Vec<AssignedValue<Fr>>> = Vec::with_capacity(model.nodes.len());
    let mut public = Vec::new();
    let mut costs = Vec::with_capacity(model.nodes.len());
    for (node, vals) in model.nodes.iter().zip(values) {
        let (advice0, lookup0) = (ctx.advice.len(), range.lookup_manager()[0].total_rows());
        let dot0 = recorders.dot.as_ref().map_or(0, |d| d.rows());
        let out = match &node.op {
            QOp::Input(_) => {
                let (xs, lanes) = load_input(ctx, &range, vals, node.bits);
                // Private inputs keep their range checks (later chips rely on the bounds).
                match privacy.inputs {
                    Visibility::Public => public.extend(pack(ctx, &range, &lanes, node.bits + 1)),
                    Visibility::Private => {}
                    Visibility::Hashed | Visibility::Chained => {
                        hashed_words.extend(pack(ctx, &range, &lanes, node.bits + 1))
                    }
                }
                xs
            }
            op => {
                let n = cells.len();
                let args: Vec<&[AssignedValue<Fr>]> =
                    node.inputs.iter().map(|t| &cells[*t][..]).collect();
                let mut layout = Layout {
                    ctx: &mut *ctx,
                    range: &range,
                    recorders: &mut recorders,
                    scale: model.config.scale.0,
                    weight_scale: model.config.weight_scale.0,
                    out_bits: node.bits,
                    in_bits: node.inputs.iter().map(|t| model.nodes[*t].bits).collect(),
                    // Only filled when parameters are hashed.
                    params: (!params[n].is_empty()).then(|| params[n].as_slice()),
                    fused_relu: fused[n],
                };
                op.operator().lay_out(&mut layout, &args)
            }
        };
        costs.push(NodeCost {
            name: node.name.clone(),
            op_type: node.op_type.clone(),
            advice_cells: ctx.advice.len() - advice0,
            lookup_cells: range.lookup_manager()[0].total_rows() - lookup0
                + node.op.operator().lookups_per_element() * node.shape.iter().product::<usize>(),
            dot_rows: recorders.dot.as_ref().map_or(0, |d| d.rows()) - dot0,
        });
        cells.push(out);
    }
    match (privacy.inputs, salt, chain_salt) {
        (Visibility::Hashed, Some(salt), _) => {
            public.push(commit_in_circuit(ctx, range.gate(), salt, &hashed_words));
        }
        (Visibility::Chained, _, Some(keys)) => {
            public.push(chain_commit_in_circuit(
                ctx,
                range.gate(),
                keys,
                &hashed_words,
            ));
        }
        _ => {}
    }
    let input_words = public.len();
    let outputs = model.outputs.iter().flat_map(|&o| cells[o].iter().copied());
    match (privacy.outputs, salt, chain_salt) {
        (Visibility::Hashed, Some(salt), _) => {
            let outputs: Vec<_> = outputs.collect();
            public.push(commit_in_circuit(ctx, range.gate(), salt, &outputs));
        }
        (Visibility::Chained, _, Some(keys)) => {
            // The words a next segment's inputs make of the same values (see `load_input`).
            let mut words = Vec::new();
            for &o in &model.outputs {
                let bits = model.nodes[o].bits;
                let lanes: Vec<_> = cells[o]
                    .iter()
                    .map(|x| range_check_signed(ctx, &range, *x, bits))
                    .collect();
                words.extend(pack(ctx, &range, &lanes, bits + 1));
            }
            public.push(chain_commit_in_circuit(ctx, range.gate(), keys, &words));
        }
        (Visibility::Private, ..) => {}
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

/// Cells of one node's parameters, per group (weights, then biases).
type ParamCells = Vec<Vec<AssignedValue<Fr>>>;

/// The model's parameters as witness cells (per node, per group), each range-checked to its
/// group's bound, and their packed words for the parameter commitment.
fn load_params(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    model: &QuantizedModel,
) -> (Vec<ParamCells>, Vec<AssignedValue<Fr>>) {
    let mut params: Vec<ParamCells> = vec![Vec::new(); model.nodes.len()];
    let mut words = Vec::new();
    for (node, values, bits) in param_groups(model) {
        let cells: Vec<_> = values
            .iter()
            .map(|v| ctx.load_witness(to_field((*v).into())))
            .collect();
        let lanes: Vec<_> = cells
            .iter()
            .map(|c| range_check_signed(ctx, range, *c, bits))
            .collect();
        words.extend(pack(ctx, range, &lanes, bits + 1));
        params[node].push(cells);
    }
    (params, words)
}

/// A graph input's cells, range-checked to `[-2^bits, 2^bits)`, and their lanes for packing.
fn load_input(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    values: &[i128],
    bits: u32,
) -> (Vec<AssignedValue<Fr>>, Vec<AssignedValue<Fr>>) {
    let xs: Vec<_> = values
        .iter()
        .map(|v| ctx.load_witness(to_field(*v)))
        .collect();
    let lanes = xs
        .iter()
        .map(|x| range_check_signed(ctx, range, *x, bits))
        .collect();
    (xs, lanes)
}

/// Values of every tensor for an all-zero input, unchecked: the layout does not depend on them.
pub(super) fn placeholder_values(model: &QuantizedModel) -> Result<Vec<Vec<i128>>> {
    let zeros: Vec<Vec<i128>> = model.input_lens().iter().map(|n| vec![0; *n]).collect();
    model.forward(&zeros, false)
}
