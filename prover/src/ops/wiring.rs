//! Wiring: the graph's [`Input`]s, [`Reshape`] (same values, another shape) and [`Gather`]
//! (Transpose, Concat, Slice, Pad, Gather, broadcasting: every output a copy of some input
//! element, or zero). Wiring costs no constraints beyond copies.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::AssignedValue;
use serde::{Deserialize, Serialize};

use super::{Bound, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result};
use crate::Error;

/// The `index`-th graph input (at the activation scale). Its cells are loaded, range-checked and
/// made public, private or hashed by the synthesis itself ([`crate::circuit::synthesize`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// Position among the graph inputs.
    pub index: usize,
}

impl Operator for Input {
    /// Inputs are read by the caller ([`crate::model::Model::eval_f64`]).
    fn eval(&self, _: &[&[f64]]) -> Vec<f64> {
        unreachable!("graph inputs are evaluated by the model")
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Input(*self)
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Input {
    fn forward(&self, _: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        let index = self.index;
        f.graph_inputs.get(index).cloned().ok_or_else(|| {
            Error::InvalidInput(format!("missing graph input #{index} ({})", f.name))
        })
    }

    fn lay_out(&self, _: &mut Layout, _: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        unreachable!("graph inputs are laid out by the synthesis")
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

/// Same values, another shape (Flatten, Reshape, Identity, Squeeze, Unsqueeze, Cast).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reshape;

impl Operator for Reshape {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        args[0].to_vec()
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Reshape
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Reshape {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(args[0].to_vec())
    }

    fn lay_out(&self, _: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        args[0].to_vec()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }

    fn bound(&self) -> Bound {
        Bound::Inputs
    }
}

/// Pure wiring: `y[o] = inputs[slot][index]`, or 0 for `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gather {
    /// Per output element, `(input slot, index)` or `None` for a zero.
    pub sources: Vec<Option<(usize, usize)>>,
}

impl Gather {
    fn gather<T: Copy>(&self, args: &[&[T]], zero: impl FnOnce() -> T) -> Vec<T> {
        let zero = self.sources.iter().any(Option::is_none).then(zero);
        self.sources
            .iter()
            .map(|src| match src {
                Some((slot, i)) => args[*slot][*i],
                None => zero.expect("made when a source is None"),
            })
            .collect()
    }
}

impl Operator for Gather {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        self.gather(args, || 0.0)
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Gather(self.clone())
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Gather {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(self.gather(args, || 0))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        self.gather(args, || l.ctx.load_zero())
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }

    fn bound(&self) -> Bound {
        Bound::Inputs
    }
}
