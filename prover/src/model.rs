//! The model as zkinfer sees it after import: a list of nodes, each producing one tensor,
//! in topological order. Node `i` produces tensor `i`.

use serde::{Deserialize, Serialize};

/// Index of a tensor (equal to the index of the node that produces it).
pub type TensorId = usize;

pub use crate::ops::{Comparison, Op};

/// A node: its origin in the ONNX graph, its operation, inputs and output shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The ONNX node name (or its first output when unnamed).
    pub name: String,
    /// The ONNX op type it came from (`Gemm`, `MatMul`, ...).
    pub op_type: String,
    /// What it computes.
    pub op: Op,
    /// The tensors it reads.
    pub inputs: Vec<TensorId>,
    /// The shape of the tensor it produces.
    pub shape: Vec<usize>,
}

impl Node {
    /// Number of elements of the produced tensor.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a tensor with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An imported model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
    /// The tensors that are graph inputs, in graph order.
    pub inputs: Vec<TensorId>,
    /// The tensors that are graph outputs, in graph order.
    pub outputs: Vec<TensorId>,
    /// Graph inputs fixed at compile (they feed only shape parameters): not circuit inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specialized: Vec<SpecializedInput>,
}

/// An integer graph input that feeds only shape parameters (axes, shapes, slice bounds, pads,
/// repeats, split sizes, indices): fixed at compile to its value in the calibration data, so the
/// circuit is built for that value (it is part of the model id and the verifying key), and an
/// input file must give that same value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpecializedInput {
    /// Its position among the graph's inputs (the arrays of an input file).
    pub position: usize,
    /// Its ONNX name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// The value it is fixed to, row-major.
    pub values: Vec<f64>,
}

impl Model {
    /// Shapes of the graph inputs.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.inputs
            .iter()
            .map(|&t| self.nodes[t].shape.clone())
            .collect()
    }

    /// Shapes of the graph outputs.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.outputs
            .iter()
            .map(|&t| self.nodes[t].shape.clone())
            .collect()
    }

    /// Evaluates every node in floating point; returns one flat vector per node.
    ///
    /// The caller checks input lengths (see [`crate::input::check_input_lengths`]).
    pub fn eval_f64(&self, inputs: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let mut values: Vec<Vec<f64>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let out = match &node.op {
                Op::Input(input) => inputs[input.index].clone(),
                op => {
                    let args: Vec<&[f64]> = node.inputs.iter().map(|t| &values[*t][..]).collect();
                    op.operator().eval(&args)
                }
            };
            values.push(out);
        }
        values
    }

    /// Number of parameters (weights and constants) in the model.
    pub fn num_params(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| n.op.operator().num_params())
            .sum()
    }
}
