//! A verifying key flattened into what a SHPLONK verifier has to do with it: the transcript's
//! shape, the constraint polynomial as a register program, and the opening's rotation sets and
//! MSM terms. [`VerifierPlan::encode`] turns it into the word blob that the reusable Solidity
//! verifier (and [`crate::reference`]) interprets; it follows halo2-axiom 0.5's `verify_proof`
//! and `VerifierSHPLONK` step for step.

use std::collections::HashMap;

use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G2Affine};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::CurveAffine;
use zkinfer_prover::halo2_base::halo2_proofs::plonk::{Any, Expression, VerifyingKey};
use zkinfer_prover::halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use zkinfer_prover::halo2_base::halo2_proofs::poly::Rotation;
use zkinfer_prover::srs::Srs;

use crate::{Error, Result};

/// A 32-byte big-endian word of the blob.
pub type Word = [u8; 32];

/// Fixed registers: challenges and derived values the program reads.
pub mod reg {
    /// Lookup compression challenge θ.
    pub const THETA: usize = 0;
    /// Permutation/lookup challenge β.
    pub const BETA: usize = 1;
    /// Permutation/lookup challenge γ.
    pub const GAMMA: usize = 2;
    /// Constraint folding challenge y.
    pub const Y: usize = 3;
    /// Evaluation point x.
    pub const X: usize = 4;
    /// x^n.
    pub const XN: usize = 5;
    /// l_0(x).
    pub const L0: usize = 6;
    /// l_last(x).
    pub const LLAST: usize = 7;
    /// Σ l_blind(x).
    pub const LBLIND: usize = 8;
    /// The instance column at x.
    pub const INSTANCE: usize = 9;
    /// The quotient's expected evaluation h(x).
    pub const HEVAL: usize = 10;
    /// First register holding the proof's evaluations (then constants, then temporaries).
    pub const EVALS: usize = 11;
}

/// Word offsets of the blob header (each field one word).
pub mod header {
    /// Format tag; its first byte is 0 (STOP) so that calling the key contract does nothing.
    pub const MAGIC: usize = 0;
    /// log2 of the domain size.
    pub const K: usize = 1;
    /// 1/n.
    pub const N_INV: usize = 2;
    /// The verifying key's transcript representation (first transcript word).
    pub const TRANSCRIPT_REPR: usize = 3;
    /// Public instances expected.
    pub const NUM_INSTANCES: usize = 4;
    /// Advice commitments (first proof points).
    pub const NUM_ADVICE: usize = 5;
    /// Lookup arguments.
    pub const NUM_LOOKUPS: usize = 6;
    /// Permutation product sets.
    pub const NUM_PERM_SETS: usize = 7;
    /// Quotient pieces.
    pub const NUM_QUOTIENT: usize = 8;
    /// Scalars (evaluations) in the proof.
    pub const NUM_EVALS: usize = 9;
    /// Registers used by the program.
    pub const NUM_REGISTERS: usize = 10;
    /// Word offset of the constants (copied to the registers after the evaluations).
    pub const CONST_OFF: usize = 11;
    /// Number of constants.
    pub const CONST_COUNT: usize = 12;
    /// Word offset of ω^i for the instance rows (0..max(1, instances)) then ω^-1 … ω^-(b+1).
    pub const LAGRANGE_OFF: usize = 13;
    /// Blinding factors b.
    pub const BLINDING: usize = 14;
    /// Word offset of the program (one instruction per word).
    pub const PROG_OFF: usize = 15;
    /// Instructions in the program.
    pub const PROG_LEN: usize = 16;
    /// Word offset of the key's own points (fixed then permutation commitments, x and y words).
    pub const POINTS_OFF: usize = 17;
    /// Number of the key's points.
    pub const NUM_VK_POINTS: usize = 18;
    /// Word offset of ω^r for each distinct opening rotation r.
    pub const ROT_OFF: usize = 19;
    /// Number of distinct rotations.
    pub const NUM_ROTS: usize = 20;
    /// Word offset of the rotation sets.
    pub const SETS_OFF: usize = 21;
    /// Number of rotation sets.
    pub const NUM_SETS: usize = 22;
    /// Word offset of the MSM terms (one per word).
    pub const TERMS_OFF: usize = 23;
    /// Number of MSM terms.
    pub const NUM_TERMS: usize = 24;
    /// G1 generator (x, y).
    pub const G1: usize = 25;
    /// G2 generator in the pairing precompile's order (x_im, x_re, y_im, y_re).
    pub const G2: usize = 27;
    /// [s]G2 in the same order.
    pub const S_G2: usize = 31;
    /// Words in the header.
    pub const LEN: usize = 35;
}

/// Blob format tag: a leading zero byte, then "zkinfer-vk-1".
pub const MAGIC: &[u8; 13] = b"\0zkinfer-vk-1";

/// Program operations. An instruction word is `op << 64 | dst << 48 | a << 32 | b << 16 | c`, the
/// operands being byte offsets of registers (register × 32).
pub mod op {
    /// dst = a + b.
    pub const ADD: u64 = 1;
    /// dst = a - b.
    pub const SUB: u64 = 2;
    /// dst = a * b.
    pub const MUL: u64 = 3;
    /// dst = -a.
    pub const NEG: u64 = 4;
    /// acc = acc * y + a (one constraint).
    pub const EMIT: u64 = 5;
    /// dst = c * (a + β·b + γ): a permutation product factor with a σ evaluation.
    pub const PERM_SIGMA: u64 = 6;
    /// dst = c * (a + b + γ): a permutation product factor with b = β·δ^j·x.
    pub const PERM_ID: u64 = 7;
    /// dst = a * b + c.
    pub const MULADD: u64 = 8;
    /// acc = acc * y + a * b (one constraint that is a product).
    pub const EMIT_MUL: u64 = 9;
}

/// One program instruction over registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instr {
    /// Operation ([`op`]).
    pub op: u64,
    /// Destination register.
    pub dst: usize,
    /// First operand register.
    pub a: usize,
    /// Second operand register.
    pub b: usize,
    /// Third operand register (fused permutation operations).
    pub c: usize,
}

/// A commitment opened by the multi-open argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Commitment {
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

/// A set of commitments opened at the same rotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationSet {
    /// Indices into [`VerifierPlan::rotations`].
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
        let domain = vk.get_domain();
        let k = domain.k();
        let n = 1u64 << k;
        let blinding = cs.blinding_factors();
        if num_instances > n as usize - (blinding + 1) {
            return unsupported(format!("{num_instances} instances in a domain of {n} rows"));
        }
        let chunk = cs.degree() - 2;
        let perm_columns = cs.permutation().get_columns();
        let num_perm_sets = perm_columns.len().div_ceil(chunk);
        let num_lookups = cs.lookups().len();
        let num_advice = cs.num_advice_columns();
        let num_quotient = domain.get_quotient_poly_degree();

        // Registers of the proof's evaluations, in proof order.
        let mut next = reg::EVALS;
        let mut take = |count: usize| {
            let start = next;
            next += count;
            start
        };
        let advice_evals = take(cs.advice_queries().len());
        let fixed_evals = take(cs.fixed_queries().len());
        let random_eval = take(1);
        let sigma_evals = take(vk.permutation().commitments().len());
        let perm_set_regs: Vec<(usize, usize, Option<usize>)> = (0..num_perm_sets)
            .map(|s| {
                let z = take(1);
                let z_next = take(1);
                let z_last = (s + 1 < num_perm_sets).then(|| take(1));
                (z, z_next, z_last)
            })
            .collect();
        let lookup_regs: Vec<[usize; 5]> = (0..num_lookups)
            .map(|_| {
                let base = take(5);
                [base, base + 1, base + 2, base + 3, base + 4]
            })
            .collect();
        let num_evals = next - reg::EVALS;

        let mut program = Program::new(
            reg::EVALS + num_evals,
            Queries {
                advice: cs
                    .advice_queries()
                    .iter()
                    .map(|(c, r)| (c.index(), r.0))
                    .collect(),
                fixed: cs
                    .fixed_queries()
                    .iter()
                    .map(|(c, r)| (c.index(), r.0))
                    .collect(),
                advice_evals,
                fixed_evals,
            },
        );

        // 1. Custom gates.
        for gate in cs.gates() {
            for poly in gate.polynomials() {
                match poly {
                    Expression::Product(a, b) => {
                        let a = program.expression(a)?;
                        let b = program.expression(b)?;
                        program.emit_mul(a, b);
                    }
                    _ => {
                        let value = program.expression(poly)?;
                        program.emit(value);
                    }
                }
            }
        }
        // 2. The permutation argument.
        let one = program.constant(Fr::ONE);
        let active = {
            let inactive = program.op(op::ADD, reg::LLAST, reg::LBLIND);
            program.op(op::SUB, one, inactive)
        };
        if let Some(&(z, _, _)) = perm_set_regs.first() {
            let t = program.op(op::SUB, one, z);
            program.emit_mul(reg::L0, t);
        }
        if let Some(&(z, _, _)) = perm_set_regs.last() {
            let sq = program.op(op::MUL, z, z);
            let t = program.op(op::SUB, sq, z);
            program.emit_mul(t, reg::LLAST);
        }
        for pair in perm_set_regs.windows(2) {
            let prev_last = pair[0]
                .2
                .expect("all but the last set have a last evaluation");
            let t = program.op(op::SUB, pair[1].0, prev_last);
            program.emit_mul(t, reg::L0);
        }
        let beta_x = program.op(op::MUL, reg::BETA, reg::X);
        for (set, (columns, &(z, z_next, _))) in
            perm_columns.chunks(chunk).zip(&perm_set_regs).enumerate()
        {
            let mut left = z_next;
            let mut right = z;
            for (i, column) in columns.iter().enumerate() {
                let eval = program
                    .queries
                    .column(column.column_type(), column.index(), 0)?;
                let sigma = sigma_evals + set * chunk + i;
                left = program.op3(op::PERM_SIGMA, eval, sigma, left);
                let delta = program.constant(Fr::DELTA.pow_vartime([(set * chunk + i) as u64]));
                let shift = program.op(op::MUL, beta_x, delta);
                right = program.op3(op::PERM_ID, eval, shift, right);
            }
            let t = program.op(op::SUB, left, right);
            program.emit_mul(t, active);
        }
        // 3. Lookups.
        for (argument, &[z, z_next, input, input_prev, table]) in
            cs.lookups().iter().zip(&lookup_regs)
        {
            let t = program.op(op::SUB, one, z);
            program.emit_mul(reg::L0, t);
            let sq = program.op(op::MUL, z, z);
            let t = program.op(op::SUB, sq, z);
            program.emit_mul(reg::LLAST, t);
            let a = program.op(op::ADD, input, reg::BETA);
            let s = program.op(op::ADD, table, reg::GAMMA);
            let left = program.op(op::MUL, z_next, a);
            let left = program.op(op::MUL, left, s);
            let compress = |program: &mut Program, exprs: &[Expression<Fr>]| -> Result<usize> {
                let mut acc = None;
                for expr in exprs {
                    let value = program.expression(expr)?;
                    acc = Some(match acc {
                        None => value,
                        Some(acc) => program.op3(op::MULADD, acc, reg::THETA, value),
                    });
                }
                Ok(acc.unwrap_or(program.constant(Fr::ZERO)))
            };
            let inputs = compress(&mut program, argument.input_expressions())?;
            let tables = compress(&mut program, argument.table_expressions())?;
            let a = program.op(op::ADD, inputs, reg::BETA);
            let s = program.op(op::ADD, tables, reg::GAMMA);
            let right = program.op(op::MUL, z, a);
            let right = program.op(op::MUL, right, s);
            let t = program.op(op::SUB, left, right);
            program.emit_mul(t, active);
            let diff = program.op(op::SUB, input, table);
            program.emit_mul(reg::L0, diff);
            let t = program.op(op::SUB, input, input_prev);
            let t = program.op(op::MUL, diff, t);
            program.emit_mul(t, active);
        }

        // The opening queries, in verify_proof's order.
        let last_rotation = -((blinding + 1) as i32);
        let mut queries: Vec<(Commitment, i32, usize)> = Vec::new();
        for (i, (column, at)) in cs.advice_queries().iter().enumerate() {
            queries.push((Commitment::Advice(column.index()), at.0, advice_evals + i));
        }
        for (s, &(z, z_next, _)) in perm_set_regs.iter().enumerate() {
            queries.push((Commitment::PermutationProduct(s), 0, z));
            queries.push((Commitment::PermutationProduct(s), 1, z_next));
        }
        for (s, &(_, _, z_last)) in perm_set_regs.iter().enumerate().rev().skip(1) {
            queries.push((
                Commitment::PermutationProduct(s),
                last_rotation,
                z_last.expect("not the last set"),
            ));
        }
        for (l, &[z, z_next, input, input_prev, table]) in lookup_regs.iter().enumerate() {
            queries.push((Commitment::LookupProduct(l), 0, z));
            queries.push((Commitment::LookupInput(l), 0, input));
            queries.push((Commitment::LookupTable(l), 0, table));
            queries.push((Commitment::LookupInput(l), -1, input_prev));
            queries.push((Commitment::LookupProduct(l), 1, z_next));
        }
        for (i, (column, at)) in cs.fixed_queries().iter().enumerate() {
            queries.push((Commitment::Fixed(column.index()), at.0, fixed_evals + i));
        }
        for i in 0..vk.permutation().commitments().len() {
            queries.push((Commitment::Sigma(i), 0, sigma_evals + i));
        }
        queries.push((Commitment::Quotient, 0, reg::HEVAL));
        queries.push((Commitment::Random, 0, random_eval));

        let (rotations, sets, set_commitments) = rotation_sets(&queries, domain.get_omega());

        // Point ids: proof points in proof order, then the key's.
        let num_proof_points = num_advice + 3 * num_lookups + num_perm_sets + 1 + num_quotient;
        let point = |c: Commitment| -> usize {
            let lookups_permuted = num_advice;
            let perm = lookups_permuted + 2 * num_lookups;
            let lookup_z = perm + num_perm_sets;
            let random = lookup_z + num_lookups;
            match c {
                Commitment::Advice(col) => col,
                Commitment::LookupInput(l) => lookups_permuted + 2 * l,
                Commitment::LookupTable(l) => lookups_permuted + 2 * l + 1,
                Commitment::PermutationProduct(s) => perm + s,
                Commitment::LookupProduct(l) => lookup_z + l,
                Commitment::Random => random,
                Commitment::Quotient => random + 1,
                Commitment::Fixed(col) => num_proof_points + col,
                Commitment::Sigma(i) => num_proof_points + cs.num_fixed_columns() + i,
            }
        };
        let mut terms = Vec::new();
        for (set, commitments) in set_commitments.iter().enumerate() {
            for (j, &c) in commitments.iter().enumerate() {
                let pieces = if c == Commitment::Quotient {
                    num_quotient
                } else {
                    1
                };
                for power in 0..pieces {
                    terms.push(Term {
                        point: point(c) + power,
                        set,
                        commitment: j,
                        power,
                    });
                }
            }
        }

        let mut vk_points = vk.fixed_commitments().clone();
        vk_points.extend(vk.permutation().commitments().iter().copied());
        let (instrs, constants, next) = program.finish();
        if next * 32 > u16::MAX as usize {
            return unsupported(format!("{next} registers (at most 2047)"));
        }
        Ok(Self {
            k,
            transcript_repr: vk.transcript_repr(),
            num_instances,
            num_advice,
            num_lookups,
            num_perm_sets,
            num_quotient,
            num_evals,
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

    /// The blob of 32-byte words the verifier contract reads (see [`header`]).
    pub fn encode(&self) -> Vec<Word> {
        let mut words = vec![[0u8; 32]; header::LEN];
        let set = |words: &mut Vec<Word>, at: usize, value: usize| words[at] = uint(value as u64);
        words[header::MAGIC][..MAGIC.len()].copy_from_slice(MAGIC);
        set(&mut words, header::K, self.k as usize);
        words[header::N_INV] = scalar(
            Fr::from(1u64 << self.k)
                .invert()
                .expect("n is not zero in Fr"),
        );
        words[header::TRANSCRIPT_REPR] = scalar(self.transcript_repr);
        set(&mut words, header::NUM_INSTANCES, self.num_instances);
        set(&mut words, header::NUM_ADVICE, self.num_advice);
        set(&mut words, header::NUM_LOOKUPS, self.num_lookups);
        set(&mut words, header::NUM_PERM_SETS, self.num_perm_sets);
        set(&mut words, header::NUM_QUOTIENT, self.num_quotient);
        set(&mut words, header::NUM_EVALS, self.num_evals);
        set(&mut words, header::NUM_REGISTERS, self.num_registers);
        set(&mut words, header::BLINDING, self.blinding);
        let [gx, gy] = g1_words(&self.g1);
        words[header::G1] = gx;
        words[header::G1 + 1] = gy;
        for (i, w) in g2_words(&self.g2).into_iter().enumerate() {
            words[header::G2 + i] = w;
        }
        for (i, w) in g2_words(&self.s_g2).into_iter().enumerate() {
            words[header::S_G2 + i] = w;
        }

        let section = |words: &mut Vec<Word>, off: usize, count: usize, count_value: usize| {
            let at = words.len();
            set(words, off, at);
            set(words, count, count_value);
        };
        section(
            &mut words,
            header::CONST_OFF,
            header::CONST_COUNT,
            self.constants.len(),
        );
        words.extend(self.constants.iter().map(|c| scalar(*c)));

        let omega = omega(self.k);
        let omega_inv = omega.invert().expect("a root of unity is not zero");
        let at = words.len();
        set(&mut words, header::LAGRANGE_OFF, at);
        for i in 0..self.num_instances.max(1) {
            words.push(scalar(omega.pow_vartime([i as u64])));
        }
        for j in 1..=self.blinding + 1 {
            words.push(scalar(omega_inv.pow_vartime([j as u64])));
        }

        section(
            &mut words,
            header::PROG_OFF,
            header::PROG_LEN,
            self.program.len(),
        );
        words.extend(self.program.iter().map(|i| {
            let field = |r: usize| (r as u64) * 32;
            let mut w = [0u8; 32];
            let v: u128 = (i.op as u128) << 64
                | (field(i.dst) as u128) << 48
                | (field(i.a) as u128) << 32
                | (field(i.b) as u128) << 16
                | field(i.c) as u128;
            w[16..].copy_from_slice(&v.to_be_bytes());
            w
        }));

        section(
            &mut words,
            header::POINTS_OFF,
            header::NUM_VK_POINTS,
            self.vk_points.len(),
        );
        words.extend(self.vk_points.iter().flat_map(g1_words));

        section(
            &mut words,
            header::ROT_OFF,
            header::NUM_ROTS,
            self.rotations.len(),
        );
        words.extend(self.rotations.iter().map(|&r| scalar(rotate(omega, r))));

        section(
            &mut words,
            header::SETS_OFF,
            header::NUM_SETS,
            self.sets.len(),
        );
        for s in &self.sets {
            words.push(uint(s.rotations.len() as u64));
            words.push(uint(s.evals.len() as u64));
            words.push(uint(s.complement.len() as u64));
            words.extend(s.rotations.iter().map(|&r| uint(r as u64)));
            words.extend(s.complement.iter().map(|&r| uint(r as u64)));
            words.extend(s.lagrange.iter().map(|c| scalar(*c)));
            for evals in &s.evals {
                words.extend(evals.iter().map(|&r| uint(r as u64)));
            }
        }

        section(
            &mut words,
            header::TERMS_OFF,
            header::NUM_TERMS,
            self.terms.len(),
        );
        words.extend(self.terms.iter().map(|t| {
            uint(
                (t.point as u64) << 48
                    | (t.set as u64) << 32
                    | (t.commitment as u64) << 16
                    | t.power as u64,
            )
        }));
        words
    }
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
fn rotation_sets(
    queries: &[(Commitment, i32, usize)],
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

/// Where the evaluations of the circuit's queries live.
struct Queries {
    /// (column, rotation) of each advice query, in query order.
    advice: Vec<(usize, i32)>,
    /// (column, rotation) of each fixed query.
    fixed: Vec<(usize, i32)>,
    /// Register of the first advice evaluation.
    advice_evals: usize,
    /// Register of the first fixed evaluation.
    fixed_evals: usize,
}

impl Queries {
    /// The register holding a column's evaluation at a rotation.
    fn column(&self, kind: &Any, column: usize, rotation: i32) -> Result<usize> {
        let find = |queries: &[(usize, i32)], base: usize| {
            queries
                .iter()
                .position(|&q| q == (column, rotation))
                .map(|i| base + i)
                .ok_or_else(|| {
                    Error::Unsupported(format!(
                        "a {kind:?} column {column} at rotation {rotation} that is never queried"
                    ))
                })
        };
        match kind {
            Any::Advice(_) => find(&self.advice, self.advice_evals),
            Any::Fixed => find(&self.fixed, self.fixed_evals),
            Any::Instance if column == 0 && rotation == 0 => Ok(reg::INSTANCE),
            Any::Instance => Err(Error::Unsupported(format!(
                "instance column {column} at rotation {rotation}"
            ))),
        }
    }
}

/// Builds the register program, sharing repeated subexpressions and constants.
struct Program {
    queries: Queries,
    instrs: Vec<Instr>,
    constants: Vec<Fr>,
    constant_regs: HashMap<[u8; 32], usize>,
    memo: HashMap<(u64, usize, usize), usize>,
    /// Registers of constants start here (right after the evaluations).
    const_base: usize,
    /// Next temporary, counted from [`TEMP_BASE`] until [`Program::finish`] renumbers them.
    next: usize,
}

/// Provisional numbering of temporaries, above any real register.
const TEMP_BASE: usize = 1 << 15;

impl Program {
    fn new(const_base: usize, queries: Queries) -> Self {
        Self {
            queries,
            instrs: Vec::new(),
            constants: Vec::new(),
            constant_regs: HashMap::new(),
            memo: HashMap::new(),
            const_base,
            next: TEMP_BASE,
        }
    }

    /// Places the temporaries right after the constants: (program, constants, registers used).
    fn finish(self) -> (Vec<Instr>, Vec<Fr>, usize) {
        let temps = self.const_base + self.constants.len();
        let place = |r: usize| {
            if r >= TEMP_BASE {
                r - TEMP_BASE + temps
            } else {
                r
            }
        };
        let instrs = self
            .instrs
            .into_iter()
            .map(|i| Instr {
                op: i.op,
                dst: place(i.dst),
                a: place(i.a),
                b: place(i.b),
                c: place(i.c),
            })
            .collect();
        (instrs, self.constants, temps + self.next - TEMP_BASE)
    }

    fn constant(&mut self, value: Fr) -> usize {
        let key = value.to_repr();
        if let Some(&r) = self.constant_regs.get(&key) {
            return r;
        }
        let r = self.const_base + self.constants.len();
        self.constants.push(value);
        self.constant_regs.insert(key, r);
        r
    }

    fn op(&mut self, op: u64, a: usize, b: usize) -> usize {
        let (a, b) = if matches!(op, op::ADD | op::MUL) && b < a {
            (b, a)
        } else {
            (a, b)
        };
        if let Some(&r) = self.memo.get(&(op, a, b)) {
            return r;
        }
        let dst = self.next;
        self.next += 1;
        self.instrs.push(Instr {
            op,
            dst,
            a,
            b,
            c: 0,
        });
        self.memo.insert((op, a, b), dst);
        dst
    }

    /// A fused operation over three registers (never shared: its third operand accumulates).
    fn op3(&mut self, op: u64, a: usize, b: usize, c: usize) -> usize {
        let dst = self.next;
        self.next += 1;
        self.instrs.push(Instr { op, dst, a, b, c });
        dst
    }

    fn emit_mul(&mut self, a: usize, b: usize) {
        self.instrs.push(Instr {
            op: op::EMIT_MUL,
            dst: 0,
            a,
            b,
            c: 0,
        });
    }

    fn emit(&mut self, a: usize) {
        self.instrs.push(Instr {
            op: op::EMIT,
            dst: 0,
            a,
            b: 0,
            c: 0,
        });
    }

    fn expression(&mut self, expr: &Expression<Fr>) -> Result<usize> {
        Ok(match expr {
            Expression::Constant(c) => self.constant(*c),
            Expression::Selector(_) => {
                return Err(Error::Unsupported(
                    "an uncompiled selector in a gate".into(),
                ))
            }
            Expression::Fixed(q) => {
                self.queries
                    .column(&Any::Fixed, q.column_index(), q.rotation().0)?
            }
            Expression::Advice(q) => {
                self.queries
                    .column(&Any::advice(), q.column_index(), q.rotation().0)?
            }
            Expression::Instance(q) => {
                self.queries
                    .column(&Any::Instance, q.column_index(), q.rotation().0)?
            }
            Expression::Challenge(_) => {
                return Err(Error::Unsupported("gates over challenges".into()))
            }
            Expression::Negated(a) => {
                let a = self.expression(a)?;
                self.op(op::NEG, a, 0)
            }
            Expression::Sum(a, b) => {
                if let (Expression::Product(x, y), other) | (other, Expression::Product(x, y)) =
                    (a.as_ref(), b.as_ref())
                {
                    let x = self.expression(x)?;
                    let y = self.expression(y)?;
                    let other = self.expression(other)?;
                    return Ok(self.op3(op::MULADD, x, y, other));
                }
                if let Expression::Negated(b) = b.as_ref() {
                    let a = self.expression(a)?;
                    let b = self.expression(b)?;
                    return Ok(self.op(op::SUB, a, b));
                }
                let a = self.expression(a)?;
                let b = self.expression(b)?;
                self.op(op::ADD, a, b)
            }
            Expression::Product(a, b) => {
                let a = self.expression(a)?;
                let b = self.expression(b)?;
                self.op(op::MUL, a, b)
            }
            Expression::Scaled(a, c) => {
                let a = self.expression(a)?;
                let c = self.constant(*c);
                self.op(op::MUL, a, c)
            }
        })
    }
}

fn uint(value: u64) -> Word {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&value.to_be_bytes());
    w
}

/// A scalar as a big-endian word.
pub fn scalar(value: Fr) -> Word {
    let mut w = value.to_repr();
    w.reverse();
    w
}

/// A G1 point as (x, y) big-endian words; the identity is (0, 0).
pub fn g1_words(p: &G1Affine) -> [Word; 2] {
    let coords = p.coordinates();
    if bool::from(coords.is_none()) {
        return [[0u8; 32]; 2];
    }
    let coords = coords.expect("not the identity");
    let word = |f: &zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fq| {
        let mut w = f.to_repr();
        w.reverse();
        w
    };
    [word(coords.x()), word(coords.y())]
}

/// A G2 point in the pairing precompile's order: x.c1, x.c0, y.c1, y.c0.
pub fn g2_words(p: &G2Affine) -> [Word; 4] {
    let word = |f: &zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fq| {
        let mut w = f.to_repr();
        w.reverse();
        w
    };
    [word(&p.x.c1), word(&p.x.c0), word(&p.y.c1), word(&p.y.c0)]
}
