//! Signed range checks and instance-word packing: every value `x` checked to `[-2^b, 2^b)` has
//! the lane `x + 2^b` of `b + 1` bits; [`PACK_BITS`] / (`b + 1`) lanes share one field element.

use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use crate::fixed::to_field;

/// Bits of an instance word used for packed input lanes (below the field's 253 usable bits).
pub const PACK_BITS: u32 = 248;

/// How many input lanes of `lane_bits` bits share one instance word.
pub fn lanes_per_word(lane_bits: u32) -> usize {
    (PACK_BITS / lane_bits) as usize
}

/// Proves `x ∈ [-2^bits, 2^bits)`; returns the lane `x + 2^bits ∈ [0, 2^(bits+1))`.
pub fn range_check_signed(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: AssignedValue<Fr>,
    bits: u32,
) -> AssignedValue<Fr> {
    let shifted = range.gate().add(ctx, x, Constant(to_field(1i128 << bits)));
    range.range_check(ctx, shifted, bits as usize + 1);
    shifted
}

/// Packs range-checked lanes of `lane_bits` bits into words, little-endian.
pub fn pack(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    lanes: &[AssignedValue<Fr>],
    lane_bits: u32,
) -> Vec<AssignedValue<Fr>> {
    let pow = &range.gate().pow_of_two;
    lanes
        .chunks(lanes_per_word(lane_bits))
        .map(|chunk| {
            let weights = (0..chunk.len()).map(|j| Constant(pow[j * lane_bits as usize]));
            range
                .gate()
                .inner_product(ctx, chunk.iter().copied(), weights)
        })
        .collect()
}
