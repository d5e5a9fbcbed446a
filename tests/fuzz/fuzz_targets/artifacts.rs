//! Proof, settings and keys artifacts from JSON. A fuzzed proof file is verified against the
//! example build, and fuzzed settings are verified with the honest proof: errors and rejections
//! are fine, panics are not, and only the honest proof may be accepted.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use zkinfer_prover::artifacts::{Artifact, KeysInfo, ProofArtifact, Settings};
use zkinfer_prover::pipeline::{decode_proof, verify};

fuzz_target!(|data: &[u8]| {
    let build = zkinfer_fuzz::example();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let origin = Path::new("fuzz.json");
    if let Ok(artifact) = ProofArtifact::from_json(text, origin) {
        if let Ok(true) = verify(&build.dir, &artifact) {
            assert_eq!(
                decode_proof(&artifact),
                decode_proof(&build.proof),
                "another proof was accepted"
            );
        }
    }
    if let Ok(settings) = Settings::from_json(text, origin) {
        let dir = zkinfer_fuzz::scratch_build();
        settings.write(&dir.settings()).expect("scratch settings");
        let _ = verify(dir, &build.proof);
        let _ = (settings.num_public_inputs(), settings.num_public_outputs());
    }
    let _ = KeysInfo::from_json(text, origin);
});
