//! The Solidity verifier for a verifying key, from snark-verifier's EVM loader (SHPLONK,
//! keccak transcript), hardened so that every scalar it reads must be canonical.

use std::rc::Rc;

use snark_verifier::loader::evm::EvmLoader;
use snark_verifier::pcs::kzg::{Bdfg21, KzgAs, KzgDecidingKey, LimbsEncoding};
use snark_verifier::system::halo2::{compile, transcript::evm::EvmTranscript, Config};
use snark_verifier::verifier::{plonk::PlonkVerifier, SnarkVerifier};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine};
use zkinfer_prover::halo2_base::halo2_proofs::plonk::VerifyingKey;
use zkinfer_prover::halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use zkinfer_prover::srs::Srs;

use crate::{Error, Result};

type Shplonk = KzgAs<Bn256, Bdfg21>;
type Verifier = PlonkVerifier<Shplonk, LimbsEncoding<3, 88>>;

/// Name of the generated contract.
pub const VERIFIER_CONTRACT: &str = "Halo2Verifier";

/// EIP-170 limit on runtime bytecode.
pub const CODE_SIZE_LIMIT: usize = 24_576;

/// Generates the verifier's Solidity source for `vk` with `num_instances` public values.
///
/// The contract takes raw calldata: each instance as a 32-byte big-endian word, then the proof,
/// and nothing else (any other calldata length reverts, so a padded proof is no new proof). It
/// returns the 32-byte word 1 for a valid proof and reverts on an invalid proof, a point off the
/// curve, any scalar `>= r`, or a precompile call that fails or returns other than its exact
/// output size.
pub fn generate_verifier(
    srs: &Srs,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> Result<String> {
    generate(srs, vk, num_instances, None)
}

/// Limbs of the KZG accumulator an aggregation circuit exposes last (two G1 points, each
/// coordinate as three 88-bit limbs).
pub const ACCUMULATOR_LIMBS: usize = 12;

/// [`generate_verifier`] for an aggregation circuit whose last [`ACCUMULATOR_LIMBS`] instances
/// are a KZG accumulator: the contract also folds that accumulator into its pairing check, so it
/// accepts only when every aggregated proof verifies. Its calldata reads as the statement (the
/// instances before the accumulator), then "accumulator ‖ proof".
pub fn generate_aggregation_verifier(
    srs: &Srs,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> Result<String> {
    if num_instances < ACCUMULATOR_LIMBS {
        return Err(Error::Solc(format!(
            "an aggregation circuit exposes at least {ACCUMULATOR_LIMBS} accumulator limbs, not {num_instances} instances"
        )));
    }
    let limbs = (num_instances - ACCUMULATOR_LIMBS..num_instances)
        .map(|i| (0, i))
        .collect();
    generate(srs, vk, num_instances, Some(limbs))
}

/// The hardened verifier source, with the accumulator at `accumulator` when given.
fn generate(
    srs: &Srs,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    accumulator: Option<Vec<(usize, usize)>>,
) -> Result<String> {
    let protocol = compile(
        srs,
        vk,
        Config::kzg()
            .with_num_instance(vec![num_instances])
            .with_accumulator_indices(accumulator),
    );
    let dk: KzgDecidingKey<Bn256> = (srs.get_g()[0], srs.g2(), srs.s_g2()).into();
    let loader = EvmLoader::new::<Fq, Fr>();
    let protocol = protocol.loaded(&loader);
    let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
    let instances = transcript.load_instances(vec![num_instances]);
    let proof = Verifier::read_proof(&dk, &protocol, &instances, &mut transcript)
        .map_err(|e| Error::Solc(format!("verifier generation failed: {e:?}")))?;
    Verifier::verify(&dk, &protocol, &instances, &proof)
        .map_err(|e| Error::Solc(format!("verifier generation failed: {e:?}")))?;
    harden(&loader.solidity_code())
}

/// The hardening passes over snark-verifier's output (see [`generate_verifier`]).
fn harden(code: &str) -> Result<String> {
    let code = require_canonical_scalars(code);
    let code = require_precompile_output(&code);
    // The passes match snark-verifier's exact output: if a new version words a read or a call
    // differently, refuse to generate rather than ship it unhardened.
    if code.contains("mod(calldataload(") {
        return Err(Error::Solc(
            "generated verifier: a scalar read was not made canonical".into(),
        ));
    }
    if code.matches("staticcall(").count() != code.matches("eq(returndatasize(), ").count() {
        return Err(Error::Solc(
            "generated verifier: a precompile call's output size is not checked".into(),
        ));
    }
    let code = require_exact_calldata(&code)?;
    return_one_on_success(&code)
}

/// The calldata length a generated verifier reads: snark-verifier's code reads every calldata
/// word of the statement and proof exactly once, in order, so it is one word past its last read.
pub fn calldata_len(code: &str) -> Result<usize> {
    const READ: &str = "calldataload(";
    let last = code
        .match_indices(READ)
        .filter_map(|(at, _)| {
            let rest = &code[at + READ.len()..];
            let arg = &rest[..rest.find(')')?];
            usize::from_str_radix(arg.trim().strip_prefix("0x")?, 16).ok()
        })
        .max()
        .ok_or_else(|| Error::Solc("generated verifier reads no calldata".into()))?;
    Ok(last + 32)
}

/// Anything but the exact calldata length (a padded or truncated proof) reverts before any work.
fn require_exact_calldata(code: &str) -> Result<String> {
    let len = calldata_len(code)?;
    const ANCHOR: &str = "let success := true";
    if !code.contains(ANCHOR) {
        return Err(Error::Solc(format!(
            "generated verifier has no `{ANCHOR}` to anchor the calldata length check"
        )));
    }
    Ok(code.replacen(
        ANCHOR,
        &format!(
            "if iszero(eq(calldatasize(), {len:#x})) {{ revert(0, 0) }}\n            {ANCHOR}"
        ),
        1,
    ))
}

/// A precompile call counts only with its exact output size: a chain without the precompile
/// (a call to an empty account succeeds and writes nothing) must not leave stale memory to be
/// read as the result.
fn require_precompile_output(code: &str) -> String {
    const CALL: &str = "success := and(eq(staticcall(gas(), ";
    let mut out = String::with_capacity(code.len() + code.len() / 8);
    for line in code.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        // `success := and(eq(staticcall(gas(), a, cd_ptr, cd_len, rd_ptr, rd_len), 1), success)`
        let rd_len = trimmed
            .strip_prefix(CALL)
            .and_then(|rest| rest.strip_suffix("), 1), success)"))
            .and_then(|args| args.rsplit(", ").next());
        match rd_len {
            Some(rd_len) => {
                // A line of its own after the call: Yul evaluates arguments right to left, so
                // the size must not be an argument beside the call.
                out.push_str(&format!(
                    "{line}\n{indent}success := and(eq(returndatasize(), {rd_len}), success)\n"
                ));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// snark-verifier returns empty data on success; a caller could not tell that from a call to an
/// account without code. Return the word 1 instead (what the oracle requires).
fn return_one_on_success(code: &str) -> Result<String> {
    const EMPTY: &str = "return(0, 0)";
    if code.matches(EMPTY).count() != 1 {
        return Err(Error::Solc(format!(
            "generated verifier does not end in exactly one `{EMPTY}`"
        )));
    }
    Ok(code.replacen(EMPTY, "mstore(0x00, 1) return(0x00, 0x20)", 1))
}

/// snark-verifier reads scalars as `mod(calldataload(o), f_q)`, which would accept `x + r` for
/// `x`: a non-canonical instance or a malleable proof. Replace each read by one that fails
/// (reverts) unless the word is `< r`.
fn require_canonical_scalars(code: &str) -> String {
    const PREFIX: &str = "mstore(";
    const READ: &str = ", mod(calldataload(";
    let mut out = String::with_capacity(code.len() + code.len() / 4);
    for line in code.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let parsed = trimmed
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(READ))
            .and_then(|(ptr, rest)| rest.strip_suffix("), f_q))").map(|offset| (ptr, offset)));
        match parsed {
            Some((ptr, offset)) => {
                out.push_str(&format!(
                    "{indent}mstore({ptr}, calldataload({offset})) if iszero(lt(mload({ptr}), f_q)) {{ revert(0, 0) }}\n"
                ));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precompile_calls_require_their_output_size() {
        let code = "    success := and(eq(staticcall(gas(), 0x6, 0x80, 0x80, 0x80, 0x40), 1), success)\n    x\n";
        assert_eq!(
            require_precompile_output(code),
            "    success := and(eq(staticcall(gas(), 0x6, 0x80, 0x80, 0x80, 0x40), 1), success)\n    success := and(eq(returndatasize(), 0x40), success)\n    x\n"
        );
    }

    #[test]
    fn calldata_length_is_exact_and_success_returns_one() {
        let code = "let success := true\nmstore(0x80, calldataload(0x0))\nmstore(0xa0, calldataload(0x1e0))\nreturn(0, 0)";
        let hardened = return_one_on_success(&require_exact_calldata(code).unwrap()).unwrap();
        assert!(hardened.starts_with("if iszero(eq(calldatasize(), 0x200)) { revert(0, 0) }"));
        assert!(hardened.ends_with("mstore(0x00, 1) return(0x00, 0x20)"));
        assert!(require_exact_calldata("let success := true").is_err());
        assert!(return_one_on_success("return(0, 0) return(0, 0)").is_err());
    }

    #[test]
    fn scalar_reads_are_made_canonical() {
        let code = "  x\n        mstore(0x80, mod(calldataload(0x0), f_q))\n";
        let patched = require_canonical_scalars(code);
        assert_eq!(
            patched,
            "  x\n        mstore(0x80, calldataload(0x0)) if iszero(lt(mload(0x80), f_q)) { revert(0, 0) }\n"
        );
    }
}
