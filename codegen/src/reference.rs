//! The reusable verifier's algorithm in Rust, reading the same word blob as the contract.
//!
//! It is the executable specification of `ReusableHalo2Verifier.sol`: tests check it against halo2's own
//! `verify_proof` on honest and tampered proofs, and the contract against it.

use sha3::{Digest, Keccak256};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::{
    Bn256, Fq, Fq2, Fr, G1Affine, G2Affine, G1,
};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::ff::{
    Field, FromUniformBytes, PrimeField,
};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::group::{Curve, Group};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::pairing::Engine;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::CurveAffine;

use crate::plan::{header, op, reg, scalar, Word, MAGIC};

/// Why the reference verifier rejected a proof (the contract's custom errors).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The key blob is not a zkinfer verifying key.
    #[error("not a zkinfer verifying key")]
    BadKey,
    /// Wrong number of public instances.
    #[error("expected {expected} instances, got {actual}")]
    InstanceCount {
        /// From the key.
        expected: usize,
        /// Given.
        actual: usize,
    },
    /// A public instance word is not below the scalar field modulus.
    #[error("instance #{0} is not in the field")]
    InstanceNotInField(usize),
    /// Wrong proof length.
    #[error("expected a proof of {expected} bytes, got {actual}")]
    ProofLength {
        /// From the key.
        expected: usize,
        /// Given.
        actual: usize,
    },
    /// A scalar (instance or evaluation) is not below the field modulus.
    #[error("scalar at byte {0} is not in the field")]
    ScalarNotInField(usize),
    /// A point is off the curve or has a coordinate not below the base field modulus.
    #[error("point at byte {0} is not on the curve")]
    PointNotOnCurve(usize),
    /// The final pairing check failed.
    #[error("pairing check failed")]
    PairingFailed,
}

struct Blob<'a>(&'a [Word]);

impl Blob<'_> {
    fn usize(&self, i: usize) -> usize {
        let w = &self.0[i];
        u64::from_be_bytes(w[24..].try_into().expect("8 bytes")) as usize
    }
    fn header(&self, field: usize) -> usize {
        self.usize(field)
    }
    fn scalar(&self, i: usize) -> Fr {
        let mut repr = self.0[i];
        repr.reverse();
        Fr::from_repr(repr).expect("canonical constant")
    }
    fn g1(&self, i: usize) -> G1Affine {
        point(&self.0[i], &self.0[i + 1]).expect("valid key point")
    }
    fn g2(&self, i: usize) -> G2Affine {
        let fq = |w: &Word| {
            let mut r = *w;
            r.reverse();
            Fq::from_repr(r).expect("canonical")
        };
        G2Affine {
            x: Fq2::new(fq(&self.0[i + 1]), fq(&self.0[i])),
            y: Fq2::new(fq(&self.0[i + 3]), fq(&self.0[i + 2])),
        }
    }
}

fn point(x: &[u8], y: &[u8]) -> Option<G1Affine> {
    let fq = |w: &[u8]| {
        let mut r: [u8; 32] = w.try_into().ok()?;
        r.reverse();
        Option::<Fq>::from(Fq::from_repr(r))
    };
    let (x, y) = (fq(x)?, fq(y)?);
    if x.is_zero_vartime() && y.is_zero_vartime() {
        return Some(G1Affine::identity());
    }
    Option::from(G1Affine::from_xy(x, y))
}

fn read_scalar(bytes: &[u8], at: usize) -> Result<Fr, Rejection> {
    let mut repr: [u8; 32] = bytes[at..at + 32].try_into().expect("32 bytes");
    repr.reverse();
    Option::from(Fr::from_repr(repr)).ok_or(Rejection::ScalarNotInField(at))
}

struct Transcript {
    state: Vec<u8>,
}

impl Transcript {
    fn absorb(&mut self, data: &[u8]) {
        self.state.extend_from_slice(data);
    }
    fn squeeze(&mut self) -> Fr {
        if self.state.len() == 32 {
            self.state.push(1);
        }
        let hash: [u8; 32] = Keccak256::digest(&self.state).into();
        self.state = hash.to_vec();
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(&hash);
        wide[..32].reverse();
        Fr::from_uniform_bytes(&wide)
    }
}

/// Verifies `proof` for `instances` against the key blob, exactly as the contract does.
pub fn verify(blob: &[Word], proof: &[u8], instances: &[Fr]) -> Result<(), Rejection> {
    let words: Vec<Word> = instances.iter().map(|f| scalar(*f)).collect();
    verify_words(blob, proof, &words)
}

/// [`verify`] for instances as the contract receives them: 32-byte big-endian words, each of
/// which must be below the scalar field modulus (checked after the instance count and proof
/// length, in the contract's order).
pub fn verify_words(blob: &[Word], proof: &[u8], instances: &[Word]) -> Result<(), Rejection> {
    let (shape, instances) = check_inputs(blob, proof, instances)?;
    let b = Blob(blob);
    let (points, mut r) = read_proof(&b, proof, &shape)?;
    let ch = replay_transcript(blob, proof, &instances, &shape, &mut r);
    let xn = evaluate_lagrange(&b, &instances, ch.x, &mut r);
    run_program(&b, shape.ne, xn, &mut r)?;
    let opening = shplonk_sets(&b, &r, &ch);
    pairing_check(&b, &points, &ch, xn, &opening)
}

/// The proof's layout, from the key's header.
#[derive(Clone, Copy)]
struct Shape {
    /// Advice commitments.
    na: usize,
    /// Lookup arguments.
    nl: usize,
    /// Quotient pieces.
    nd: usize,
    /// Evaluations.
    ne: usize,
    /// Points before the evaluations (two more follow them).
    num_points: usize,
}

/// Checks the key's tag, the instance count, the proof length and then each instance, in the
/// contract's order; returns the proof's layout and the instances as scalars.
fn check_inputs(
    blob: &[Word],
    proof: &[u8],
    instances: &[Word],
) -> Result<(Shape, Vec<Fr>), Rejection> {
    if blob.len() < header::LEN || blob[header::MAGIC][..MAGIC.len()] != MAGIC[..] {
        return Err(Rejection::BadKey);
    }
    let b = Blob(blob);
    let ni = b.header(header::NUM_INSTANCES);
    if instances.len() != ni {
        return Err(Rejection::InstanceCount {
            expected: ni,
            actual: instances.len(),
        });
    }
    let (na, nl, np, nd, ne) = (
        b.header(header::NUM_ADVICE),
        b.header(header::NUM_LOOKUPS),
        b.header(header::NUM_PERM_SETS),
        b.header(header::NUM_QUOTIENT),
        b.header(header::NUM_EVALS),
    );
    let num_points = na + 3 * nl + np + 1 + nd;
    let expected = 64 * (num_points + 2) + 32 * ne;
    if proof.len() != expected {
        return Err(Rejection::ProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let instances = instances
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut repr = *w;
            repr.reverse();
            Option::<Fr>::from(Fr::from_repr(repr)).ok_or(Rejection::InstanceNotInField(i))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let shape = Shape {
        na,
        nl,
        nd,
        ne,
        num_points,
    };
    Ok((shape, instances))
}

/// Validates every point and scalar of the proof: returns its points (those before the
/// evaluations, then the two after them) and the registers with the evaluations loaded.
fn read_proof(
    b: &Blob<'_>,
    proof: &[u8],
    shape: &Shape,
) -> Result<(Vec<G1Affine>, Vec<Fr>), Rejection> {
    let Shape { ne, num_points, .. } = *shape;
    let evals_at = 64 * num_points;
    let mut points = Vec::with_capacity(num_points + 2);
    for i in 0..num_points + 2 {
        let at = if i < num_points {
            64 * i
        } else {
            evals_at + 32 * ne + 64 * (i - num_points)
        };
        points.push(
            point(&proof[at..at + 32], &proof[at + 32..at + 64])
                .ok_or(Rejection::PointNotOnCurve(at))?,
        );
    }
    let mut r = vec![Fr::ZERO; b.header(header::NUM_REGISTERS)];
    for i in 0..ne {
        r[reg::EVALS + i] = read_scalar(proof, evals_at + 32 * i)?;
    }
    Ok((points, r))
}

/// The challenges drawn after the constraint system's (those are in their registers).
#[derive(Clone, Copy)]
struct Challenges {
    /// The evaluation point x.
    x: Fr,
    /// SHPLONK's commitment folding challenge y.
    shplonk_y: Fr,
    /// SHPLONK's rotation set folding challenge v.
    v: Fr,
    /// SHPLONK's opening point u.
    u: Fr,
}

/// Replays the keccak transcript: θ, β, γ, y and x into their registers, then SHPLONK's
/// challenges.
fn replay_transcript(
    blob: &[Word],
    proof: &[u8],
    instances: &[Fr],
    shape: &Shape,
    r: &mut [Fr],
) -> Challenges {
    let Shape {
        na,
        nl,
        nd,
        ne,
        num_points,
    } = *shape;
    let evals_at = 64 * num_points;
    let mut t = Transcript { state: Vec::new() };
    t.absorb(&blob[header::TRANSCRIPT_REPR]);
    for value in instances {
        let mut w = value.to_repr();
        w.reverse();
        t.absorb(&w);
    }
    t.absorb(&proof[..64 * na]);
    r[reg::THETA] = t.squeeze();
    t.absorb(&proof[64 * na..64 * (na + 2 * nl)]);
    r[reg::BETA] = t.squeeze();
    r[reg::GAMMA] = t.squeeze();
    t.absorb(&proof[64 * (na + 2 * nl)..64 * (num_points - nd)]);
    r[reg::Y] = t.squeeze();
    t.absorb(&proof[64 * (num_points - nd)..evals_at]);
    let x = t.squeeze();
    r[reg::X] = x;
    t.absorb(&proof[evals_at..evals_at + 32 * ne]);
    let shplonk_y = t.squeeze();
    let v = t.squeeze();
    t.absorb(&proof[evals_at + 32 * ne..evals_at + 32 * ne + 64]);
    let u = t.squeeze();
    Challenges { x, shplonk_y, v, u }
}

/// x^n, the Lagrange evaluations and the instance evaluation into their registers; returns x^n.
fn evaluate_lagrange(b: &Blob<'_>, instances: &[Fr], x: Fr, r: &mut [Fr]) -> Fr {
    let k = b.header(header::K);
    let mut xn = x;
    for _ in 0..k {
        xn = xn.square();
    }
    r[reg::XN] = xn;
    let lag = b.header(header::LAGRANGE_OFF);
    let blinding = b.header(header::BLINDING);
    // The instance count equals the key's (checked first).
    let rows = instances.len().max(1);
    let common = (xn - Fr::ONE) * b.scalar(header::N_INV);
    let l = |i: usize| {
        let w = b.scalar(lag + i);
        w * common * (x - w).invert().unwrap_or(Fr::ZERO)
    };
    r[reg::L0] = l(0);
    r[reg::INSTANCE] = instances
        .iter()
        .enumerate()
        .fold(Fr::ZERO, |acc, (i, v)| acc + *v * l(i));
    r[reg::LBLIND] = (0..blinding).fold(Fr::ZERO, |acc, j| acc + l(rows + j));
    r[reg::LLAST] = l(rows + blinding);
    xn
}

/// Loads the constants after the `ne` evaluations, runs the constraint program and sets h(x).
fn run_program(b: &Blob<'_>, ne: usize, xn: Fr, r: &mut [Fr]) -> Result<(), Rejection> {
    let (c_off, c_count) = (b.header(header::CONST_OFF), b.header(header::CONST_COUNT));
    for i in 0..c_count {
        r[reg::EVALS + ne + i] = b.scalar(c_off + i);
    }
    let (p_off, p_len) = (b.header(header::PROG_OFF), b.header(header::PROG_LEN));
    let mut acc = Fr::ZERO;
    for i in 0..p_len {
        let w = u128::from_be_bytes(b.0[p_off + i][16..].try_into().expect("16 bytes"));
        let field = |shift: u32| (w >> shift & 0xffff) as usize / 32;
        let (dst, a, bb, c) = (field(48), field(32), field(16), field(0));
        match (w >> 64) as u64 {
            op::ADD => r[dst] = r[a] + r[bb],
            op::SUB => r[dst] = r[a] - r[bb],
            op::MUL => r[dst] = r[a] * r[bb],
            op::NEG => r[dst] = -r[a],
            op::EMIT => acc = acc * r[reg::Y] + r[a],
            op::PERM_SIGMA => r[dst] = r[c] * (r[a] + r[reg::BETA] * r[bb] + r[reg::GAMMA]),
            op::PERM_ID => r[dst] = r[c] * (r[a] + r[bb] + r[reg::GAMMA]),
            op::MULADD => r[dst] = r[a] * r[bb] + r[c],
            op::EMIT_MUL => acc = acc * r[reg::Y] + r[a] * r[bb],
            _ => return Err(Rejection::BadKey),
        }
    }
    r[reg::HEVAL] = acc * (xn - Fr::ONE).invert().unwrap_or(Fr::ZERO);
    Ok(())
}

/// SHPLONK's combination of the rotation sets.
struct Opening {
    /// Each set's factor: 1 for the first, v^set · zdiff_set / zdiff_0 after it.
    vz: Vec<Fr>,
    /// The first set's vanishing polynomial at u.
    z0: Fr,
    /// The sets' interpolated evaluations at u, combined with the same factors.
    r_outer: Fr,
}

/// Walks the rotation sets: each set's factor and the combined interpolation at u.
fn shplonk_sets(b: &Blob<'_>, r: &[Fr], ch: &Challenges) -> Opening {
    let Challenges { x, shplonk_y, v, u } = *ch;
    let (rot_off, nrot) = (b.header(header::ROT_OFF), b.header(header::NUM_ROTS));
    let pts: Vec<Fr> = (0..nrot).map(|i| x * b.scalar(rot_off + i)).collect();
    let x_inv = x.invert().unwrap_or(Fr::ZERO);
    let mut at = b.header(header::SETS_OFF);
    let nsets = b.header(header::NUM_SETS);
    let mut vz = Vec::with_capacity(nsets);
    let (mut z0, mut z0_diff_inv, mut v_pow) = (Fr::ZERO, Fr::ZERO, Fr::ONE);
    let mut r_outer = Fr::ZERO;
    for set in 0..nsets {
        let (s, c, nd) = (b.usize(at), b.usize(at + 1), b.usize(at + 2));
        let rots: Vec<usize> = (0..s).map(|i| b.usize(at + 3 + i)).collect();
        let comp: Vec<usize> = (0..nd).map(|i| b.usize(at + 3 + s + i)).collect();
        let lagrange: Vec<Fr> = (0..s).map(|i| b.scalar(at + 3 + s + nd + i)).collect();
        let evals_at = at + 3 + 2 * s + nd;
        at = evals_at + c * s;
        let zdiff = comp.iter().fold(Fr::ONE, |acc, &i| acc * (u - pts[i]));
        let factor = if set == 0 {
            z0 = rots.iter().fold(Fr::ONE, |acc, &i| acc * (u - pts[i]));
            z0_diff_inv = zdiff.invert().unwrap_or(Fr::ZERO);
            Fr::ONE
        } else {
            v_pow * zdiff * z0_diff_inv
        };
        v_pow *= v;
        vz.push(factor);
        let x_pow = x_inv.pow_vartime([(s - 1) as u64]);
        let basis: Vec<Fr> = (0..s)
            .map(|kk| {
                (0..s)
                    .filter(|&m| m != kk)
                    .fold(lagrange[kk] * x_pow, |acc, m| acc * (u - pts[rots[m]]))
            })
            .collect();
        let mut inner = Fr::ZERO;
        let mut y_pow = Fr::ONE;
        for j in 0..c {
            let rj = (0..s).fold(Fr::ZERO, |acc, kk| {
                acc + r[b.usize(evals_at + j * s + kk)] * basis[kk]
            });
            inner += y_pow * rj;
            y_pow *= shplonk_y;
        }
        r_outer += factor * inner;
    }
    Opening { vz, z0, r_outer }
}

/// The MSM of the terms, the generator and SHPLONK's two points, then the final pairing check.
fn pairing_check(
    b: &Blob<'_>,
    points: &[G1Affine],
    ch: &Challenges,
    xn: Fr,
    opening: &Opening,
) -> Result<(), Rejection> {
    // The proof's points: those before the evaluations, then SHPLONK's two.
    let num_points = points.len() - 2;
    let (h1, h2) = (points[num_points], points[num_points + 1]);
    let proof_point = |id: usize| -> G1Affine {
        if id < num_points {
            points[id]
        } else {
            b.g1(b.header(header::POINTS_OFF) + 2 * (id - num_points))
        }
    };
    let (t_off, nt) = (b.header(header::TERMS_OFF), b.header(header::NUM_TERMS));
    let mut outer = G1::identity();
    for i in 0..nt {
        let w = b.usize(t_off + i) as u64;
        let (pid, set, j, power) = (
            (w >> 48) as usize,
            (w >> 32 & 0xffff) as usize,
            w >> 16 & 0xffff,
            w & 0xffff,
        );
        let scalar = opening.vz[set] * ch.shplonk_y.pow_vartime([j]) * xn.pow_vartime([power]);
        outer += proof_point(pid) * scalar;
    }
    outer += b.g1(header::G1) * (-opening.r_outer);
    outer += h1 * (-opening.z0);
    outer += h2 * ch.u;
    let lhs = Bn256::pairing(&h2, &b.g2(header::S_G2));
    let rhs = Bn256::pairing(&outer.to_affine(), &b.g2(header::G2));
    if lhs == rhs {
        Ok(())
    } else {
        Err(Rejection::PairingFailed)
    }
}
