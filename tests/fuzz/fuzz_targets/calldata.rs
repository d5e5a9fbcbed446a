//! Verifier calldata: instance words and proof bytes decoded and checked as the on-chain
//! verifier does (`zkinfer_codegen::reference`, the contract's executable twin). Nothing may
//! panic, and nothing but the honest proof with its instances may be accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkinfer_codegen::plan::Word;
use zkinfer_codegen::reference::verify_words;
use zkinfer_prover::pipeline::decode_proof;

fuzz_target!(|data: &[u8]| {
    let build = zkinfer_fuzz::example();
    // First byte: the number of instance words; then the words; the rest is the proof.
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = (count as usize).min(rest.len() / 32);
    let (words, proof) = rest.split_at(32 * count);
    let instances: Vec<Word> = words
        .chunks_exact(32)
        .map(|w| w.try_into().expect("32 bytes"))
        .collect();
    if verify_words(&build.blob, proof, &instances).is_ok() {
        let (honest_proof, honest_instances) = decode_proof(&build.proof);
        let honest_words: Vec<Word> = honest_instances
            .iter()
            .map(|f| zkinfer_codegen::plan::scalar(*f))
            .collect();
        assert_eq!(
            proof,
            &honest_proof[..],
            "a proof other than the honest one was accepted"
        );
        assert_eq!(instances, honest_words, "changed instances were accepted");
    }
});
