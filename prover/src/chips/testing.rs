//! MockProver harness for chip tests.

use halo2_base::gates::circuit::{builder::BaseCircuitBuilder, CircuitBuilderStage};
use halo2_base::gates::RangeChip;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};

/// Lays out `f` in a fresh circuit of `2^k` rows (lookup table of `k-1` bits), exposes the
/// returned cells as public instances with their own values, and reports whether MockProver
/// accepts.
pub(crate) fn check(
    k: usize,
    f: impl FnOnce(&mut Context<Fr>, &RangeChip<Fr>) -> Vec<AssignedValue<Fr>>,
) -> bool {
    let mut builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
        .use_k(k)
        .use_lookup_bits(k - 1)
        .use_instance_columns(1);
    let range = builder.range_chip();
    let public = f(builder.main(0), &range);
    let values = public.iter().map(|c| *c.value()).collect();
    builder.assigned_instances = vec![public];
    builder.calculate_params(Some(crate::circuit::BLINDING_ROWS));
    MockProver::run(k as u32, &builder, vec![values])
        .expect("mock synthesis")
        .verify()
        .is_ok()
}
