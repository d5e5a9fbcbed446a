//! The multi-open argument's side of the plan: the opening queries in `verify_proof`'s order,
//! grouped into SHPLONK rotation sets like halo2's `construct_intermediate_sets`, and the MSM
//! terms that scale each commitment's point.

use std::collections::HashMap;

use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use zkinfer_prover::halo2_base::halo2_proofs::plonk::VerifyingKey;

use super::{reg, EvalRegs};

/// A commitment opened by the multi-open argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Commitment {
    Advice(usize),
    PermutationProduct(usize),
    LookupProduct(usize),
    LookupInput(usize),
    LookupTable(usize),
    Fixed(usize),
    Sigma(usize),
    Quotient,
    Random,
}

/// One opening query: the commitment, its rotation, the register of its evaluation.
pub(super) type Query = (Commitment, i32, usize);

/// A set of commitments opened at the same rotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationSet {
    /// Indices into [`VerifierPlan::rotations`](crate::plan::VerifierPlan::rotations).
    pub rotations: Vec<usize>,
    /// Indices of the distinct rotations not in this set.
    pub complement: Vec<usize>,
    /// 1 / Π_{m≠k} (ω^{r_k} − ω^{r_m}) for each rotation k (Lagrange denominators without x).
    pub lagrange: Vec<Fr>,
    /// For each commitment, the registers of its evaluations at each rotation.
    pub evals: Vec<Vec<usize>>,
}

/// One MSM term: a point scaled by `v^set · zdiff_set · y^commitment · xn^power`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// Point id: proof points first (in proof order), then the key's points.
    pub point: usize,
    /// Rotation set.
    pub set: usize,
    /// Position of the commitment in its set.
    pub commitment: usize,
    /// Power of x^n (quotient pieces).
    pub power: usize,
}

/// The counts that place each commitment's point: proof points in proof order, then the key's
/// (fixed, then permutation σ).
pub(super) struct PointIds {
    /// Advice commitments.
    pub(super) num_advice: usize,
    /// Lookup arguments.
    pub(super) num_lookups: usize,
    /// Permutation product sets.
    pub(super) num_perm_sets: usize,
    /// Quotient pieces.
    pub(super) num_quotient: usize,
    /// Fixed columns (the key's first points).
    pub(super) num_fixed: usize,
}

impl PointIds {
    /// The point id of a commitment (its first piece for the quotient).
    fn point(&self, c: Commitment) -> usize {
        let num_proof_points =
            self.num_advice + 3 * self.num_lookups + self.num_perm_sets + 1 + self.num_quotient;
        let lookups_permuted = self.num_advice;
        let perm = lookups_permuted + 2 * self.num_lookups;
        let lookup_z = perm + self.num_perm_sets;
        let random = lookup_z + self.num_lookups;
        match c {
            Commitment::Advice(col) => col,
            Commitment::LookupInput(l) => lookups_permuted + 2 * l,
            Commitment::LookupTable(l) => lookups_permuted + 2 * l + 1,
            Commitment::PermutationProduct(s) => perm + s,
            Commitment::LookupProduct(l) => lookup_z + l,
            Commitment::Random => random,
            Commitment::Quotient => random + 1,
            Commitment::Fixed(col) => num_proof_points + col,
            Commitment::Sigma(i) => num_proof_points + self.num_fixed + i,
        }
    }
}

/// The opening queries of `vk`, in `verify_proof`'s order, with their evaluations' registers.
pub(super) fn queries(vk: &VerifyingKey<G1Affine>, regs: &EvalRegs, blinding: usize) -> Vec<Query> {
    let cs = vk.cs();
    let last_rotation = -((blinding + 1) as i32);
    let mut queries: Vec<Query> = Vec::new();
    for (i, (column, at)) in cs.advice_queries().iter().enumerate() {
        queries.push((Commitment::Advice(column.index()), at.0, regs.advice + i));
    }
    for (s, &(z, z_next, _)) in regs.perm_sets.iter().enumerate() {
        queries.push((Commitment::PermutationProduct(s), 0, z));
        queries.push((Commitment::PermutationProduct(s), 1, z_next));
    }
    for (s, &(_, _, z_last)) in regs.perm_sets.iter().enumerate().rev().skip(1) {
        queries.push((
            Commitment::PermutationProduct(s),
            last_rotation,
            z_last.expect("not the last set"),
        ));
    }
    for (l, &[z, z_next, input, input_prev, table]) in regs.lookups.iter().enumerate() {
        queries.push((Commitment::LookupProduct(l), 0, z));
        queries.push((Commitment::LookupInput(l), 0, input));
        queries.push((Commitment::LookupTable(l), 0, table));
        queries.push((Commitment::LookupInput(l), -1, input_prev));
        queries.push((Commitment::LookupProduct(l), 1, z_next));
    }
    for (i, (column, at)) in cs.fixed_queries().iter().enumerate() {
        queries.push((Commitment::Fixed(column.index()), at.0, regs.fixed + i));
    }
    for i in 0..vk.permutation().commitments().len() {
        queries.push((Commitment::Sigma(i), 0, regs.sigma + i));
    }
    queries.push((Commitment::Quotient, 0, reg::HEVAL));
    queries.push((Commitment::Random, 0, regs.random));
    queries
}

/// The MSM terms of the rotation sets' commitments (one per quotient piece).
pub(super) fn terms(set_commitments: &[Vec<Commitment>], ids: &PointIds) -> Vec<Term> {
    let mut terms = Vec::new();
    for (set, commitments) in set_commitments.iter().enumerate() {
        for (j, &c) in commitments.iter().enumerate() {
            let pieces = if c == Commitment::Quotient {
                ids.num_quotient
            } else {
                1
            };
            for power in 0..pieces {
                terms.push(Term {
                    point: ids.point(c) + power,
                    set,
                    commitment: j,
                    power,
                });
            }
        }
    }
    terms
}

/// ω for a domain of 2^k rows.
pub fn omega(k: u32) -> Fr {
    let mut omega = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        omega = omega.square();
    }
    omega
}

/// ω^r for a signed rotation.
pub fn rotate(omega: Fr, r: i32) -> Fr {
    if r >= 0 {
        omega.pow_vartime([r as u64])
    } else {
        omega
            .invert()
            .expect("a root of unity is not zero")
            .pow_vartime([r.unsigned_abs() as u64])
    }
}

/// Groups queries like halo2's `construct_intermediate_sets`: commitments by first appearance,
/// sets by first appearance of their rotation set.
#[allow(clippy::type_complexity)]
pub(super) fn rotation_sets(
    queries: &[Query],
    omega: Fr,
) -> (Vec<i32>, Vec<RotationSet>, Vec<Vec<Commitment>>) {
    let mut rotations: Vec<i32> = Vec::new();
    let mut per_commitment: Vec<(Commitment, Vec<i32>)> = Vec::new();
    for &(c, r, _) in queries {
        if !rotations.contains(&r) {
            rotations.push(r);
        }
        match per_commitment.iter_mut().find(|(pc, _)| *pc == c) {
            Some((_, rs)) => {
                if !rs.contains(&r) {
                    rs.push(r);
                }
            }
            None => per_commitment.push((c, vec![r])),
        }
    }
    let eval_of: HashMap<(Commitment, i32), usize> =
        queries.iter().map(|&(c, r, e)| ((c, r), e)).collect();
    let mut grouped: Vec<(Vec<i32>, Vec<Commitment>)> = Vec::new();
    for (c, mut rs) in per_commitment {
        rs.sort_unstable();
        match grouped.iter_mut().find(|(set, _)| *set == rs) {
            Some((_, cs)) => cs.push(c),
            None => grouped.push((rs, vec![c])),
        }
    }
    let index = |r: &i32| {
        rotations
            .iter()
            .position(|x| x == r)
            .expect("known rotation")
    };
    let sets = grouped
        .iter()
        .map(|(rs, cs)| {
            let lagrange = rs
                .iter()
                .map(|&rk| {
                    rs.iter()
                        .filter(|&&rm| rm != rk)
                        .fold(Fr::ONE, |acc, &rm| {
                            acc * (rotate(omega, rk) - rotate(omega, rm))
                        })
                        .invert()
                        .expect("distinct rotations give distinct points")
                })
                .collect();
            RotationSet {
                rotations: rs.iter().map(index).collect(),
                complement: rotations
                    .iter()
                    .filter(|r| !rs.contains(r))
                    .map(index)
                    .collect(),
                lagrange,
                evals: cs
                    .iter()
                    .map(|&c| rs.iter().map(|&r| eval_of[&(c, r)]).collect())
                    .collect(),
            }
        })
        .collect();
    let commitments = grouped.into_iter().map(|(_, cs)| cs).collect();
    (rotations, sets, commitments)
}
