//! Comparisons and selections: [`MaxGroups`] (MaxPool, ReduceMax, Max), [`Compare`]
//! (Greater, Less, Equal, ...), [`Where`], [`ArgMax`], [`OneHot`] (Gather with computed
//! indices).

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

/// The one-hot bits of indices: input `idx` (`[n]`, whole numbers in `[0, depth)`), output
/// `[n, depth]` with `1.0` at `idx[j]` in row `j` and `0.0` elsewhere (fixed point: `2^scale`
/// or 0). Constrained: every bit is 0 or 1, each row's bits sum to 1 and their positions
/// weighted by the bits give the index, so an index that is out of range or not a whole number
/// has no witness (and the prover refuses it by name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneHot {
    /// The number of positions.
    pub depth: usize,
}

impl OneHot {
    /// The position `v` (fixed point at `scale`) names, if any.
    fn position(&self, v: i128, scale: u32) -> Option<usize> {
        let whole = v.checked_rem(1i128 << scale) == Some(0);
        let p = usize::try_from(v >> scale).ok()?;
        (whole && v >= 0 && p < self.depth).then_some(p)
    }
}

impl Operator for OneHot {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        args[0]
            .iter()
            .flat_map(|i| (0..self.depth).map(move |p| if *i == p as f64 { 1.0 } else { 0.0 }))
            .collect()
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::OneHot(*self)
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for OneHot {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        let one = 1i128 << f.scale.0;
        let mut out = Vec::with_capacity(args[0].len() * self.depth);
        for v in args[0] {
            let p = self.position(*v, f.scale.0);
            if p.is_none() && f.check {
                return Err(crate::Error::InvalidInput(format!(
                    "{}: an index is not a whole number within the {} positions it selects from",
                    f.node(),
                    self.depth
                )));
            }
            out.extend((0..self.depth).map(|q| if p == Some(q) { one } else { 0 }));
        }
        Ok(out)
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let gate = l.range.gate();
        let one = Constant(to_field(1i128 << l.scale));
        let mut out = Vec::with_capacity(args[0].len() * self.depth);
        for idx in args[0] {
            let p = crate::fixed::from_field(idx.value()).and_then(|v| self.position(v, l.scale));
            let bits: Vec<AssignedValue<Fr>> = (0..self.depth)
                .map(|q| l.ctx.load_witness(Fr::from(u64::from(p == Some(q)))))
                .collect();
            for b in &bits {
                gate.assert_bit(l.ctx, *b);
            }
            let count = gate.sum(l.ctx, bits.iter().copied());
            gate.assert_is_const(l.ctx, &count, &Fr::one());
            let positions = (0..self.depth).map(|q| Constant(to_field((q as i128) << l.scale)));
            let at = gate.inner_product(l.ctx, bits.iter().copied(), positions);
            l.ctx.constrain_equal(&at, idx);
            out.extend(bits.into_iter().map(|b| gate.mul(l.ctx, b, one)));
        }
        out
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}
