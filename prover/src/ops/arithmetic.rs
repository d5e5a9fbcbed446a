//! Element-wise arithmetic: [`AddConst`] (Add/Sub of a constant, Neg folded into weights
//! elsewhere), [`Add`], [`Sub`], [`Mul`] of two tensors of the same shape.

use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, QuantumCell::Constant};
use serde::{Deserialize, Serialize};

use super::{
    map2, rescale, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result,
};
use crate::fixed::to_field;

/// Adds a constant, already broadcast to the input's shape (at the activation scale).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddConst<T> {
    /// One value per element.
    pub values: Vec<T>,
}

impl Operator for AddConst<f64> {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        args[0]
            .iter()
            .zip(&self.values)
            .map(|(x, c)| x + c)
            .collect()
    }

    fn quantize(&self, q: &Quantizing) -> QOp {
        QOp::AddConst(AddConst {
            values: self.values.iter().map(|c| q.activation(*c)).collect(),
        })
    }

    fn num_params(&self) -> usize {
        self.values.len()
    }
}

impl QuantizedOperator for AddConst<i64> {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(args[0]
            .iter()
            .zip(&self.values)
            .map(|(x, c)| x + *c as i128)
            .collect())
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let gate = l.range.gate();
        if let Some(p) = l.params {
            return args[0]
                .iter()
                .zip(&p[0])
                .map(|(x, c)| gate.add(l.ctx, *x, *c))
                .collect();
        }
        args[0]
            .iter()
            .zip(&self.values)
            .map(|(x, c)| gate.add(l.ctx, *x, Constant(to_field((*c).into()))))
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![self.values.clone()]
    }
}

/// Element-wise sum of two tensors of the same shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Add;

impl Operator for Add {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map2(args, |a, b| a + b)
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Add
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Add {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(map2(args, |a, b| a + b))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let gate = l.range.gate();
        map2(args, |a, b| gate.add(l.ctx, a, b))
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

/// Element-wise difference of two tensors of the same shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sub;

impl Operator for Sub {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map2(args, |a, b| a - b)
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Sub
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Sub {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(map2(args, |a, b| a - b))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let gate = l.range.gate();
        map2(args, |a, b| gate.sub(l.ctx, a, b))
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

/// Element-wise product of two tensors of the same shape: `round(a · b / 2^scale)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mul;

impl Operator for Mul {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map2(args, |a, b| a * b)
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Mul
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Mul {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        Ok(map2(args, |a, b| rescale(a * b, f.scale.0)))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let gate = l.range.gate();
        let s = l.scale;
        map2(args, |a, b| {
            let product = gate.mul(l.ctx, a, b);
            l.rescale(product, s)
        })
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}
