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
/// The contract takes raw calldata: each instance as a 32-byte big-endian word, then the proof.
/// It reverts on an invalid proof, a point off the curve, or any scalar `>= r`.
pub fn generate_verifier(
    srs: &Srs,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> Result<String> {
    let protocol = compile(
        srs,
        vk,
        Config::kzg().with_num_instance(vec![num_instances]),
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
    Ok(require_canonical_scalars(&loader.solidity_code()))
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
    fn scalar_reads_are_made_canonical() {
        let code = "  x\n        mstore(0x80, mod(calldataload(0x0), f_q))\n";
        let patched = require_canonical_scalars(code);
        assert_eq!(
            patched,
            "  x\n        mstore(0x80, calldataload(0x0)) if iszero(lt(mload(0x80), f_q)) { revert(0, 0) }\n"
        );
    }
}
