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

use crate::{Error, Result};

/// log2 of the most points a BN254 SRS can usefully hold: the scalar field's two-adicity (and
/// the largest snarkjs ceremony, 2^28).
pub const MAX_K: u32 = 28;

/// Whether the file at `path` starts with the `.ptau` magic.
pub fn is_ptau(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|_| &magic == b"ptau")
        .unwrap_or(false)
}

/// Reads the first 2^k powers of a `.ptau` file, checks them, and builds the KZG params.
pub fn read_ptau(path: &Path, k: usize) -> Result<ParamsKZG<Bn256>> {
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
        // Checked: a corrupted size near 2^64 must not wrap around.
        let end = match start.checked_add(size) {
            Some(end) if end <= file_len => end,
            _ => {
                return Err(bad(format!(
                    "section {id} runs past the end of the file (it claims {size} bytes at \
                     offset {start}; the file has {file_len}: truncated?)"
                )))
            }
        };
        sections.insert(id, (start, size));
        at = end;
    }
    let section = |id: u32| {
        sections
            .get(&id)
            .copied()
            .ok_or_else(|| bad(format!("no section {id}")))
    };

    // Header: n8, q, power, ceremony power (44 bytes; only those are read).
    let (start, size) = section(1)?;
    if size < HEADER_BYTES as u64 {
        return Err(bad(format!(
            "the header section is {size} bytes, shorter than the {HEADER_BYTES} it needs"
        )));
    }
    let header = read_at(&mut file, start, HEADER_BYTES).map_err(|e| Error::io(path, e))?;
    if u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) != 32 {
        return Err(bad("not a BN254 file (field size is not 32 bytes)".into()));
    }
    let mut q = [0u8; 32];
    q.copy_from_slice(&header[4..36]);
    if q != modulus_le() {
        return Err(bad("not a BN254 (bn128) file: another base field".into()));
    }
    let power = u32::from_le_bytes(header[36..40].try_into().expect("4 bytes"));
    if power > MAX_K {
        return Err(bad(format!(
            "its header claims 2^{power} powers of tau; BN254 files hold at most 2^{}",
            MAX_K
        )));
    }
    let power = power as usize;
    if power < k {
        return Err(bad(format!(
            "holds 2^{power} powers of tau; the circuit needs 2^{k} (use a larger ceremony file)"
        )));
    }

    // τ^i·G1 for i ≤ 2^k (one extra for the consistency check), τ^0·G2 and τ·G2.
    let n = 1usize << k;
    let (start, size) = section(2)?;
    let needed = (n + 1).min((1 << (power + 1)) - 1);
    if size < (needed as u64) * 64 {
        return Err(bad(format!(
            "section 2 (tau G1) is shorter than its header says: {size} bytes, {} needed",
            needed * 64
        )));
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

/// Bytes of the header section that are read: n8 (u32), q (32 bytes), power, ceremony power.
const HEADER_BYTES: usize = 44;

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.ptau` file: magic, version 1, then `sections` as (id, bytes).
    fn ptau_file(sections: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut out = b"ptau".to_vec();
        out.extend(1u32.to_le_bytes());
        out.extend((sections.len() as u32).to_le_bytes());
        for (id, bytes) in sections {
            out.extend(id.to_le_bytes());
            out.extend((bytes.len() as u64).to_le_bytes());
            out.extend(bytes);
        }
        out
    }

    /// Section 1 of a BN254 file holding 2^`power` powers.
    fn header(power: u32) -> Vec<u8> {
        let mut out = 32u32.to_le_bytes().to_vec();
        out.extend(modulus_le());
        out.extend(power.to_le_bytes());
        out.extend(power.to_le_bytes());
        out
    }

    /// `read_ptau` must refuse `bytes` with an SRS error naming the file and containing `why`.
    fn refused(name: &str, bytes: &[u8], why: &str) {
        let dir = std::env::temp_dir().join(format!("zkinfer-ptau-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        match read_ptau(&path, 4) {
            Err(Error::Srs(message)) => {
                assert!(message.contains(name), "{message}");
                assert!(message.contains(why), "{name}: {message}");
            }
            Err(e) => panic!("{name}: unexpected error {e}"),
            Ok(_) => panic!("{name} accepted"),
        }
    }

    #[test]
    fn malformed_ptau_files_are_refused_before_any_allocation() {
        refused("empty.ptau", b"", "too short");
        refused(
            "json.ptau",
            br#"{"input_data": [[0.5]]}"#,
            "no \"ptau\" magic",
        );
        let mut random = vec![0u8; 2048];
        rand::RngCore::fill_bytes(&mut rand_chacha::ChaCha20Rng::seed_from_u64(5), &mut random);
        refused("random.ptau", &random, "no \"ptau\" magic");
        // The magic, then random bytes: a section count and sizes that the file cannot hold.
        let mut magic_then_random = b"ptau".to_vec();
        magic_then_random.extend(&random);
        refused("magic-random.ptau", &magic_then_random, "the file");

        // A section table that claims more sections than the file holds.
        let mut count = ptau_file(&[(1, header(12))]);
        count[8..12].copy_from_slice(&1000u32.to_le_bytes());
        refused("count.ptau", &count, "truncated section table");
        // A section size near 2^64 (must not wrap around to a small end).
        let mut huge = ptau_file(&[(1, header(12))]);
        huge[16..24].copy_from_slice(&(u64::MAX - 4).to_le_bytes());
        refused("huge-size.ptau", &huge, "runs past the end of the file");
        // A truncated file: section 2 claims more bytes than follow.
        let mut truncated = ptau_file(&[(1, header(12)), (2, vec![0; 64 * 40])]);
        truncated.truncate(truncated.len() - 100);
        refused("truncated.ptau", &truncated, "truncated?");

        // Header fields that do not fit.
        refused(
            "short-header.ptau",
            &ptau_file(&[(1, vec![32, 0, 0, 0])]),
            "the header section is 4 bytes",
        );
        refused(
            "no-header.ptau",
            &ptau_file(&[(2, vec![0; 64])]),
            "no section 1",
        );
        refused(
            "power.ptau",
            &ptau_file(&[(1, header(60))]),
            "claims 2^60 powers of tau",
        );
        refused(
            "small.ptau",
            &ptau_file(&[(1, header(3))]),
            "holds 2^3 powers of tau; the circuit needs 2^4",
        );
        // Section 2 shorter than the 2^4 + 1 points needed.
        refused(
            "short-g1.ptau",
            &ptau_file(&[(1, header(12)), (2, vec![0; 64 * 3]), (3, vec![0; 256])]),
            "section 2 (tau G1) is shorter than its header says",
        );
    }
}
