//! A verifying key flattened into what a SHPLONK verifier has to do with it: the transcript's
//! shape, the constraint polynomial as a register program, and the opening's rotation sets and
//! MSM terms. [`VerifierPlan::encode`] turns it into the word blob that the reusable Solidity
//! verifier (and [`crate::reference`]) interprets; it follows halo2-axiom 0.5's `verify_proof`
//! and `VerifierSHPLONK` step for step.
//!
//! Submodules, one concept each: `blob` is the key-blob format ([`Word`], [`header`], [`reg`],
//! [`op`], [`MAGIC`], the word encodings and [`VerifierPlan::encode`]); `program` builds the
//! register program ([`Instr`]) of the custom gates, the permutation argument and the lookups;
//! `opening` builds the opening queries, their [`RotationSet`]s and the MSM [`Term`]s.

mod blob;
mod opening;
mod program;

pub use blob::{g1_words, g2_words, header, op, reg, scalar, Word, MAGIC};
pub use opening::{omega, rotate, RotationSet, Term};
pub use program::Instr;

use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G2Affine};
use zkinfer_prover::halo2_base::halo2_proofs::plonk::{ConstraintSystem, VerifyingKey};
use zkinfer_prover::halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use zkinfer_prover::halo2_base::halo2_proofs::poly::Rotation;
use zkinfer_prover::srs::Srs;

use crate::{Error, Result};
use opening::PointIds;
use program::Program;

/// Everything the verifier needs for one verifying key.
#[derive(Clone, Debug)]
pub struct VerifierPlan {
    /// log2 n.
    pub k: u32,
    /// The key's transcript representation.
    pub transcript_repr: Fr,
    /// Public instances.
    pub num_instances: usize,
    /// Advice columns.
    pub num_advice: usize,
    /// Lookup arguments.
    pub num_lookups: usize,
    /// Permutation product sets.
    pub num_perm_sets: usize,
    /// Quotient pieces.
    pub num_quotient: usize,
    /// Scalars in the proof.
    pub num_evals: usize,
    /// Blinding factors.
    pub blinding: usize,
    /// Constants, loaded into registers `EVALS + num_evals ..`.
    pub constants: Vec<Fr>,
    /// Registers used in all.
    pub num_registers: usize,
    /// The constraint program.
    pub program: Vec<Instr>,
    /// Fixed then permutation commitments.
    pub vk_points: Vec<G1Affine>,
    /// Distinct opening rotations.
    pub rotations: Vec<i32>,
    /// Rotation sets in opening order.
    pub sets: Vec<RotationSet>,
    /// MSM terms.
    pub terms: Vec<Term>,
    /// G1 generator of the SRS.
    pub g1: G1Affine,
    /// G2 generator.
    pub g2: G2Affine,
    /// [s]G2.
    pub s_g2: G2Affine,
}

impl VerifierPlan {
    /// Points in the proof before its evaluations (then two more after them).
    pub fn num_proof_points(&self) -> usize {
        self.num_advice + 3 * self.num_lookups + self.num_perm_sets + 1 + self.num_quotient
    }

    /// The exact proof length in bytes.
    pub fn proof_len(&self) -> usize {
        64 * (self.num_proof_points() + 2) + 32 * self.num_evals
    }

    /// Builds the plan of `vk` (whose SRS is `srs`) for `num_instances` public values.
    pub fn new(srs: &Srs, vk: &VerifyingKey<G1Affine>, num_instances: usize) -> Result<Self> {
        let cs = vk.cs();
        let domain = vk.get_domain();
        let k = domain.k();
        check_support(cs, k, num_instances)?;
        let blinding = cs.blinding_factors();
        let num_perm_sets = cs
            .permutation()
            .get_columns()
            .len()
            .div_ceil(permutation_chunk(cs));
        let num_lookups = cs.lookups().len();
        let num_advice = cs.num_advice_columns();
        let num_quotient = domain.get_quotient_poly_degree();

        let regs = EvalRegs::allocate(cs, vk.permutation().commitments().len(), num_perm_sets);
        let mut program = Program::new(cs, &regs);
        program::constraints(&mut program, cs, &regs)?;

        let queries = opening::queries(vk, &regs, blinding);
        let (rotations, sets, set_commitments) =
            opening::rotation_sets(&queries, domain.get_omega());
        let ids = PointIds {
            num_advice,
            num_lookups,
            num_perm_sets,
            num_quotient,
            num_fixed: cs.num_fixed_columns(),
        };
        let terms = opening::terms(&set_commitments, &ids);

        let mut vk_points = vk.fixed_commitments().clone();
        vk_points.extend(vk.permutation().commitments().iter().copied());
        let (instrs, constants, next) = program.finish();
        if next * 32 > u16::MAX as usize {
            return Err(Error::Unsupported(format!(
                "{next} registers (at most 2047)"
            )));
        }
        Ok(Self {
            k,
            transcript_repr: vk.transcript_repr(),
            num_instances,
            num_advice,
            num_lookups,
            num_perm_sets,
            num_quotient,
            num_evals: regs.count,
            blinding,
            num_registers: next,
            constants,
            program: instrs,
            vk_points,
            rotations,
            sets,
            terms,
            g1: srs.get_g()[0],
            g2: srs.g2(),
            s_g2: srs.s_g2(),
        })
    }
}

/// Refuses what the reusable verifier does not cover: more than one phase, anything but one
/// instance column queried at the current row, more instances than usable rows of 2^k.
fn check_support(cs: &ConstraintSystem<Fr>, k: u32, num_instances: usize) -> Result<()> {
    let unsupported = |what: String| Err(Error::Unsupported(what));
    if cs.num_challenges() > 0 || cs.advice_column_phase().iter().any(|&p| p != 0) {
        return unsupported("circuits with more than one phase".into());
    }
    if cs.num_instance_columns() != 1
        || cs.instance_queries().len() != 1
        || cs.instance_queries()[0].1 != Rotation::cur()
    {
        return unsupported(
            "circuits without exactly one instance column queried at the current row".into(),
        );
    }
    let n = 1u64 << k;
    let blinding = cs.blinding_factors();
    if num_instances > n as usize - (blinding + 1) {
        return unsupported(format!("{num_instances} instances in a domain of {n} rows"));
    }
    Ok(())
}

/// Permutation columns per product set (the constraint degree less 2).
fn permutation_chunk(cs: &ConstraintSystem<Fr>) -> usize {
    cs.degree() - 2
}

/// Registers of the proof's evaluations, allocated from [`reg::EVALS`] in proof order.
struct EvalRegs {
    /// First advice evaluation (one per advice query).
    advice: usize,
    /// First fixed evaluation (one per fixed query).
    fixed: usize,
    /// The random polynomial's evaluation.
    random: usize,
    /// First permutation σ evaluation (one per σ commitment).
    sigma: usize,
    /// Per permutation product set: z, z(ωx) and, but for the last set, z(ω^last x).
    perm_sets: Vec<(usize, usize, Option<usize>)>,
    /// Per lookup: z, z(ωx), permuted input, permuted input (ω^-1 x), permuted table.
    lookups: Vec<[usize; 5]>,
    /// Evaluations in all.
    count: usize,
}

impl EvalRegs {
    /// Allocates the evaluations of `cs` with `num_sigmas` σ commitments and `num_perm_sets`
    /// permutation product sets.
    fn allocate(cs: &ConstraintSystem<Fr>, num_sigmas: usize, num_perm_sets: usize) -> Self {
        let mut next = reg::EVALS;
        let mut take = |count: usize| {
            let start = next;
            next += count;
            start
        };
        let advice = take(cs.advice_queries().len());
        let fixed = take(cs.fixed_queries().len());
        let random = take(1);
        let sigma = take(num_sigmas);
        let perm_sets = (0..num_perm_sets)
            .map(|s| {
                let z = take(1);
                let z_next = take(1);
                let z_last = (s + 1 < num_perm_sets).then(|| take(1));
                (z, z_next, z_last)
            })
            .collect();
        let lookups = (0..cs.lookups().len())
            .map(|_| {
                let base = take(5);
                [base, base + 1, base + 2, base + 3, base + 4]
            })
            .collect();
        Self {
            advice,
            fixed,
            random,
            sigma,
            perm_sets,
            lookups,
            count: next - reg::EVALS,
        }
    }
}
