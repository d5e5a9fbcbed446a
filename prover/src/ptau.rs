//! Powers-of-tau files from snarkjs (`.ptau`, BN254), as produced by the Perpetual Powers of Tau
//! ceremony and `snarkjs powersoftau new/contribute/prepare phase2`, turned into halo2 KZG params.
//!
//! The file is `"ptau"`, a version (u32 LE), a section count (u32 LE), then sections of
//! (id u32 LE, size u64 LE, bytes). Section 1 is the header (field byte size, base field modulus,
//! power, ceremony power); section 2 holds τ^i·G1 (2^power·2 − 1 points) and section 3 τ^i·G2
//! (2^power points). Coordinates are little-endian in Montgomery form. Before the powers are used,
//! [`read_ptau`] checks that they are powers of one τ: the first points are the generators and
//! e(Σ r_i·τ^{i+1}G1, G2) = e(Σ r_i·τ^i G1, τG2) for random r_i.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use halo2_base::halo2_proofs::arithmetic::best_multiexp;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fq2, Fr, G1Affine, G2Affine};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::Curve;
use halo2_base::halo2_proofs::halo2curves::pairing::Engine;
use halo2_base::halo2_proofs::halo2curves::CurveAffine;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;

use crate::srs::Srs;
use crate::{Error, Result};

/// Whether the file at `path` starts with the `.ptau` magic.
pub fn is_ptau(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|_| &magic == b"ptau")
        .unwrap_or(false)
}

/// Reads the first 2^k powers of a `.ptau` file, checks them, and builds the KZG params.
pub fn read_ptau(path: &Path, k: usize) -> Result<Srs> {
    let bad = |why: String| Error::Srs(format!("{}: {why}", path.display()));
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut read = |buf: &mut [u8]| file.read_exact(buf);
    let mut head = [0u8; 12];
    read(&mut head).map_err(|_| bad("not a .ptau file (too short)".into()))?;
    if &head[..4] != b"ptau" {
        return Err(bad("not a .ptau file (no \"ptau\" magic)".into()));
    }
    let sections_count = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
    // Section table: id → (offset, size).
    let mut sections = HashMap::new();
    let mut at = 12u64;
    for _ in 0..sections_count {
        let mut hdr = [0u8; 12];
        file.seek(SeekFrom::Start(at))
            .and_then(|_| file.read_exact(&mut hdr))
            .map_err(|_| bad("truncated section table".into()))?;
        let id = u32::from_le_bytes(hdr[..4].try_into().expect("4 bytes"));
        let size = u64::from_le_bytes(hdr[4..].try_into().expect("8 bytes"));
        let start = at + 12;
        if start + size > file_len {
            return Err(bad(format!("section {id} runs past the end of the file")));
        }
        sections.insert(id, (start, size));
        at = start + size;
    }
    let section = |id: u32| {
        sections
            .get(&id)
            .copied()
            .ok_or_else(|| bad(format!("no section {id}")))
    };

    // Header: n8, q, power, ceremony power.
    let (start, size) = section(1)?;
    let header = read_at(&mut file, start, size as usize).map_err(|e| Error::io(path, e))?;
    if header.len() < 44 || u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) != 32 {
        return Err(bad("not a BN254 file (field size is not 32 bytes)".into()));
    }
    let mut q = [0u8; 32];
    q.copy_from_slice(&header[4..36]);
    if q != modulus_le() {
        return Err(bad("not a BN254 (bn128) file: another base field".into()));
    }
    let power = u32::from_le_bytes(header[36..40].try_into().expect("4 bytes")) as usize;
    if power < k {
        return Err(bad(format!(
            "holds 2^{power} powers of tau; the circuit needs 2^{k} (use a larger ceremony file)"
        )));
    }

    // τ^i·G1 for i ≤ 2^k (one extra for the consistency check), τ^0·G2 and τ·G2.
    let n = 1usize << k;
    let (start, size) = section(2)?;
    let needed = (n + 1).min((1 << (power + 1)) - 1);
    if (size as usize) < needed * 64 {
        return Err(bad(
            "section 2 (tau G1) is shorter than its header says".into()
        ));
    }
    let bytes = read_at(&mut file, start, needed * 64).map_err(|e| Error::io(path, e))?;
    let g1: Vec<G1Affine> = bytes
        .chunks(64)
        .enumerate()
        .map(|(i, c)| {
            g1_point(c).ok_or_else(|| bad(format!("tau G1 point {i} is not on the curve")))
        })
        .collect::<Result<_>>()?;
    let (start, size) = section(3)?;
    if size < 256 {
        return Err(bad("section 3 (tau G2) holds fewer than two points".into()));
    }
    let bytes = read_at(&mut file, start, 256).map_err(|e| Error::io(path, e))?;
    let g2 =
        g2_point(&bytes[..128]).ok_or_else(|| bad("G2 generator is not on the curve".into()))?;
    let s_g2 = g2_point(&bytes[128..]).ok_or_else(|| bad("tau G2 is not on the curve".into()))?;

    check_powers(&g1, g2, s_g2).map_err(bad)?;
    tracing::info!(power, k, "loaded and checked {} powers of tau", n);
    let template = ParamsKZG::<Bn256>::setup(1, rand_chacha::ChaCha20Rng::seed_from_u64(0));
    Ok(template.from_parts(k as u32, g1[..n].to_vec(), None, g2, s_g2))
}

/// The first points are the generators, τ is neither 0 nor 1, and every point is τ times the one
/// before it (checked with one random linear combination and two pairings).
fn check_powers(g1: &[G1Affine], g2: G2Affine, s_g2: G2Affine) -> std::result::Result<(), String> {
    if g1[0] != G1Affine::generator() {
        return Err("the first tau G1 point is not the generator".into());
    }
    if g2 != G2Affine::generator() {
        return Err("the first tau G2 point is not the generator".into());
    }
    if bool::from(s_g2.is_identity()) || s_g2 == g2 {
        return Err("tau is 0 or 1".into());
    }
    let mut rng = rand_chacha::ChaCha20Rng::from_entropy();
    let r: Vec<Fr> = (0..g1.len() - 1).map(|_| Fr::random(&mut rng)).collect();
    let next = best_multiexp(&r, &g1[1..]).to_affine();
    let this = best_multiexp(&r, &g1[..g1.len() - 1]).to_affine();
    if Bn256::pairing(&next, &g2) != Bn256::pairing(&this, &s_g2) {
        return Err(
            "the points are not successive powers of one tau (pairing check failed)".into(),
        );
    }
    Ok(())
}

fn read_at(file: &mut std::fs::File, start: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// The BN254 base field modulus, little endian.
fn modulus_le() -> [u8; 32] {
    // q - 1 + 1, computed without overflowing the field.
    let minus_one = (-Fq::ONE).to_repr();
    let mut q = minus_one;
    let mut carry = 1u16;
    for byte in q.iter_mut() {
        let sum = *byte as u16 + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    q
}

/// A base field element from 32 little-endian bytes in Montgomery form.
fn fq_montgomery(bytes: &[u8]) -> Option<Fq> {
    let repr: [u8; 32] = bytes.try_into().ok()?;
    let m = Option::<Fq>::from(Fq::from_repr(repr))?;
    // m = x·R mod q with R = 2^256 mod q.
    let r_inv = Fq::from(2u64)
        .pow_vartime([256])
        .invert()
        .expect("2^256 mod q is not zero");
    Some(m * r_inv)
}

fn g1_point(bytes: &[u8]) -> Option<G1Affine> {
    let (x, y) = (fq_montgomery(&bytes[..32])?, fq_montgomery(&bytes[32..64])?);
    if x.is_zero_vartime() && y.is_zero_vartime() {
        return Some(G1Affine::identity());
    }
    Option::from(G1Affine::from_xy(x, y))
}

fn g2_point(bytes: &[u8]) -> Option<G2Affine> {
    let f = |i: usize| fq_montgomery(&bytes[32 * i..32 * (i + 1)]);
    let p = G2Affine {
        x: Fq2::new(f(0)?, f(1)?),
        y: Fq2::new(f(2)?, f(3)?),
    };
    bool::from(p.is_on_curve()).then_some(p)
}
