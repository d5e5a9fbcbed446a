//! Test helpers (feature `test-utils`, and this crate's own tests): MockProver circuits of a
//! model with its real values, and the single-cell soundness sweep.

use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

use super::{mock_circuit_bound, Bindings, CircuitParams, ModelCircuit};
use crate::quantize::QuantizedModel;

/// The circuit for MockProver checks, with the real tensor values (salt 0, subject
/// [`TEST_SUBJECT`]).
pub fn mock_circuit(
    model: &QuantizedModel,
    params: &CircuitParams,
    values: &[Vec<i128>],
) -> (ModelCircuit, Vec<Fr>) {
    let bindings = Bindings {
        salt: Fr::zero(),
        subject: Fr::from(TEST_SUBJECT),
        ..Bindings::default()
    };
    mock_circuit_bound(model, params, values, bindings)
}

/// The subject of [`mock_circuit`]'s statements (a nonzero address).
pub const TEST_SUBJECT: u64 = 0xA11CE;

/// Soundness sweeps: the cells among `cells` whose value, incremented by one after the layout
/// (copies, lookups and instances as they were, see [`ModelCircuit::tamper_advice`]), MockProver
/// still accepts with `instances`. `honest` builds a fresh circuit of the honest witness.
pub fn accepted_perturbations(
    k: u32,
    instances: &[Fr],
    cells: impl IntoIterator<Item = usize>,
    honest: impl Fn() -> ModelCircuit,
) -> Vec<usize> {
    cells
        .into_iter()
        .filter(|&i| {
            let mut circuit = honest();
            circuit.tamper_advice(i, Fr::one());
            MockProver::run(k, &circuit, vec![instances.to_vec()])
                .expect("mock synthesis")
                .verify()
                .is_ok()
        })
        .collect()
}
