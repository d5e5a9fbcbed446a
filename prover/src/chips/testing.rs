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

/// Lays out `f` in a fused single-column [`crate::circuit::ModelCircuit`] of `2^k` rows with
/// multiply-accumulate chains and chained rescales (range table of `lookup_bits` bits), exposes
/// the returned cells as public instances with their own values, and reports whether
/// MockProver accepts. `perturb`: an advice cell incremented after the layout (copies, lookups
/// and instances as they were).
pub(crate) fn check_chained(
    k: usize,
    lookup_bits: usize,
    perturb: Option<usize>,
    f: impl FnOnce(
        &mut Context<Fr>,
        &RangeChip<Fr>,
        &mut crate::chips::MacChain,
    ) -> Vec<AssignedValue<Fr>>,
) -> bool {
    use crate::circuit::{FusedLookup, ModelCircuit};
    let builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
        .use_k(k)
        .use_instance_columns(1);
    let shape = FusedLookup {
        lookup_bits,
        functions: false,
        mac_chain: true,
        chained_rescale: true,
    };
    let table = std::sync::Arc::new(Vec::new());
    let mut circuit = ModelCircuit::new(builder, table, 0, Some(shape), None);
    let range = circuit.range_chip();
    let mut chain = circuit.macs.take().expect("chains");
    let public = f(circuit.builder.main(0), &range, &mut chain);
    circuit.macs = Some(chain);
    circuit.finish_layout();
    let values = public.iter().map(|c| *c.value()).collect();
    if let Some(i) = perturb {
        circuit.tamper_advice(i, Fr::one());
    }
    circuit.builder.assigned_instances = vec![public];
    circuit
        .builder
        .calculate_params(Some(crate::circuit::BLINDING_ROWS));
    let ok = MockProver::run(k as u32, &circuit, vec![values])
        .expect("mock synthesis")
        .verify()
        .is_ok();
    circuit.clear();
    ok
}
