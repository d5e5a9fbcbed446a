//! The reusable verifier on a real anvil: one `ReusableHalo2Verifier` deployment serves two models through
//! their key contracts; it accepts the honest proof and rejects every single-byte flip of it, changed
//! and non-canonical instances and evaluations, short proofs and another model's key, each with its
//! custom error; on the same inputs the snark-verifier contract (the differential reference) agrees.
//! Submitting through the oracle passes the verifier's error on to the CLI. A model laid out with
//! a dot-product region (weights in fixed columns, its own gate) gets the same checks.

mod support;

use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::sol_types::SolError;
use serde_json::Value;
use support::*;

use zkinfer_cli::contracts::ReusableHalo2Verifier;
fn address(v: &serde_json::Value) -> Address {
    v.as_str().unwrap().parse().unwrap()
}

struct Verifiers {
    provider: DynProvider,
    reusable: Address,
    snark: Address,
}

impl Verifiers {
    /// The reusable verifier's verdict: Ok, or the revert data.
    async fn reusable(&self, key: Address, proof: &[u8], words: &[U256]) -> Result<(), Vec<u8>> {
        let verifier = ReusableHalo2Verifier::new(self.reusable, &self.provider);
        match verifier
            .verifyProof(key, Bytes::from(proof.to_vec()), words.to_vec())
            .call()
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(Vec::new()),
            Err(e) => Err(e.as_revert_data().map(|d| d.to_vec()).unwrap_or_default()),
        }
    }

    /// Whether the snark-verifier contract accepts (raw calldata: instances then proof).
    async fn snark(&self, proof: &[u8], words: &[U256]) -> bool {
        let mut data: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes::<32>()).collect();
        data.extend_from_slice(proof);
        let request = alloy::rpc::types::TransactionRequest::default()
            .to(self.snark)
            .input(Bytes::from(data).into());
        self.provider.call(request).await.is_ok()
    }
}

/// Deploys `build` with the reusable verifier, `other` on that same verifier, and `build` with
/// the snark-verifier contract as the reference; returns the verifiers and both deploy reports.
fn deploy_verifiers(build: &str, other: &str, url: &str) -> (Verifiers, Value, Value) {
    let a = deploy(build, url, &["--verifier", "reusable"]);
    let reusable = address(&a["verifier"]);
    let b = deploy(
        other,
        url,
        &[
            "--verifier",
            "reusable",
            "--reusable-verifier",
            &reusable.to_string(),
        ],
    );
    let reference = deploy(build, url, &["--verifier", "snark-verifier"]);
    let v = Verifiers {
        provider: ProviderBuilder::new()
            .connect_http(url.parse().unwrap())
            .erased(),
        reusable,
        snark: address(&reference["verifier"]),
    };
    (v, a, b)
}

fn selector(data: &[u8]) -> [u8; 4] {
    data.get(..4)
        .map(|s| s.try_into().unwrap())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn reusable_verifier_accepts_honest_proofs_and_rejects_tampering_like_the_reference() {
    let (build, proof_file) = build_and_prove("reusable_a", "13");
    let (other_build, other_proof_file) = build_and_prove("reusable_b", "11");
    let anvil = Anvil::start();

    // One reusable verifier, two models; a snark-verifier deployment of model A as reference.
    let (v, a, b) = deploy_verifiers(&build, &other_build, &anvil.url);
    let reusable = v.reusable;
    assert!(a["verifier_runtime_bytes"].as_u64().unwrap() < 8_192);
    assert_eq!(address(&b["verifier"]), reusable, "the verifier is reused");
    assert_eq!(b["gas"]["verifier"].as_u64(), Some(0), "nothing redeployed");
    let (key_a, key_b) = (address(&a["key"]), address(&b["key"]));

    let (_, proof, words) = proof_parts(&read_json(&proof_file));
    let (_, other_proof, other_words) = proof_parts(&read_json(&other_proof_file));
    assert_eq!(v.reusable(key_a, &proof, &words).await, Ok(()));
    assert!(v.snark(&proof, &words).await);
    assert_eq!(v.reusable(key_b, &other_proof, &other_words).await, Ok(()));

    // Every single-byte flip is rejected; on every 8th position the reference agrees.
    let mut reasons = std::collections::BTreeMap::<[u8; 4], usize>::new();
    for at in 0..proof.len() {
        let mut flipped = proof.clone();
        flipped[at] ^= 0x01;
        let verdict = v.reusable(key_a, &flipped, &words).await;
        let reason = verdict.expect_err(&format!("byte {at} flipped and accepted"));
        *reasons.entry(selector(&reason)).or_default() += 1;
        if at % 8 == 0 {
            assert!(
                !v.snark(&flipped, &words).await,
                "reference accepted byte {at} flipped"
            );
        }
    }
    let count = |e: [u8; 4]| reasons.get(&e).copied().unwrap_or(0);
    let pairing = count(ReusableHalo2Verifier::PairingFailed::SELECTOR);
    let curve = count(ReusableHalo2Verifier::PointNotOnCurve::SELECTOR);
    let field = count(ReusableHalo2Verifier::ScalarNotInField::SELECTOR);
    assert_eq!(pairing + curve + field, proof.len(), "reasons {reasons:?}");
    assert!(pairing > 0 && curve > 0, "reasons {reasons:?}");

    // Changed instance, instance + r, evaluation + r, lengths, another model's key.
    let r = U256::from_str_radix(R, 16).unwrap();
    let mut changed = words.clone();
    *changed.last_mut().unwrap() += U256::from(1u64);
    let err = v.reusable(key_a, &proof, &changed).await.unwrap_err();
    assert_eq!(
        selector(&err),
        ReusableHalo2Verifier::PairingFailed::SELECTOR
    );
    assert!(!v.snark(&proof, &changed).await);
    let mut shifted = words.clone();
    shifted[0] += r;
    let err = v.reusable(key_a, &proof, &shifted).await.unwrap_err();
    assert_eq!(
        err,
        ReusableHalo2Verifier::InstanceNotInField { index: U256::ZERO }.abi_encode()
    );
    assert!(!v.snark(&proof, &shifted).await);
    let mut malleated = proof.clone();
    let at = malleated.len() - 128 - 32;
    let eval = U256::from_be_slice(&malleated[at..at + 32]);
    malleated[at..at + 32].copy_from_slice(&(eval + r).to_be_bytes::<32>());
    let err = v.reusable(key_a, &malleated, &words).await.unwrap_err();
    assert_eq!(
        err,
        ReusableHalo2Verifier::ScalarNotInField {
            offset: U256::from(at)
        }
        .abi_encode()
    );
    assert!(!v.snark(&malleated, &words).await);
    let err = v
        .reusable(key_a, &proof[..proof.len() - 32], &words)
        .await
        .unwrap_err();
    assert_eq!(selector(&err), ReusableHalo2Verifier::ProofLength::SELECTOR);
    let err = v.reusable(key_a, &proof, &words[1..]).await.unwrap_err();
    assert_eq!(
        selector(&err),
        ReusableHalo2Verifier::InstanceCount::SELECTOR
    );
    assert!(
        v.reusable(key_b, &proof, &words).await.is_err(),
        "model B's key accepted A's proof"
    );
    assert!(
        v.reusable(key_a, &other_proof, &other_words).await.is_err(),
        "A's key accepted B's proof"
    );

    // Through the oracle: the honest proof is accepted, a flipped one names the verifier's reason.
    let oracle = a["oracle"].as_str().unwrap().to_string();
    let flipped = write_variant(&proof_file, "flipped", |p| {
        let mut bytes = hex::decode(&p["proof"].as_str().unwrap()[2..]).unwrap();
        let at = bytes.len() - 1; // the last byte of the final opening point's y
        bytes[at] ^= 0x01;
        p["proof"] = serde_json::Value::String(format!("0x{}", hex::encode(bytes)));
    });
    let out = submit(&flipped, &anvil.url, &oracle, ANVIL_KEY);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("PointNotOnCurve"), "{stderr}");
    // A padded proof is no new proof: refused by its length, before any verification.
    let padded = with_proof_bytes(&proof_file, "padded", |b| b.push(0));
    let out = submit(&padded, &anvil.url, &oracle, ANVIL_KEY);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("WrongProofLength"), "{stderr}");
    // Another account copying the proof gains nothing: without bound or attested inputs only the
    // subject (the first account) may submit, and the output is credited to it.
    let out = submit(&proof_file, &anvil.url, &oracle, ANVIL_KEY_2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("SubjectNotSender"));
    let accepted = submit_json(&proof_file, &anvil.url, &oracle, ANVIL_KEY);
    assert!(accepted["gas_used"].as_u64().unwrap() > 200_000);
    assert_eq!(
        accepted["subject"].as_str().unwrap().to_lowercase(),
        ANVIL_ADDR.to_lowercase()
    );
    let expected = read_json(&proof_file)["output_data"][0][0]
        .as_f64()
        .unwrap();
    assert_eq!(accepted["outputs"][0].as_f64().unwrap(), expected);
    // Replayed as it was, or padded, by anyone: refused.
    for (file, key, reason) in [
        (&proof_file, ANVIL_KEY, "StatementAlreadyUsed"),
        (&padded, ANVIL_KEY, "WrongProofLength"),
    ] {
        let out = submit(file, &anvil.url, &oracle, key);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} accepted twice");
        assert!(stderr.contains(reason), "{file}: {stderr}");
    }
}

/// mlp_large lays out its dense layers in a dot-product region (its own gate over fixed weight
/// columns): both verifiers accept its honest proof and reject every single-byte flip, a changed
/// output, an instance + r and the credit-risk example's proof (and the example's key its proof).
#[tokio::test(flavor = "multi_thread")]
async fn a_dot_product_layout_is_verified_on_chain_and_tampering_rejected() {
    let (build, proof_file, report) = build_and_prove_bench("mlp_large");
    assert!(
        report["dot_width"].as_u64().is_some_and(|w| w >= 1),
        "{report}"
    );
    let (other_build, other_proof_file) = build_and_prove("dot_other", "13");
    let anvil = Anvil::start();
    let (v, a, b) = deploy_verifiers(&build, &other_build, &anvil.url);
    let (key_a, key_b) = (address(&a["key"]), address(&b["key"]));
    let (_, proof, words) = proof_parts(&read_json(&proof_file));
    let (_, other_proof, other_words) = proof_parts(&read_json(&other_proof_file));
    assert_eq!(v.reusable(key_a, &proof, &words).await, Ok(()));
    assert!(v.snark(&proof, &words).await);

    for at in 0..proof.len() {
        let mut flipped = proof.clone();
        flipped[at] ^= 0x01;
        assert!(
            v.reusable(key_a, &flipped, &words).await.is_err(),
            "byte {at} flipped and accepted"
        );
        if at % 16 == 0 {
            assert!(
                !v.snark(&flipped, &words).await,
                "reference accepted byte {at} flipped"
            );
        }
    }
    let mut changed = words.clone();
    *changed.last_mut().unwrap() += U256::from(1u64);
    assert!(v.reusable(key_a, &proof, &changed).await.is_err());
    assert!(!v.snark(&proof, &changed).await);
    let mut shifted = words.clone();
    shifted[0] += U256::from_str_radix(R, 16).unwrap();
    assert_eq!(
        v.reusable(key_a, &proof, &shifted).await.unwrap_err(),
        ReusableHalo2Verifier::InstanceNotInField { index: U256::ZERO }.abi_encode()
    );
    assert!(!v.snark(&proof, &shifted).await);
    assert!(v.reusable(key_a, &other_proof, &other_words).await.is_err());
    assert!(!v.snark(&other_proof, &other_words).await);
    assert!(v.reusable(key_b, &proof, &words).await.is_err());
}
