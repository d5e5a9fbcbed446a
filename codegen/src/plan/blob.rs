//! The key-blob format: a sequence of 32-byte big-endian [`Word`]s, a fixed [`header`] of
//! offsets and counts followed by its sections (constants, Lagrange points, the register
//! program, the key's points, rotations, rotation sets, MSM terms).
//!
//! This is the one definition of the format that both readers follow: the Solidity template
//! `contracts/src/verifiers/ReusableHalo2Verifier.sol` and its Rust twin [`crate::reference`]. The register
//! numbering ([`reg`]) and the program's operations ([`op`]) are part of it.

use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine, G2Affine};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::CurveAffine;

use super::{omega, rotate, Instr, RotationSet, Term, VerifierPlan};

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

impl VerifierPlan {
    /// The blob of 32-byte words the verifier contract reads (see [`header`]).
    pub fn encode(&self) -> Vec<Word> {
        let mut words = self.header_words();

        section(
            &mut words,
            header::CONST_OFF,
            header::CONST_COUNT,
            self.constants.len(),
        );
        words.extend(self.constants.iter().map(|c| scalar(*c)));

        let omega = omega(self.k);
        let at = words.len();
        set(&mut words, header::LAGRANGE_OFF, at);
        words.extend(lagrange_words(omega, self.num_instances, self.blinding));

        section(
            &mut words,
            header::PROG_OFF,
            header::PROG_LEN,
            self.program.len(),
        );
        words.extend(self.program.iter().map(instr_word));

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
            push_set(&mut words, s);
        }

        section(
            &mut words,
            header::TERMS_OFF,
            header::NUM_TERMS,
            self.terms.len(),
        );
        words.extend(self.terms.iter().map(term_word));
        words
    }

    /// The header's words, every section offset and count still zero (set by [`section`]).
    fn header_words(&self) -> Vec<Word> {
        let mut words = vec![[0u8; 32]; header::LEN];
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
        words
    }
}

/// Sets the header word `at` to `value`.
fn set(words: &mut [Word], at: usize, value: usize) {
    words[at] = uint(value as u64);
}

/// Starts a section at the end of `words`: its offset into header word `off`, its length
/// `count_value` into header word `count`.
fn section(words: &mut [Word], off: usize, count: usize, count_value: usize) {
    let at = words.len();
    set(words, off, at);
    set(words, count, count_value);
}

/// ω^i for the instance rows (at least one), then ω^-1 … ω^-(blinding+1).
fn lagrange_words(omega: Fr, num_instances: usize, blinding: usize) -> Vec<Word> {
    let omega_inv = omega.invert().expect("a root of unity is not zero");
    let mut words = Vec::new();
    for i in 0..num_instances.max(1) {
        words.push(scalar(omega.pow_vartime([i as u64])));
    }
    for j in 1..=blinding + 1 {
        words.push(scalar(omega_inv.pow_vartime([j as u64])));
    }
    words
}

/// One instruction: `op << 64 | dst << 48 | a << 32 | b << 16 | c`, registers as byte offsets.
fn instr_word(i: &Instr) -> Word {
    let field = |r: usize| (r as u64) * 32;
    let mut w = [0u8; 32];
    let v: u128 = (i.op as u128) << 64
        | (field(i.dst) as u128) << 48
        | (field(i.a) as u128) << 32
        | (field(i.b) as u128) << 16
        | field(i.c) as u128;
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// One rotation set: its sizes (rotations, commitments, complement), rotation indices,
/// complement indices, Lagrange denominators, then each commitment's evaluation registers.
fn push_set(words: &mut Vec<Word>, s: &RotationSet) {
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

/// One MSM term: `point << 48 | set << 32 | commitment << 16 | power`.
fn term_word(t: &Term) -> Word {
    uint(
        (t.point as u64) << 48
            | (t.set as u64) << 32
            | (t.commitment as u64) << 16
            | t.power as u64,
    )
}

/// An unsigned integer as a big-endian word.
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

/// A base field element as a big-endian word.
fn fq_word(f: &Fq) -> Word {
    let mut w = f.to_repr();
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
    [fq_word(coords.x()), fq_word(coords.y())]
}

/// A G2 point in the pairing precompile's order: x.c1, x.c0, y.c1, y.c0.
pub fn g2_words(p: &G2Affine) -> [Word; 4] {
    [
        fq_word(&p.x.c1),
        fq_word(&p.x.c0),
        fq_word(&p.y.c1),
        fq_word(&p.y.c0),
    ]
}
