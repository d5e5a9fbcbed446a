//! The model as zkinfer sees it after import: a list of nodes, each producing one tensor,
//! in topological order. Node `i` produces tensor `i`.

use serde::{Deserialize, Serialize};

/// Index of a tensor (equal to the index of the node that produces it).
pub type TensorId = usize;

/// A comparison of two tensors; the result is 1.0 or 0.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// `a > b`.
    Greater,
    /// `a >= b`.
    GreaterOrEqual,
    /// `a == b`.
    Equal,
}

impl Comparison {
    /// Evaluates the comparison.
    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Comparison::Greater => a > b,
            Comparison::GreaterOrEqual => a >= b,
            Comparison::Equal => a == b,
        }
    }
}

/// One operation of the imported model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// The `index`-th graph input.
    Input {
        /// Position among the graph inputs.
        index: usize,
    },
    /// `y[r, n] = sum_k x[r, k] * weights[n * in_features + k] + bias[n]` over the last axis.
    Dense {
        /// Row-major `[out_features, in_features]` weights.
        weights: Vec<f64>,
        /// `[out_features]` bias.
        bias: Vec<f64>,
        /// Size of the contracted (last) input axis.
        in_features: usize,
        /// Size of the produced last axis.
        out_features: usize,
    },
    /// Sparse affine map of one input: `y[o] = bias[o] + Σ w · x[i]` over `terms[o] = [(i, w)]`
    /// (Conv, ConvTranspose, pooling by averaging, BatchNormalization, reductions, Mul/Div by constants).
    Linear {
        /// Per output element, its (input index, weight) terms.
        terms: Vec<Vec<(usize, f64)>>,
        /// Per output element.
        bias: Vec<f64>,
    },
    /// Adds a constant, already broadcast to the input's shape.
    AddConst {
        /// One value per element.
        values: Vec<f64>,
    },
    /// Element-wise sum of two tensors of the same shape.
    Add,
    /// Element-wise difference of two tensors of the same shape.
    Sub,
    /// Element-wise product of two tensors of the same shape.
    Mul,
    /// `max(x, 0)`.
    Relu,
    /// `x` if `x >= 0`, else `alpha · x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f64,
    },
    /// `min(max(x, min), max)`.
    Clip {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// `|x|`.
    Abs,
    /// `y[o] = max over groups[o]` of the input (MaxPool, ReduceMax, Max).
    MaxGroups {
        /// Input indices per output element (never empty).
        groups: Vec<Vec<usize>>,
    },
    /// `1.0` where `compare(a, b)` holds, else `0.0` (Less/LessOrEqual swap the operands).
    Compare {
        /// Which comparison.
        kind: Comparison,
    },
    /// `x` where the condition (a comparison result) is 1, else `y`; inputs `[cond, x, y]`.
    Where,
    /// `-1`, `0` or `1`.
    Sign,
    /// Index of the (first, or last) maximum of each group, as a number.
    ArgMax {
        /// Input indices per output, in axis order.
        groups: Vec<Vec<usize>>,
        /// Report the last maximal index instead of the first.
        last: bool,
    },
    /// A nonlinear element-wise function, proven by table lookup.
    Function {
        /// Which function.
        func: crate::functions::Function,
    },
    /// Same values, another shape (Flatten, Reshape, Identity, Squeeze, Unsqueeze, Cast).
    Reshape,
    /// Pure wiring: `y[o] = inputs[slot][index]`, or 0 for `None` (Transpose, Concat, Slice,
    /// Pad, Gather, broadcasting).
    Gather {
        /// Per output element, `(input slot, index)` or `None` for a zero.
        sources: Vec<Option<(usize, usize)>>,
    },
}

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
            let arg = |i: usize| &values[node.inputs[i]];
            let out = match &node.op {
                Op::Input { index } => inputs[*index].clone(),
                Op::Dense {
                    weights,
                    bias,
                    in_features,
                    out_features,
                } => dense(arg(0), *in_features, *out_features, |row, n| {
                    let w = &weights[n * in_features..(n + 1) * in_features];
                    w.iter().zip(row).map(|(w, x)| w * x).sum::<f64>() + bias[n]
                }),
                Op::Linear { terms, bias } => terms
                    .iter()
                    .zip(bias)
                    .map(|(t, b)| b + t.iter().map(|(i, w)| w * arg(0)[*i]).sum::<f64>())
                    .collect(),
                Op::AddConst { values: c } => arg(0).iter().zip(c).map(|(x, c)| x + c).collect(),
                Op::Add => arg(0).iter().zip(arg(1)).map(|(a, b)| a + b).collect(),
                Op::Sub => arg(0).iter().zip(arg(1)).map(|(a, b)| a - b).collect(),
                Op::Mul => arg(0).iter().zip(arg(1)).map(|(a, b)| a * b).collect(),
                Op::Relu => arg(0).iter().map(|x| x.max(0.0)).collect(),
                Op::LeakyRelu { alpha } => arg(0)
                    .iter()
                    .map(|x| if *x >= 0.0 { *x } else { alpha * x })
                    .collect(),
                Op::Clip { min, max } => arg(0).iter().map(|x| x.max(*min).min(*max)).collect(),
                Op::Abs => arg(0).iter().map(|x| x.abs()).collect(),
                Op::MaxGroups { groups } => groups
                    .iter()
                    .map(|g| {
                        g.iter()
                            .map(|i| arg(0)[*i])
                            .fold(f64::NEG_INFINITY, f64::max)
                    })
                    .collect(),
                Op::Compare { kind } => arg(0)
                    .iter()
                    .zip(arg(1))
                    .map(|(a, b)| if kind.holds(a, b) { 1.0 } else { 0.0 })
                    .collect(),
                Op::Where => arg(0)
                    .iter()
                    .zip(arg(1))
                    .zip(arg(2))
                    .map(|((c, x), y)| if *c != 0.0 { *x } else { *y })
                    .collect(),
                Op::Sign => arg(0)
                    .iter()
                    .map(|x| {
                        if *x > 0.0 {
                            1.0
                        } else if *x < 0.0 {
                            -1.0
                        } else {
                            0.0
                        }
                    })
                    .collect(),
                Op::ArgMax { groups, last } => groups
                    .iter()
                    .map(|g| argmax(g.iter().map(|i| arg(0)[*i]), *last) as f64)
                    .collect(),
                Op::Function { func } => arg(0)
                    .iter()
                    .map(|x| func.eval(*x).unwrap_or(f64::NAN))
                    .collect(),
                Op::Reshape => arg(0).clone(),
                Op::Gather { sources } => sources
                    .iter()
                    .map(|s| s.map_or(0.0, |(slot, i)| values[node.inputs[slot]][i]))
                    .collect(),
            };
            values.push(out);
        }
        values
    }

    /// Number of parameters (weights and constants) in the model.
    pub fn num_params(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| match &n.op {
                Op::Dense { weights, bias, .. } => weights.len() + bias.len(),
                Op::Linear { terms, bias } => {
                    terms.iter().map(Vec::len).sum::<usize>() + bias.len()
                }
                Op::AddConst { values } => values.len(),
                _ => 0,
            })
            .sum()
    }
}

/// Position of the first (or last) maximum.
pub(crate) fn argmax<T: PartialOrd + Copy>(values: impl Iterator<Item = T>, last: bool) -> usize {
    let mut best: Option<(usize, T)> = None;
    for (i, v) in values.enumerate() {
        let better = match best {
            None => true,
            Some((_, b)) => v > b || (last && v == b),
        };
        if better {
            best = Some((i, v));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// Applies `f(row, n)` for every row of `x` (rows of length `in_features`) and output column `n`.
pub(crate) fn dense<T, R>(
    x: &[T],
    in_features: usize,
    out_features: usize,
    mut f: impl FnMut(&[T], usize) -> R,
) -> Vec<R> {
    x.chunks(in_features)
        .flat_map(|row| (0..out_features).map(|n| f(row, n)).collect::<Vec<_>>())
        .collect()
}
