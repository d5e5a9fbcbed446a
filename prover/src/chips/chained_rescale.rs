//! `ChainedRescaleChip`: the rescale of a multiply-accumulate chain's sum, and optionally the
//! ReLU after it, laid out on the chain itself (layouts with chains only).
//!
//! The chain's bias carries the rescale's offset ([`ChainedRescaleChip::offset`]), so the
//! chain ends in `t = acc + 2^(s−1)` (plain) or `t = acc + 2^(s−1) + 2^(b+s)` (rectified), and
//! the rescale continues the chain with more terms of constant weight, two cells each:
//!
//! - **plain**: `r = t − 2^s · y`; `r ∈ [0, 2^s)` and `y + 2^b ∈ [0, 2^(b+1))`. So
//!   `y = floor(t / 2^s) = round(acc / 2^s)`, in `[−2^b, 2^b)`.
//! - **rectified**: `t₁ = t − 2^(b+s) · sign`, `r = t₁ − 2^s · low`; `sign ∈ {0, 1}`,
//!   `low ∈ [0, 2^b)`, `r ∈ [0, 2^s)`; output `sign · low` (halo2-base's gate). With
//!   `q = sign · 2^b + low = floor(t / 2^s)`, the rescaled value is `q − 2^b`, which is `low`
//!   when `sign = 1` and negative when `sign = 0`: the output is its ReLU, and the ReLU needs no
//!   range check of its own.
//!
//! A range `[0, 2^n)` is checked by peeling limbs off the top on the chain
//! (`v = top · 2^(n−m) + rest`, `top ∈ [0, 2^m)`, `rest ∈ [0, 2^(n−m))`) until what is left fits
//! the range table; widths below the table's go to narrow range tables of their own
//! ([`MacChain::check_narrow`]). Every decomposition is exact, so each value is the unique one
//! the sum allows; a sum outside the bound has no witness.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};

use super::mac::MacChain;
use crate::fixed::{from_field, to_field, MAX_RESCALE_BITS};

/// A rescale's witness: the honest one, or a test's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RescaleWitness {
    /// `floor(t / 2^s)`: the signed result `y` (plain), or `q = sign · 2^b + low` (rectified).
    /// The remainder `t − 2^s · quotient` follows on the chain.
    pub quotient: Fr,
    /// Rectified only: the sign bit of `q`.
    pub sign: Fr,
}

/// Lays out the rescale (and ReLU) that ends a chain (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct ChainedRescaleChip<'a> {
    range: &'a RangeChip<Fr>,
}

impl<'a> ChainedRescaleChip<'a> {
    /// A chip over the fused layout's range chip.
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        ChainedRescaleChip { range }
    }

    /// What the chain's bias carries: `2^(s−1)`, plus `2^(b+s)` when rectified.
    pub fn offset(shift: u32, bits: u32, rectify: bool) -> i128 {
        let half = 1i128 << (shift - 1);
        if rectify {
            half + (1i128 << (bits + shift))
        } else {
            half
        }
    }

    /// The honest witness for the chain's sum `t` (offset included).
    pub fn witness(t: Fr, shift: u32, bits: u32, rectify: bool) -> RescaleWitness {
        // An undecodable sum has no valid witness; any value makes the constraints fail.
        let q = from_field(&t).unwrap_or(0).div_euclid(1i128 << shift);
        RescaleWitness {
            quotient: to_field(q),
            sign: to_field(if rectify { q >> bits } else { 0 }),
        }
    }

    /// Rescales the chain's sum, the last cell of `ctx`, with the honest witness: the output
    /// cell, in `[−2^bits, 2^bits)` (plain) or `[0, 2^bits)` (rectified).
    pub fn rescale(
        &self,
        ctx: &mut Context<Fr>,
        chain: &mut MacChain,
        shift: u32,
        bits: u32,
        rectify: bool,
    ) -> AssignedValue<Fr> {
        let w = Self::witness(*ctx.get(-1).value(), shift, bits, rectify);
        self.assign(ctx, chain, shift, bits, rectify, w)
    }

    /// Lays out the constraints with a given (possibly dishonest) witness; the limbs of the
    /// range checks follow from it.
    pub fn assign(
        &self,
        ctx: &mut Context<Fr>,
        chain: &mut MacChain,
        shift: u32,
        bits: u32,
        rectify: bool,
        w: RescaleWitness,
    ) -> AssignedValue<Fr> {
        assert!(
            shift >= 1 && bits >= 1 && bits + shift <= MAX_RESCALE_BITS,
            "chained rescale of {bits} bits by 2^{shift}: outside what the layout supports"
        );
        let step = to_field(-(1i128 << shift));
        if !rectify {
            let (y, _r) = chain.step(ctx, w.quotient, step);
            self.check_last(ctx, chain, shift);
            // y + 2^b ∈ [0, 2^(b+1)), on a chain from the constant 2^b.
            ctx.load_constant(to_field(1i128 << bits));
            let (y_copy, _q) = chain.step(ctx, *y.value(), Fr::one());
            ctx.constrain_equal(&y, &y_copy);
            self.check_last(ctx, chain, bits + 1);
            return y;
        }
        let low = w.quotient - w.sign * to_field(1i128 << bits);
        let (sign, _t1) = chain.step(ctx, w.sign, to_field(-(1i128 << (bits + shift))));
        chain.check_narrow(&sign, 1);
        let (low, _r) = chain.step(ctx, low, step);
        self.check_last(ctx, chain, shift);
        if bits <= self.lookup_bits() {
            self.check(ctx, chain, &low, bits);
        } else {
            let copy = ctx.load_witness(*low.value());
            ctx.constrain_equal(&low, &copy);
            self.check_last(ctx, chain, bits);
        }
        self.range.gate().mul(ctx, sign, low)
    }

    fn lookup_bits(&self) -> u32 {
        self.range.lookup_bits() as u32
    }

    /// `cell ∈ [0, 2^width)` for `1 ≤ width ≤ lookup_bits`: the range table, or a narrow one.
    fn check(
        &self,
        ctx: &mut Context<Fr>,
        chain: &mut MacChain,
        cell: &AssignedValue<Fr>,
        width: u32,
    ) {
        // The chain goes on from the last cell: a check must not add any.
        let cells = ctx.advice.len();
        if width == self.lookup_bits() {
            // One limb: halo2-base tags the cell itself, without cells of its own.
            self.range.range_check(ctx, *cell, width as usize);
        } else {
            assert!(
                (1..self.lookup_bits()).contains(&width),
                "narrow range of {width} bits"
            );
            chain.check_narrow(cell, width);
        }
        assert_eq!(ctx.advice.len(), cells, "a range check added cells");
    }

    /// The last cell of `ctx` in `[0, 2^bits)` (`bits ≥ 1`), peeling limbs off the top on the
    /// chain until the rest fits the range table.
    fn check_last(&self, ctx: &mut Context<Fr>, chain: &mut MacChain, bits: u32) {
        let table = self.lookup_bits();
        let mut n = bits;
        while n > table {
            let below = table * ((n - 1) / table);
            let v = from_field(ctx.get(-1).value()).unwrap_or(0);
            let (top, _rest) = chain.step(ctx, to_field(v >> below), to_field(-(1i128 << below)));
            self.check(ctx, chain, &top, n - below);
            n = below;
        }
        let last = ctx.get(-1);
        self.check(ctx, chain, &last, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::testing::check_chained;
    use crate::ops::rescale;

    /// Range table bits of the test circuits.
    const TABLE: usize = 6;

    /// A chain `acc + offset` (one term: the input cell) and its rescale, with the honest
    /// witness or `witness`, and advice cell `perturb` incremented: the verdict, the output
    /// value and the number of advice cells.
    fn run(
        acc: i128,
        (shift, bits, rectify): (u32, u32, bool),
        witness: Option<RescaleWitness>,
        perturb: Option<usize>,
    ) -> (bool, i128, usize) {
        let mut out = (0, 0);
        let ok = check_chained(9, TABLE, perturb, |ctx, range, chain| {
            let x = ctx.load_witness(to_field(acc));
            let offset = ChainedRescaleChip::offset(shift, bits, rectify);
            chain.accumulate(ctx, [(x, 1)], offset);
            let t = *ctx.get(-1).value();
            let w = witness.unwrap_or(ChainedRescaleChip::witness(t, shift, bits, rectify));
            let y = ChainedRescaleChip::new(range).assign(ctx, chain, shift, bits, rectify, w);
            out = (from_field(y.value()).unwrap_or(i128::MIN), ctx.advice.len());
            vec![y]
        });
        (ok, out.0, out.1)
    }

    /// Shapes: remainders wider and narrower than the table, bounds wider, equal and narrower.
    const SHAPES: [(u32, u32); 4] = [(8, 9), (4, 6), (6, 5), (13, 14)];

    fn honest(acc: i128, shape: (u32, u32, bool)) -> i128 {
        let y = rescale(acc, shape.0);
        if shape.2 {
            y.max(0)
        } else {
            y
        }
    }

    #[test]
    fn honest_rescales_are_accepted_and_round_like_the_reference() {
        for (shift, bits) in SHAPES {
            for rectify in [false, true] {
                let shape = (shift, bits, rectify);
                // The extreme sums that round into [-2^b, 2^b).
                let top = (1i128 << (bits + shift)) - (1 << (shift - 1)) - 1;
                let bottom = -(1i128 << (bits + shift)) - (1 << (shift - 1));
                for acc in [0, 1, -1, 37, -37, 1000, -1000, top, bottom] {
                    let (ok, y, _) = run(acc, shape, None, None);
                    assert!(ok, "{shape:?} acc {acc}");
                    assert_eq!(y, honest(acc, shape), "{shape:?} acc {acc}");
                }
            }
        }
    }

    #[test]
    fn results_outside_the_bound_have_no_witness() {
        for (shift, bits) in SHAPES {
            for rectify in [false, true] {
                let shape = (shift, bits, rectify);
                let over = (1i128 << (bits + shift)) - (1 << (shift - 1));
                let under = -(1i128 << (bits + shift)) - (1 << (shift - 1)) - 1;
                assert!(!run(over, shape, None, None).0, "{shape:?}");
                assert!(!run(under, shape, None, None).0, "{shape:?}");
                assert!(!run(1 << 40, shape, None, None).0, "{shape:?}");
            }
        }
    }

    #[test]
    fn a_quotient_off_by_any_amount_is_rejected() {
        for (shift, bits) in SHAPES {
            for rectify in [false, true] {
                let shape = (shift, bits, rectify);
                for acc in [0, 77, -77, 3 << shift] {
                    let offset = ChainedRescaleChip::offset(shift, bits, rectify);
                    let t = to_field(acc + offset);
                    let w = ChainedRescaleChip::witness(t, shift, bits, rectify);
                    let q = from_field(&w.quotient).unwrap();
                    for delta in [1, -1, 2, -3, 1 << shift] {
                        let quotient = q + delta;
                        let sign = to_field(if rectify { quotient >> bits } else { 0 });
                        let bad = RescaleWitness {
                            quotient: to_field(quotient),
                            sign,
                        };
                        let (ok, _, _) = run(acc, shape, Some(bad), None);
                        assert!(!ok, "{shape:?} acc {acc} delta {delta}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_wrong_sign_is_rejected() {
        let mut attacked = 0;
        for (shift, bits) in SHAPES {
            let shape = (shift, bits, true);
            for acc in [0, 200, -200, 1 << shift, -(1 << shift)] {
                let offset = ChainedRescaleChip::offset(shift, bits, true);
                let w = ChainedRescaleChip::witness(to_field(acc + offset), shift, bits, true);
                assert!(run(acc, shape, Some(w), None).0);
                // Flipped (a negative value passed through, a positive one zeroed), not a bit.
                for sign in [Fr::one() - w.sign, Fr::from(2), -Fr::one()] {
                    let bad = RescaleWitness { sign, ..w };
                    assert!(
                        !run(acc, shape, Some(bad), None).0,
                        "acc {acc} sign {sign:?}"
                    );
                }
                // A sign that is no bit but a field element absorbing the whole value: low 0
                // (output 0) and the remainder honest. Only the sign's own range check stops it.
                let t = acc + offset;
                let r = t.rem_euclid(1 << shift);
                let inverse = to_field(1i128 << (bits + shift)).invert().unwrap();
                let sign = to_field(t - r) * inverse;
                let bad = RescaleWitness {
                    quotient: sign * to_field(1i128 << bits),
                    sign,
                };
                // (Where the honest low part is 0 this is the honest sign.)
                let honest = w.sign == bad.sign;
                assert_eq!(
                    run(acc, shape, Some(bad), None).0,
                    honest,
                    "acc {acc}: field sign"
                );
                attacked += usize::from(!honest);
            }
        }
        assert!(attacked >= 12, "the field-sign attack ran {attacked} times");
    }

    #[test]
    fn every_single_cell_change_is_rejected() {
        for (shift, bits) in SHAPES {
            for rectify in [false, true] {
                let shape = (shift, bits, rectify);
                for acc in [-300, 300] {
                    let (ok, _, cells) = run(acc, shape, None, None);
                    assert!(ok);
                    let accepted: Vec<_> = (0..cells)
                        .filter(|&i| run(acc, shape, None, Some(i)).0)
                        .collect();
                    assert!(accepted.is_empty(), "{shape:?} acc {acc}: {accepted:?}");
                }
            }
        }
    }

    #[test]
    fn the_rescale_and_relu_take_few_cells() {
        // The input, then the chain's bias, term and sum: 4 cells; then 2 per chain step, 1 per
        // copy, 1 per constant, 4 for the product.
        // Plain, remainder and bound one table wide: y, r; 2^b, y, q.
        assert_eq!(run(5, (6, 5, false), None, None).2, 4 + 2 + 3);
        // Rectified, both within the table: sign, t1, low, r; the product.
        assert_eq!(run(5, (6, 5, true), None, None).2, 4 + 4 + 4);
        // Rectified, remainder and bound over the table: one limb peeled each, low copied.
        assert_eq!(run(5, (8, 9, true), None, None).2, 4 + 4 + 2 + 1 + 2 + 4);
    }
}
