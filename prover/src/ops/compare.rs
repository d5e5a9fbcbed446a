//! Comparisons and selections: [`MaxGroups`] (MaxPool, ReduceMax, Max), [`Compare`]
//! (Greater, Less, Equal, ...), [`Where`], [`ArgMax`].

use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, QuantumCell::Constant};
use serde::{Deserialize, Serialize};

use super::{
    map2, Bound, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result,
};
use crate::chips::SelectChip;
use crate::fixed::to_field;

/// `y[o] = max over groups[o]` of the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxGroups {
    /// Input indices per output element (never empty).
    pub groups: Vec<Vec<usize>>,
}

impl Operator for MaxGroups {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        let x = args[0];
        self.groups
            .iter()
            .map(|g| g.iter().map(|i| x[*i]).fold(f64::NEG_INFINITY, f64::max))
            .collect()
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::MaxGroups(self.clone())
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for MaxGroups {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        let x = args[0];
        Ok(self
            .groups
            .iter()
            .map(|g| g.iter().map(|i| x[*i]).max().unwrap_or(0))
            .collect())
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let (x, bits, select) = (args[0], l.in_bits[0] + 1, SelectChip::new(l.range));
        self.groups
            .iter()
            .map(|g| {
                g[1..]
                    .iter()
                    .fold(x[g[0]], |m, i| select.max(l.ctx, m, x[*i], bits))
            })
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }

    fn bound(&self) -> Bound {
        Bound::Inputs
    }
}

/// A comparison of two tensors.
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

/// `1.0` where `kind(a, b)` holds, else `0.0` (Less/LessOrEqual swap the operands); in fixed
/// point `2^scale` or 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compare {
    /// Which comparison.
    pub kind: Comparison,
}

impl Operator for Compare {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        map2(args, |a, b| if self.kind.holds(a, b) { 1.0 } else { 0.0 })
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Compare(*self)
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Compare {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        let one = 1i128 << f.scale.0;
        Ok(map2(
            args,
            |a, b| if self.kind.holds(a, b) { one } else { 0 },
        ))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let bits = l.in_bits[0].max(l.in_bits[1]) + 1;
        let (select, gate) = (SelectChip::new(l.range), l.range.gate());
        let one = Constant(to_field(1i128 << l.scale));
        map2(args, |a, b| {
            let bit = match self.kind {
                Comparison::Greater => select.greater(l.ctx, a, b, bits),
                Comparison::GreaterOrEqual => select.greater_or_equal(l.ctx, a, b, bits),
                Comparison::Equal => select.is_equal(l.ctx, a, b),
            };
            gate.mul(l.ctx, bit, one)
        })
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

/// `x` where the condition (a [`Compare`] output: 1 or 0) holds, else `y`; inputs `[cond, x, y]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Where;

impl Operator for Where {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        select3(args, |c| c != 0.0)
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Where
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Where {
    fn forward(&self, args: &[&[i128]], _: &Forwarding) -> Result<Vec<i128>> {
        Ok(select3(args, |c| c != 0))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        // The condition is a Compare output (the importer guarantees it): 0 or 2^s exactly.
        let unscale = Constant(to_field(1i128 << l.scale).invert().expect("nonzero"));
        let gate = l.range.gate();
        args[0]
            .iter()
            .zip(args[1])
            .zip(args[2])
            .map(|((c, x), y)| {
                let bit = gate.mul(l.ctx, *c, unscale);
                gate.select(l.ctx, *x, *y, bit)
            })
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

fn select3<T: Copy>(args: &[&[T]], holds: impl Fn(T) -> bool) -> Vec<T> {
    args[0]
        .iter()
        .zip(args[1])
        .zip(args[2])
        .map(|((c, x), y)| if holds(*c) { *x } else { *y })
        .collect()
}

/// Index of the (first, or last) maximum of each group, as a number (in fixed point
/// `index · 2^scale`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgMax {
    /// Input indices per output, in axis order.
    pub groups: Vec<Vec<usize>>,
    /// Report the last maximal index instead of the first.
    pub last: bool,
}

impl Operator for ArgMax {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        let x = args[0];
        self.groups
            .iter()
            .map(|g| argmax(g.iter().map(|i| x[*i]), self.last) as f64)
            .collect()
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::ArgMax(self.clone())
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for ArgMax {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        let x = args[0];
        Ok(self
            .groups
            .iter()
            .map(|g| (argmax(g.iter().map(|i| x[*i]), self.last) as i128) << f.scale.0)
            .collect())
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let (select, gate, bits) = (SelectChip::new(l.range), l.range.gate(), l.in_bits[0]);
        let one = Constant(to_field(1i128 << l.scale));
        self.groups
            .iter()
            .map(|g| {
                let xs: Vec<_> = g.iter().map(|i| args[0][*i]).collect();
                let index = select.argmax(l.ctx, &xs, bits, self.last);
                gate.mul(l.ctx, index, one)
            })
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
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
