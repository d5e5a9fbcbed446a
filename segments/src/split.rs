//! Splitting a quantized model at node boundaries into segment models.
//!
//! A cut before node `c` makes a boundary: the tensors produced before `c` that a later node
//! reads, or that are graph outputs, in tensor order. Each segment is a model of its own whose
//! inputs are the boundary before it (the graph inputs, for the first) and whose outputs are
//! the boundary after it (the graph outputs, for the last). Boundary tensors keep their bounds,
//! and both sides commit to them with [`Visibility::Chained`], so neighbouring commitments are
//! equal exactly when the values are.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use zkinfer_prover::model::TensorId;
use zkinfer_prover::ops::wiring::Input;
use zkinfer_prover::privacy::{ParamVisibility, Privacy, Visibility};
use zkinfer_prover::quantize::{QNode, QOp, QuantizedModel};

use crate::{Error, Result};

/// One segment of a model: which of its nodes, which tensors cross its edges, and the model
/// that a segment circuit lays out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The whole model's nodes this segment computes.
    pub nodes: Range<usize>,
    /// The whole model's tensors that are this segment's inputs, in order.
    pub inputs: Vec<TensorId>,
    /// The whole model's tensors that are this segment's outputs, in order.
    pub outputs: Vec<TensorId>,
    /// The segment as a model: its input nodes first (for a later segment), then its nodes.
    pub model: QuantizedModel,
}

impl Segment {
    /// This segment's tensor values, taken from the whole model's (`values[t]` for tensor `t`).
    pub fn values(&self, whole: &[Vec<i128>]) -> Vec<Vec<i128>> {
        segment_values(&self.nodes, &self.inputs, whole)
    }
}

/// The tensor values of the segment computing `nodes` with boundary `inputs`, taken from the
/// whole model's: its carried inputs first (a later segment's `Input` nodes), then its nodes.
pub fn segment_values(
    nodes: &Range<usize>,
    inputs: &[TensorId],
    whole: &[Vec<i128>],
) -> Vec<Vec<i128>> {
    let carried = if nodes.start == 0 { &[][..] } else { inputs };
    carried
        .iter()
        .copied()
        .chain(nodes.clone())
        .map(|t| whole[t].clone())
        .collect()
}

/// The first node a cut may come before: past every graph input node (inputs belong to the
/// first segment, where they keep their chosen visibility).
pub fn first_cut(model: &QuantizedModel) -> usize {
    model.inputs.iter().map(|t| t + 1).max().unwrap_or(1).max(1)
}

/// Tensors produced before node `cut` that a node at or after `cut` reads, or that are graph
/// outputs, in tensor order.
pub fn boundary(model: &QuantizedModel, cut: usize) -> Vec<TensorId> {
    let mut live = vec![false; cut];
    for node in &model.nodes[cut..] {
        for &t in node.inputs.iter().filter(|t| **t < cut) {
            live[t] = true;
        }
    }
    for &t in model.outputs.iter().filter(|t| **t < cut) {
        live[t] = true;
    }
    (0..cut).filter(|t| live[*t]).collect()
}

/// Splits `model` before each node of `cuts` (strictly increasing, each in
/// `[first_cut, nodes)`): `cuts.len() + 1` segments.
pub fn split(model: &QuantizedModel, cuts: &[usize]) -> Result<Vec<Segment>> {
    let n = model.nodes.len();
    let first = first_cut(model);
    if cuts.windows(2).any(|w| w[0] >= w[1]) || cuts.iter().any(|c| *c < first || *c >= n) {
        return Err(Error::Plan(format!(
            "cuts {cuts:?} must increase and lie in [{first}, {n}) for a model of {n} nodes"
        )));
    }
    if model.privacy.params == ParamVisibility::Hashed && !cuts.is_empty() {
        return Err(Error::Plan(
            "hashed parameters are not supported on a segmented model yet (each segment would \
             commit to its own share); use fixed parameters"
                .into(),
        ));
    }
    let starts = std::iter::once(0).chain(cuts.iter().copied());
    let ends = cuts.iter().copied().chain(std::iter::once(n));
    let count = cuts.len() + 1;
    Ok(starts
        .zip(ends)
        .enumerate()
        .map(|(i, (start, end))| segment(model, start..end, i == 0, i + 1 == count))
        .collect())
}

/// The segment of `model` computing `nodes` (the first and/or last of its split).
pub(crate) fn segment(
    model: &QuantizedModel,
    nodes: Range<usize>,
    first: bool,
    last: bool,
) -> Segment {
    let inputs = if first {
        model.inputs.clone()
    } else {
        boundary(model, nodes.start)
    };
    let outputs = if last {
        model.outputs.clone()
    } else {
        boundary(model, nodes.end)
    };
    // Where each whole-model tensor lands in the segment.
    let mut local = std::collections::HashMap::new();
    let mut qnodes = Vec::new();
    if !first {
        for (index, &t) in inputs.iter().enumerate() {
            let original = &model.nodes[t];
            local.insert(t, qnodes.len());
            qnodes.push(QNode {
                op: QOp::Input(Input { index }),
                inputs: Vec::new(),
                ..original.clone()
            });
        }
    }
    for t in nodes.clone() {
        let original = &model.nodes[t];
        local.insert(t, qnodes.len());
        qnodes.push(QNode {
            inputs: original.inputs.iter().map(|i| local[i]).collect(),
            ..original.clone()
        });
    }
    let seg_inputs = if first {
        model.inputs.clone()
    } else {
        (0..inputs.len()).collect()
    };
    let privacy = Privacy {
        inputs: if first {
            model.privacy.inputs
        } else {
            Visibility::Chained
        },
        outputs: if last {
            model.privacy.outputs
        } else {
            Visibility::Chained
        },
        params: model.privacy.params,
    };
    Segment {
        model: QuantizedModel {
            nodes: qnodes,
            inputs: seg_inputs,
            outputs: outputs.iter().map(|t| local[t]).collect(),
            config: model.config,
            privacy,
            param_salt: model.param_salt.clone(),
            specialized: if first {
                model.specialized.clone()
            } else {
                Vec::new()
            },
        },
        nodes,
        inputs,
        outputs,
    }
}
