//! Max, clip and absolute value, built on [`ReluChip`]: `max(a, b) = b + relu(a - b)`.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use super::relu::ReluChip;
use crate::fixed::to_field;

/// Piecewise-linear selections of signed values, each proven through a sign decomposition.
#[derive(Clone, Copy, Debug)]
pub struct SelectChip<'a> {
    range: &'a RangeChip<Fr>,
}

impl<'a> SelectChip<'a> {
    /// A chip over the given range chip.
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        SelectChip { range }
    }

    /// `max(a, b)` for `|a - b| < 2^bits`.
    pub fn max(
        &self,
        ctx: &mut Context<Fr>,
        a: AssignedValue<Fr>,
        b: AssignedValue<Fr>,
        bits: u32,
    ) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        let d = gate.sub(ctx, a, b);
        let r = ReluChip::new(self.range).relu(ctx, d, bits).output;
        gate.add(ctx, b, r)
    }

    /// `min(max(x, lo), hi)` for `lo <= hi` and `|x - lo|, |x - hi| < 2^bits`:
    /// `lo + relu(x - lo) - relu(x - hi)`.
    pub fn clip(
        &self,
        ctx: &mut Context<Fr>,
        x: AssignedValue<Fr>,
        lo: i64,
        hi: i64,
        bits: u32,
    ) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        let relu = ReluChip::new(self.range);
        let below = gate.sub(ctx, x, Constant(to_field(lo.into())));
        let above = gate.sub(ctx, x, Constant(to_field(hi.into())));
        let r1 = relu.relu(ctx, below, bits).output;
        let r2 = relu.relu(ctx, above, bits).output;
        let y = gate.sub(ctx, r1, r2);
        gate.add(ctx, y, Constant(to_field(lo.into())))
    }

    /// `|x| = 2 · relu(x) - x` for `|x| < 2^bits`.
    pub fn abs(&self, ctx: &mut Context<Fr>, x: AssignedValue<Fr>, bits: u32) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        let r = ReluChip::new(self.range).relu(ctx, x, bits).output;
        let twice = gate.add(ctx, r, r);
        gate.sub(ctx, twice, x)
    }
}

impl SelectChip<'_> {
    /// 1 if `a >= b` else 0, for `|a - b| < 2^bits`.
    pub fn greater_or_equal(
        &self,
        ctx: &mut Context<Fr>,
        a: AssignedValue<Fr>,
        b: AssignedValue<Fr>,
        bits: u32,
    ) -> AssignedValue<Fr> {
        let d = self.range.gate().sub(ctx, a, b);
        ReluChip::new(self.range).relu(ctx, d, bits).sign
    }

    /// 1 if `a > b` else 0 (integers: `a - 1 >= b`), for `|a - b| < 2^bits`.
    pub fn greater(
        &self,
        ctx: &mut Context<Fr>,
        a: AssignedValue<Fr>,
        b: AssignedValue<Fr>,
        bits: u32,
    ) -> AssignedValue<Fr> {
        let a_minus_one = self.range.gate().sub(ctx, a, Constant(Fr::one()));
        self.greater_or_equal(ctx, a_minus_one, b, bits + 1)
    }

    /// `-1`, `0` or `1` for `|x| < 2^bits`.
    pub fn sign(
        &self,
        ctx: &mut Context<Fr>,
        x: AssignedValue<Fr>,
        bits: u32,
    ) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        let zero = ctx.load_zero();
        let positive = self.greater(ctx, x, zero, bits);
        let negative = self.greater(ctx, zero, x, bits);
        gate.sub(ctx, positive, negative)
    }

    /// 1 if `a == b` else 0, with a unique witness: `out = 1 - d·inv`, `d·out = 0` and
    /// `inv·out = 0` for `d = a - b`, so `inv` is `1/d`, or 0 when `d = 0`. (halo2-base's
    /// `is_equal` leaves the inverse free when the values are equal: harmless for the output, but
    /// a cell a prover could set at will.)
    pub fn is_equal(
        &self,
        ctx: &mut Context<Fr>,
        a: AssignedValue<Fr>,
        b: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        let d = gate.sub(ctx, a, b);
        let inv = ctx.load_witness(d.value().invert().unwrap_or(Fr::zero()));
        let out = gate.sub_mul(ctx, Constant(Fr::one()), d, inv);
        for factor in [d, inv] {
            let product = gate.mul(ctx, factor, out);
            gate.assert_is_const(ctx, &product, &Fr::zero());
        }
        out
    }

    /// Index of the first (or, with `last`, the last) maximum of `xs` (each `|x| < 2^bits`).
    pub fn argmax(
        &self,
        ctx: &mut Context<Fr>,
        xs: &[AssignedValue<Fr>],
        bits: u32,
        last: bool,
    ) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        let max = xs[1..]
            .iter()
            .fold(xs[0], |m, x| self.max(ctx, m, *x, bits + 1));
        let mut found = ctx.load_zero();
        let mut index = ctx.load_zero();
        let order: Vec<usize> = if last {
            (0..xs.len()).rev().collect()
        } else {
            (0..xs.len()).collect()
        };
        for i in order {
            let eq = self.is_equal(ctx, xs[i], max);
            // first = eq · (1 - found): only the first maximal position in scan order.
            let first = gate.sub_mul(ctx, eq, eq, found);
            found = gate.add(ctx, found, first);
            index = gate.mul_add(ctx, first, Constant(Fr::from(i as u64)), index);
        }
        index
    }
}

/// Bits needed for `|v| < 2^bits`.
pub fn magnitude_bits(v: i64) -> u32 {
    64 - v.unsigned_abs().leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::testing::check;
    use crate::fixed::from_field;

    /// Runs `f` on witnesses `xs`; optionally overwrites the result cell with `claim`.
    fn run(
        xs: &[i128],
        claim: Option<i128>,
        f: impl FnOnce(&SelectChip, &mut Context<Fr>, &[AssignedValue<Fr>]) -> AssignedValue<Fr>,
    ) -> (bool, i128) {
        let mut got = 0;
        let ok = check(8, |ctx, range| {
            let cells: Vec<_> = xs.iter().map(|v| ctx.load_witness(to_field(*v))).collect();
            let out = f(&SelectChip::new(range), ctx, &cells);
            got = from_field(out.value()).unwrap();
            if let Some(c) = claim {
                ctx.advice[out.cell.unwrap().offset] = to_field(c).into();
            }
            vec![]
        });
        (ok, got)
    }

    #[test]
    fn max_is_exact_and_a_wrong_claim_is_rejected() {
        for (a, b) in [(3i128, 5i128), (5, 3), (-7, -2), (4, 4), (-100, 100)] {
            let (ok, got) = run(&[a, b], None, |c, ctx, x| c.max(ctx, x[0], x[1], 10));
            assert!(ok && got == a.max(b), "max({a}, {b}) = {got}");
            let (ok, _) = run(&[a, b], Some(a.min(b) - 1), |c, ctx, x| {
                c.max(ctx, x[0], x[1], 10)
            });
            assert!(!ok, "wrong max accepted for ({a}, {b})");
        }
    }

    #[test]
    fn clip_is_exact_and_a_wrong_claim_is_rejected() {
        for x in [-50i128, -10, 0, 10, 50] {
            let (ok, got) = run(&[x], None, |c, ctx, v| c.clip(ctx, v[0], -10, 20, 10));
            assert!(ok && got == x.clamp(-10, 20), "clip({x}) = {got}");
            let (ok, _) = run(&[x], Some(x), |c, ctx, v| c.clip(ctx, v[0], -10, 20, 10));
            assert_eq!(ok, x == x.clamp(-10, 20), "claim clip({x}) = {x}");
        }
    }

    #[test]
    fn abs_is_exact_and_a_wrong_claim_is_rejected() {
        for x in [-9i128, 0, 9] {
            let (ok, got) = run(&[x], None, |c, ctx, v| c.abs(ctx, v[0], 8));
            assert!(ok && got == x.abs());
            let (ok, _) = run(&[x], Some(-x.abs() - 1), |c, ctx, v| c.abs(ctx, v[0], 8));
            assert!(!ok);
        }
    }

    #[test]
    fn comparisons_are_exact_and_wrong_claims_are_rejected() {
        for (a, b) in [(3i128, 5i128), (5, 3), (4, 4), (-7, -2)] {
            let (ok, ge) = run(&[a, b], None, |c, ctx, x| {
                c.greater_or_equal(ctx, x[0], x[1], 8)
            });
            assert!(ok && ge == i128::from(a >= b));
            let (ok, gt) = run(&[a, b], None, |c, ctx, x| c.greater(ctx, x[0], x[1], 8));
            assert!(ok && gt == i128::from(a > b));
            let (ok, _) = run(&[a, b], Some(1 - gt), |c, ctx, x| {
                c.greater(ctx, x[0], x[1], 8)
            });
            assert!(!ok, "flipped {a} > {b} accepted");
        }
        for x in [-3i128, 0, 3] {
            let (ok, s) = run(&[x], None, |c, ctx, v| c.sign(ctx, v[0], 8));
            assert!(ok && s == x.signum());
            let (ok, _) = run(
                &[x],
                Some(-x.signum() + if x == 0 { 1 } else { 0 }),
                |c, ctx, v| c.sign(ctx, v[0], 8),
            );
            assert!(!ok);
        }
    }

    #[test]
    fn argmax_takes_the_first_or_last_maximum() {
        let xs = [3i128, 9, -2, 9, 1];
        let (ok, i) = run(&xs, None, |c, ctx, v| c.argmax(ctx, v, 8, false));
        assert!(ok && i == 1);
        let (ok, i) = run(&xs, None, |c, ctx, v| c.argmax(ctx, v, 8, true));
        assert!(ok && i == 3);
        for wrong in [0i128, 3, 4] {
            let (ok, _) = run(&xs, Some(wrong), |c, ctx, v| c.argmax(ctx, v, 8, false));
            assert!(!ok, "argmax {wrong} accepted");
        }
    }

    #[test]
    fn is_equal_is_exact_and_every_cell_is_pinned() {
        for (a, b) in [(4i128, 4i128), (4, -3), (0, 0), (-5, 7)] {
            let (ok, eq) = run(&[a, b], None, |c, ctx, x| c.is_equal(ctx, x[0], x[1]));
            assert!(ok && eq == i128::from(a == b), "{a} == {b}: {eq}");
            let (ok, _) = run(&[a, b], Some(1 - eq), |c, ctx, x| {
                c.is_equal(ctx, x[0], x[1])
            });
            assert!(!ok, "flipped {a} == {b} accepted");
            // Every cell after the two inputs, the inverse included, is determined.
            let mut cells = 0;
            check(8, |ctx, range| {
                let x: Vec<_> = [a, b]
                    .iter()
                    .map(|v| ctx.load_witness(to_field(*v)))
                    .collect();
                SelectChip::new(range).is_equal(ctx, x[0], x[1]);
                cells = ctx.advice.len();
                vec![]
            });
            for i in 2..cells {
                let ok = check(8, |ctx, range| {
                    let x: Vec<_> = [a, b]
                        .iter()
                        .map(|v| ctx.load_witness(to_field(*v)))
                        .collect();
                    SelectChip::new(range).is_equal(ctx, x[0], x[1]);
                    ctx.advice[i] += halo2_base::halo2_proofs::plonk::Assigned::Trivial(Fr::one());
                    vec![]
                });
                assert!(!ok, "{a} == {b}: cell {i} of {cells} changed and accepted");
            }
        }
    }

    #[test]
    fn magnitude_bits_bounds_the_value() {
        for v in [0i64, 1, -1, 2, 255, -256, i64::MAX, i64::MIN + 1] {
            assert!(
                (v.unsigned_abs() as u128) < (1u128 << magnitude_bits(v)),
                "{v}"
            );
        }
    }
}
