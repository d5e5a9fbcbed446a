//! `RescaleChip`: divides a fixed-point accumulator by `2^shift` with rounding, as a constrained
//! division (quotient and remainder range-checked).

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use crate::fixed::{from_field, to_field};

/// The cells of one rescale: `acc + 2^(shift-1) + 2^(bits+shift) = quotient * 2^shift + remainder`.
#[derive(Clone, Debug)]
pub struct Rescaled {
    /// `q ∈ [0, 2^(bits+1))`.
    pub quotient: AssignedValue<Fr>,
    /// `r ∈ [0, 2^shift)`.
    pub remainder: AssignedValue<Fr>,
    /// `q - 2^bits`, the rounded result in `[-2^bits, 2^bits)`.
    pub output: AssignedValue<Fr>,
}

/// Rounds `acc / 2^shift` to the nearest integer (ties up) and proves the result lies in `±2^bits`.
#[derive(Clone, Copy, Debug)]
pub struct RescaleChip<'a> {
    range: &'a RangeChip<Fr>,
}

impl<'a> RescaleChip<'a> {
    /// A chip over the given range chip.
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        RescaleChip { range }
    }

    fn offset(shift: u32, bits: u32) -> i128 {
        let half = if shift == 0 { 0 } else { 1i128 << (shift - 1) };
        half + (1i128 << (bits + shift))
    }

    /// Rescales `acc` with the honest quotient and remainder.
    pub fn rescale(
        &self,
        ctx: &mut Context<Fr>,
        acc: AssignedValue<Fr>,
        shift: u32,
        bits: u32,
    ) -> Rescaled {
        // An undecodable accumulator has no valid witness; any value makes the constraints fail.
        let shifted = from_field(acc.value()).unwrap_or(0) + Self::offset(shift, bits);
        let (q, r) = (
            shifted.div_euclid(1i128 << shift),
            shifted.rem_euclid(1i128 << shift),
        );
        self.assign(ctx, acc, shift, bits, to_field(q), to_field(r))
    }

    /// Lays out the constraints for a given (possibly dishonest) quotient and remainder.
    pub fn assign(
        &self,
        ctx: &mut Context<Fr>,
        acc: AssignedValue<Fr>,
        shift: u32,
        bits: u32,
        quotient: Fr,
        remainder: Fr,
    ) -> Rescaled {
        let gate = self.range.gate();
        let quotient = ctx.load_witness(quotient);
        let remainder = ctx.load_witness(remainder);
        let recomposed = gate.mul_add(ctx, quotient, Constant(to_field(1i128 << shift)), remainder);
        let shifted = gate.add(ctx, acc, Constant(to_field(Self::offset(shift, bits))));
        ctx.constrain_equal(&recomposed, &shifted);
        self.range.range_check(ctx, remainder, shift as usize);
        self.range.range_check(ctx, quotient, bits as usize + 1);
        let output = gate.sub(ctx, quotient, Constant(to_field(1i128 << bits)));
        Rescaled {
            quotient,
            remainder,
            output,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::testing::check;
    use crate::ops::rescale;

    const SHIFT: u32 = 6;
    const BITS: u32 = 10;

    fn run(acc: i128, witness: Option<(i128, i128)>) -> bool {
        check(8, |ctx, range| {
            let acc = ctx.load_witness(to_field(acc));
            let chip = RescaleChip::new(range);
            let out = match witness {
                None => chip.rescale(ctx, acc, SHIFT, BITS),
                Some((q, r)) => chip.assign(ctx, acc, SHIFT, BITS, to_field(q), to_field(r)),
            };
            vec![out.output]
        })
    }

    #[test]
    fn honest_rescale_is_accepted_and_rounds_like_the_reference() {
        for acc in [
            0i128,
            31,
            32,
            -32,
            -33,
            12345,
            -12345,
            (1 << 15) + 7,
            -(1 << 16),
        ] {
            assert!(run(acc, None), "acc {acc}");
            let shifted = acc + RescaleChip::offset(SHIFT, BITS);
            assert_eq!(
                shifted.div_euclid(1 << SHIFT) - (1 << BITS),
                rescale(acc, SHIFT)
            );
        }
    }

    #[test]
    fn remainder_out_of_range_is_rejected() {
        let acc = 1000i128;
        let shifted = acc + RescaleChip::offset(SHIFT, BITS);
        let (q, r) = (shifted >> SHIFT, shifted & ((1 << SHIFT) - 1));
        assert!(run(acc, Some((q, r))));
        // Same linear relation, remainder one step too large.
        assert!(!run(acc, Some((q - 1, r + (1 << SHIFT)))));
        // Negative remainder (p - x in the field).
        assert!(!run(acc, Some((q + 1, r - (1 << SHIFT)))));
    }

    #[test]
    fn wrong_remainder_or_quotient_is_rejected() {
        let acc = 1000i128;
        let shifted = acc + RescaleChip::offset(SHIFT, BITS);
        let (q, r) = (shifted >> SHIFT, shifted & ((1 << SHIFT) - 1));
        assert!(!run(acc, Some((q, (r + 1) % (1 << SHIFT)))));
        assert!(!run(acc, Some((q + 1, r))));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(24))]
            /// For any accumulator in range: the honest rescale is accepted and rounds to the
            /// nearest integer (ties up, as the reference); any other remainder is rejected,
            /// whether it breaks the division or keeps it with a remainder out of range.
            #[test]
            fn rescale_rounds_and_accepts_only_the_true_remainder(
                acc in -(1i128 << 15)..(1i128 << 15),
                delta in 1i128..(1 << SHIFT),
            ) {
                prop_assert!(run(acc, None));
                let rounded = rescale(acc, SHIFT);
                let step = 1i128 << SHIFT;
                prop_assert!(rounded * step - acc <= step / 2 && acc - rounded * step < step / 2);
                let shifted = acc + RescaleChip::offset(SHIFT, BITS);
                let (q, r) = (shifted.div_euclid(step), shifted.rem_euclid(step));
                prop_assert!(!run(acc, Some((q, (r + delta) % step))));
                prop_assert!(!run(acc, Some((q - delta, r + delta * step))));
                prop_assert!(!run(acc, Some((q + delta, r - delta * step))));
            }
        }
    }

    #[test]
    fn result_outside_the_bound_is_rejected() {
        // |acc / 2^shift| ≈ 2^(BITS+1): no quotient in range exists.
        let acc = 1i128 << (BITS + SHIFT + 1);
        assert!(!run(acc, None));
        assert!(!run(-acc, None));
    }
}
