//! SHPLONK proofs with the EVM (keccak) transcript, and their native verification.

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{
    create_proof, verify_proof, Circuit, ProvingKey, VerifyingKey,
};
use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use halo2_base::halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::AccumulatorStrategy;
use halo2_base::halo2_proofs::poly::VerificationStrategy;
use halo2_base::halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use snark_verifier::system::halo2::transcript::evm::EvmTranscript;

use crate::srs::Srs;
use crate::{Error, Result};

/// Creates a proof of `circuit` for the given public instances (one instance column).
pub fn prove<C: Circuit<Fr>>(
    srs: &Srs,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
) -> Result<Vec<u8>> {
    let mut transcript = TranscriptWriterBuffer::<_, G1Affine, _>::init(Vec::new());
    create_proof::<
        KZGCommitmentScheme<Bn256>,
        ProverSHPLONK<'_, Bn256>,
        _,
        _,
        EvmTranscript<_, _, _, _>,
        _,
    >(
        srs,
        pk,
        &[circuit],
        &[&[instances]],
        rand::rngs::OsRng,
        &mut transcript,
    )
    .map_err(|e| Error::Prove(e.to_string()))?;
    Ok(transcript.finalize())
}

/// Verifies a proof against a verifying key; `Ok(false)` means the proof is invalid.
pub fn verify(srs: &Srs, vk: &VerifyingKey<G1Affine>, proof: &[u8], instances: &[Fr]) -> bool {
    let verifier_params = srs.verifier_params();
    let mut transcript = TranscriptReadBuffer::<_, G1Affine, _>::init(proof);
    let result = verify_proof::<
        KZGCommitmentScheme<Bn256>,
        VerifierSHPLONK<'_, Bn256>,
        _,
        EvmTranscript<_, _, _, _>,
        _,
    >(
        verifier_params,
        vk,
        AccumulatorStrategy::new(verifier_params),
        &[&[instances]],
        &mut transcript,
    );
    match result {
        Ok(strategy) => VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize(strategy),
        Err(e) => {
            tracing::debug!("proof rejected: {e}");
            false
        }
    }
}
