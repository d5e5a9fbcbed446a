//! Visibility of the inputs and outputs, and the Poseidon commitments that stand for hashed ones.
//!
//! A hashed group (the packed input words, or the outputs) becomes one public instance:
//! `h_0 = salt`, `h_{i+1} = Poseidon(h_i, w_i)`, where `Poseidon(a, b)` is circomlib's / iden3's
//! `poseidon([a, b])` on BN254 (width 3, x^5 S-box, 8 full and 57 partial rounds, the published
//! iden3 constants; here from `poseidon-primitives`, Scroll's iden3-compatible implementation).
//! The salt is a private field element chosen by the data owner: without it a commitment to
//! low-entropy data (a credit profile) could be found by trying candidates.

use halo2_base::gates::GateInstructions;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::poseidon::hasher::{spec::OptimizedPoseidonSpec, PoseidonHasher};
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use poseidon_primitives::poseidon::primitives::{ConstantLengthIden3, Hash, Spec};

pub use crate::privacy::{ParamVisibility, Privacy, Visibility};

/// The parameters of a model in commitment order, grouped by node and kind (weights, then
/// biases): each group with the bit bound its values are range-checked to (`|v| < 2^bits`).
pub fn param_groups(model: &crate::quantize::QuantizedModel) -> Vec<(usize, Vec<i64>, u32)> {
    let bits = |vs: &[i64]| {
        let max = vs.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        (u64::BITS - max.leading_zeros()).max(1)
    };
    let mut groups = Vec::new();
    for (i, node) in model.nodes.iter().enumerate() {
        for values in node.op.operator().params() {
            let b = bits(&values);
            groups.push((i, values, b));
        }
    }
    groups
}

/// The packed words of the parameters (as the circuit packs them: lanes `v + 2^bits`,
/// little-endian, [`crate::chips::pack::lanes_per_word`] per word, per group).
pub fn param_words(model: &crate::quantize::QuantizedModel) -> Vec<Fr> {
    let mut words = Vec::new();
    for (_, values, bits) in param_groups(model) {
        let lane_bits = bits + 1;
        for chunk in values.chunks(crate::chips::pack::lanes_per_word(lane_bits)) {
            let word = chunk.iter().enumerate().fold(Fr::ZERO, |acc, (j, v)| {
                let lane = crate::fixed::to_field(i128::from(*v) + (1i128 << bits));
                acc + lane * Fr::from(2).pow_vartime([(j as u32 * lane_bits) as u64])
            });
            words.push(word);
        }
    }
    words
}

/// The public commitment of a model's parameters under `salt`.
pub fn param_commitment(model: &crate::quantize::QuantizedModel, salt: Fr) -> Fr {
    commit(salt, &param_words(model))
}

/// iden3's Poseidon for width 3 on BN254: constants generated (Grain LFSR, first MDS candidate)
/// exactly as the reference script that produced circomlib's.
#[derive(Debug)]
struct Iden3Spec;

impl Spec<Fr, 3, 2> for Iden3Spec {
    fn full_rounds() -> usize {
        8
    }
    fn partial_rounds() -> usize {
        57
    }
    fn sbox(val: Fr) -> Fr {
        val.pow_vartime([5])
    }
    fn secure_mds() -> usize {
        0
    }
}

type Iden3 = Hash<Fr, Iden3Spec, ConstantLengthIden3<2>, 3, 2>;

/// Round constants (one row per round) and the MDS matrix.
type Constants = (Vec<[Fr; 3]>, [[Fr; 3]; 3]);

/// The constants, generated once.
fn constants() -> &'static Constants {
    static CONSTANTS: std::sync::OnceLock<Constants> = std::sync::OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let (rc, mds, _) = Iden3Spec::constants();
        (rc, mds)
    })
}

/// circomlib's `poseidon([a, b])`.
pub fn poseidon2(a: Fr, b: Fr) -> Fr {
    Iden3::init().hash([a, b], Fr::ZERO)
}

/// The salted commitment `h_0 = salt, h_{i+1} = poseidon2(h_i, w_i)` of `words`.
pub fn commit(salt: Fr, words: &[Fr]) -> Fr {
    words.iter().fold(salt, |h, w| poseidon2(h, *w))
}

/// The same commitment in the circuit.
pub(crate) fn commit_in_circuit(
    ctx: &mut Context<Fr>,
    gate: &impl GateInstructions<Fr>,
    salt: AssignedValue<Fr>,
    words: &[AssignedValue<Fr>],
) -> AssignedValue<Fr> {
    let (round_constants, mds) = constants();
    let half_full = Iden3Spec::full_rounds() / 2;
    let partial = Iden3Spec::partial_rounds();
    let mut h = salt;
    for w in words {
        // iden3 layout: [capacity 0, a, b]; the hash is the first word after the permutation.
        let zero = ctx.load_zero();
        let mut state = [zero, h, *w];
        for (round, rc) in round_constants.iter().enumerate() {
            let full = round < half_full || round >= half_full + partial;
            for (i, word) in state.iter_mut().enumerate() {
                let x = gate.add(ctx, *word, Constant(rc[i]));
                *word = if full || i == 0 {
                    let x2 = gate.mul(ctx, x, x);
                    let x4 = gate.mul(ctx, x2, x2);
                    gate.mul(ctx, x4, x)
                } else {
                    x
                };
            }
            state = core::array::from_fn(|i| {
                gate.inner_product(ctx, state, mds[i].iter().map(|m| Constant(*m)))
            });
        }
        h = state[0];
    }
    h
}

/// halo2-base's optimized Poseidon (width 3, rate 2, 8 full and 57 partial rounds), generated once.
fn chain_spec() -> &'static OptimizedPoseidonSpec<Fr, 3, 2> {
    static SPEC: std::sync::OnceLock<OptimizedPoseidonSpec<Fr, 3, 2>> = std::sync::OnceLock::new();
    SPEC.get_or_init(OptimizedPoseidonSpec::new::<8, 57, 0>)
}

/// The commitment of a segment boundary ([`Visibility::Chained`]) in the circuit: halo2-base's
/// optimized Poseidon sponge over `[chain salt, owner's salt, words...]`, two words per permutation (several times
/// fewer cells per word than [`commit_in_circuit`], whose circomlib-compatible chain is for
/// commitments that others recompute). Only circuits compare these commitments, as equal
/// public instances of neighbouring segments, so no one recomputes them outside.
pub(crate) fn chain_commit_in_circuit(
    ctx: &mut Context<Fr>,
    gate: &impl GateInstructions<Fr>,
    keys: [AssignedValue<Fr>; 2],
    words: &[AssignedValue<Fr>],
) -> AssignedValue<Fr> {
    let mut hasher = PoseidonHasher::<Fr, 3, 2>::new(chain_spec().clone());
    hasher.initialize_consts(ctx, gate);
    let inputs: Vec<_> = keys.into_iter().chain(words.iter().copied()).collect();
    hasher.hash_fix_len_array(ctx, gate, &inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use halo2_base::gates::circuit::CircuitBuilderStage;
    use halo2_base::gates::GateChip;
    use halo2_base::halo2_proofs::dev::MockProver;
    use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;

    fn fr(hex: &str) -> Fr {
        let mut repr = [0u8; 32];
        hex::decode_to_slice(hex, &mut repr).unwrap();
        repr.reverse();
        Fr::from_repr(repr).unwrap()
    }

    #[test]
    fn matches_circomlib_test_vector() {
        // circomlib's poseidon([1, 2]), as published with the reference implementation.
        assert_eq!(
            poseidon2(Fr::from(1), Fr::from(2)),
            fr("115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a")
        );
    }

    /// The in-circuit chain equals the native one, and the MockProver rejects a wrong commitment.
    #[test]
    fn circuit_commitment_matches_native_and_binds() {
        let salt = Fr::from(0x5a17);
        let words = [Fr::from(7), -Fr::from(3), Fr::from(1u64 << 40)];
        let expected = commit(salt, &words);
        let build = |public: Fr| {
            let mut b = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
                .use_k(11)
                .use_instance_columns(1);
            let gate = GateChip::<Fr>::default();
            let ctx = b.main(0);
            let s = ctx.load_witness(salt);
            let ws: Vec<_> = words.iter().map(|w| ctx.load_witness(*w)).collect();
            let h = commit_in_circuit(ctx, &gate, s, &ws);
            assert_eq!(*h.value(), expected);
            b.assigned_instances = vec![vec![h]];
            b.calculate_params(Some(9));
            MockProver::run(11, &b, vec![vec![public]])
                .unwrap()
                .verify()
        };
        assert!(build(expected).is_ok());
        assert!(build(expected + Fr::ONE).is_err());
        assert_ne!(commit(salt + Fr::ONE, &words), expected, "the salt matters");
        assert_ne!(commit(salt, &words[..2]), expected);
    }
}
