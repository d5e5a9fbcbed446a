//! Element-wise arithmetic: [`AddConst`] (Add/Sub of a constant, Neg folded into weights
//! elsewhere), [`Add`], [`Sub`], [`Mul`] of two tensors of the same shape, [`Rounding`] (Floor,
//! Ceil).

use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, QuantumCell::Constant};
use serde::{Deserialize, Serialize};

use super::{
    map1, map2, rescale, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result,
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

/// Floor or Ceil of a fixed-point tensor: the nearest whole number below (or above), exactly.
/// In the circuit the input, offset by `-2^(s-1)` (Floor) or `2^(s-1) - 1` (Ceil), is divided by
/// `2^s` with a range-checked remainder (the rescale, which rounds half up), then multiplied back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rounding {
    /// Toward −∞.
    Floor,
    /// Toward +∞.
    Ceil,
}

impl Operator for Rounding {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map1(args, |x| match self {
            Rounding::Floor => x.floor(),
            Rounding::Ceil => x.ceil(),
        })
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Rounding(*self)
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl Rounding {
    /// What the rescale (half up) adds so that it rounds this way.
    fn offset(self, scale: u32) -> i128 {
        if scale == 0 {
            return 0;
        }
        let half = 1i128 << (scale - 1);
        match self {
            Rounding::Floor => -half,
            Rounding::Ceil => (1i128 << scale) - 1 - half,
        }
    }
}

impl QuantizedOperator for Rounding {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        let s = f.scale.0;
        Ok(map1(args, |x| rescale(x + self.offset(s), s) << s))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let gate = l.range.gate();
        let s = l.scale;
        let (offset, unit) = (
            Constant(to_field(self.offset(s))),
            Constant(to_field(1i128 << s)),
        );
        args[0]
            .iter()
            .map(|x| {
                let shifted = gate.add(l.ctx, *x, offset);
                let whole = l.rescale(shifted, s);
                gate.mul(l.ctx, whole, unit)
            })
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::Scale;

    fn round(mode: Rounding, xs: &[i128], scale: u32) -> Vec<i128> {
        let f = Forwarding {
            scale: Scale(scale),
            weight_scale: Scale(scale),
            graph_inputs: &[],
            check: true,
            name: "r",
            op_type: "Floor",
        };
        mode.forward(&[xs], &f).unwrap()
    }

    #[test]
    fn floor_and_ceil_are_exact_on_both_signs_and_whole_numbers() {
        // Scale 2^4: -1.0625, -1.0, -0.5, 0, 0.0625, 1.0, 1.9375.
        let xs = [-17, -16, -8, 0, 1, 16, 31];
        assert_eq!(
            round(Rounding::Floor, &xs, 4),
            [-32, -16, -16, 0, 0, 16, 16]
        );
        assert_eq!(round(Rounding::Ceil, &xs, 4), [-16, -16, 0, 0, 16, 16, 32]);
        // At scale 2^0 every value is whole.
        assert_eq!(round(Rounding::Floor, &[-3, 5], 0), [-3, 5]);
        assert_eq!(round(Rounding::Ceil, &[-3, 5], 0), [-3, 5]);
        // The float reference agrees.
        let floats: Vec<f64> = xs.iter().map(|x| *x as f64 / 16.0).collect();
        let want: Vec<f64> = round(Rounding::Floor, &xs, 4)
            .iter()
            .map(|x| *x as f64 / 16.0)
            .collect();
        assert_eq!(Rounding::Floor.eval(&[&floats]), want);
    }
}
