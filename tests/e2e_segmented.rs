//! End to end on a real anvil for a segmented model: the credit-risk example compiled into three
//! segments, each segment proven, the proofs aggregated in a tree (a node, then the root) into
//! one, its verifier generated and deployed with the oracle and lending pool by the same commands
//! as a single circuit (and, with hashed inputs, two segments aggregated flat). The
//! aggregated proof is accepted in one transaction and the outputs are onnxruntime's within the
//! fixed-point tolerance; a flipped proof byte, a changed accumulator limb, a changed output, an
//! instance or limb ≥ r, another model's proof and a replay are rejected. With hashed inputs and
//! an attester, the oracle takes the aggregated proof only once the subject committed to the
//! input and the attester vouched for it, through the same `commitment` and `attest` commands.

mod support;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use support::*;

use zkinfer_cli::contracts::{RiskAdjustedLending as Lending, VerifiedInferenceOracle as Oracle};

/// Accumulator words at the head of an aggregated proof file's proof.
const ACCUMULATOR_WORDS: usize = 12;

#[tokio::test(flavor = "multi_thread")]
async fn aggregated_segments_verify_on_anvil_and_tampering_is_rejected() {
    let dir = scratch("segmented-chain");
    let build = dir.join("build");
    let compiled = compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &build,
        &["--segments", "3"],
    );
    assert_eq!(compiled["segments"].as_array().unwrap().len(), 3);
    let build = path(&build).to_string();
    // A tree: a node over segments 0 and 1, the root over the node and segment 2 (the flat
    // aggregation is tested with hashed inputs below).
    // The root at the nodes' k 21, not the default 22: a 2^22 development SRS alone takes CI
    // about 11 minutes to generate (the k 22 root is measured in the README: 382k gas).
    let setup = zkinfer_json(&[
        "setup",
        &build,
        "--dev-srs",
        "--aggregation-arity",
        "2",
        "--aggregation-root-k",
        "21",
    ]);
    assert_eq!(setup["aggregation"]["k"], 21, "{setup}");
    assert_eq!(setup["aggregation"]["node_k"], 21, "{setup}");
    assert_eq!(setup["aggregation"]["arity"], 2, "{setup}");
    assert_eq!(setup["aggregation"]["inner_nodes"], 1, "{setup}");
    let proof = path(&dir.join("proof.json")).to_string();
    let proved = zkinfer_json(&[
        "prove",
        &build,
        "--input",
        &example("input.json"),
        "-o",
        &proof,
        "--jobs",
        "2",
        "--subject",
        ANVIL_ADDR,
    ]);
    assert_eq!(proved["aggregated"], true);
    let verified = zkinfer_json(&["verify", &build, &proof]);
    assert_eq!(verified["valid"], true, "{verified}");
    // The outputs are the model's: onnxruntime's within the fixed-point tolerance.
    let meta = read_json(&example("meta.json"));
    let ort = meta["ort_output"][0].as_f64().unwrap();
    let score = proved["output_data"][0][0].as_f64().unwrap();
    assert!(
        (score - ort).abs() <= 2e-3 + 2e-3 * ort.abs(),
        "{score} vs onnxruntime {ort}"
    );
    // Off-chain, a changed accumulator limb fails the pairing and is reported with its reason.
    let limb = with_proof_bytes(&proof, "limb", |b| b[31] ^= 1);
    let out = zkinfer(&["--json", "-q", "verify", &build, &limb]);
    let rejected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rejected["valid"], false, "{rejected}");

    // A single-circuit build of the same model: another model's proof.
    let (other_build, other_proof) = build_and_prove("segmented-other", "13");
    let (code, err) = failure(&["setup", &other_build, "--dev-srs", "--no-aggregation"]);
    assert_eq!(code, 1);
    assert!(err.contains("single circuit"), "{err}");

    let codegen = zkinfer_json(&["codegen", &build, "-o", path(&dir.join("Verifier.sol"))]);
    assert!(codegen["runtime_bytecode_bytes"].as_u64().unwrap() <= 24_576);
    let (code, err) = failure(&[
        "codegen",
        &build,
        "-o",
        path(&dir.join("R.sol")),
        "--verifier",
        "reusable",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("accumulator"), "{err}");

    let anvil = Anvil::start();
    let deployed = deploy(&build, &anvil.url, &[]);
    let oracle_addr = deployed["oracle"].as_str().unwrap().to_string();
    let lending_addr: Address = deployed["lending"].as_str().unwrap().parse().unwrap();
    assert!(deployed["verifier_runtime_bytes"].as_u64().unwrap() <= 24_576);
    let rejected = |file: &str, reason: &str| {
        let out = submit(file, &anvil.url, &oracle_addr, ANVIL_KEY);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} accepted");
        assert!(
            stderr.contains(reason),
            "{file}: expected {reason}, got {stderr}"
        );
    };
    let artifact = read_json(&proof);
    let flipped = with_proof_bytes(&proof, "flipped", |b| {
        let at = ACCUMULATOR_WORDS * 32 + 100;
        b[at] ^= 1;
    });
    rejected(&flipped, "ProofRejected");
    rejected(&limb, "ProofRejected");
    let output = artifact["instances"].as_array().unwrap().len() - 2;
    let changed = write_variant(&proof, "changed", |v| {
        let word = v["instances"][output].as_str().unwrap().to_string();
        v["instances"][output] = serde_json::Value::String(add_to_word(&word, "1"));
    });
    rejected(&changed, "ProofRejected");
    let foreign = write_variant(&other_proof, "foreign", |v| {
        v["model_id"] = artifact["model_id"].clone()
    });
    rejected(&foreign, "WrongProofLength");

    // Non-canonical scalars sent directly: an instance + r to the oracle, and an accumulator
    // limb + r (same value mod r) to the verifier.
    let signer: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(anvil.url.parse().unwrap());
    let (model_id, proof_bytes, words) = proof_parts(&artifact);
    let r = U256::from_str_radix(R, 16).unwrap();
    let oracle = Oracle::new(oracle_addr.parse().unwrap(), &provider);
    let mut shifted = words.clone();
    shifted[0] += r;
    let err = oracle
        .submitInference(model_id, Bytes::from(proof_bytes.clone()), shifted)
        .call()
        .await
        .unwrap_err();
    assert!(err.as_revert_data().is_some(), "{err}");
    let verifier: Address = deployed["verifier"].as_str().unwrap().parse().unwrap();
    let call = |proof: &[u8]| {
        let mut data: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes::<32>()).collect();
        data.extend_from_slice(proof);
        alloy::rpc::types::TransactionRequest::default()
            .to(verifier)
            .input(Bytes::from(data).into())
    };
    let one = provider.call(call(&proof_bytes)).await;
    assert_eq!(
        one.map(|r| r.to_vec()).ok(),
        Some(U256::from(1u64).to_be_bytes::<32>().to_vec()),
        "the verifier does not return 1 for the honest aggregated proof"
    );
    let mut limb_plus_r = proof_bytes.clone();
    let first = U256::from_be_slice(&limb_plus_r[..32]);
    limb_plus_r[..32].copy_from_slice(&(first + r).to_be_bytes::<32>());
    assert!(
        provider.call(call(&limb_plus_r)).await.is_err(),
        "verifier accepted an accumulator limb + r"
    );

    // The honest aggregated proof: accepted in one transaction, credited to its subject.
    let accepted = submit_json(&proof, &anvil.url, &oracle_addr, ANVIL_KEY);
    let gas = accepted["gas_used"].as_u64().unwrap();
    eprintln!("aggregated proof accepted: {gas} gas");
    assert!(gas > 200_000 && gas < 2_000_000, "gas {gas}");
    assert_eq!(accepted["outputs"][0].as_f64().unwrap(), score);
    rejected(&proof, "StatementAlreadyUsed");

    // The lending pool reads it like any model's score.
    let pool = Lending::new(lending_addr, &provider);
    let expected_ltv = (5000.0 + 1000.0 * score).clamp(0.0, 8000.0).floor() as u64;
    let me: Address = ANVIL_ADDR.parse().unwrap();
    assert_eq!(
        pool.ltvBps(me).call().await.unwrap(),
        U256::from(expected_ltv)
    );
    // Edited or stale aggregation keys are refused by every command that relies on them, with
    // the fix; each file is restored after.
    let keys_json = format!("{build}/aggregation/keys.json");
    let segment_keys = format!("{build}/segment-1/keys.json");
    let vk_bin = format!("{build}/aggregation/vk.bin");
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let edits: [(&str, &str, Edit); 3] = [
        (
            &keys_json,
            "inconsistent (edited?)",
            Box::new(|b| {
                let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
                v["num_instances"] = (v["num_instances"].as_u64().unwrap() + 1).into();
                *b = v.to_string().into_bytes();
            }),
        ),
        // A segment's keys made again (another fingerprint): the aggregation key is stale.
        (
            &segment_keys,
            "stale",
            Box::new(|b| {
                let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
                v["vk_sha256"] = "00".repeat(32).into();
                *b = v.to_string().into_bytes();
            }),
        ),
        (
            &vk_bin,
            "vk.bin",
            Box::new(|b| {
                let at = b.len() - 1;
                b[at] ^= 1;
            }),
        ),
    ];
    for (file, reason, edit) in &edits {
        let original = std::fs::read(file).unwrap();
        let mut bytes = original.clone();
        edit(&mut bytes);
        std::fs::write(file, &bytes).unwrap();
        for args in [
            vec!["verify", &build, &proof],
            vec!["codegen", &build, "-o", path(&dir.join("V3.sol"))],
        ] {
            let (code, err) = failure(&args);
            assert_eq!(code, 1, "{args:?}: {err}");
            assert!(err.contains(reason), "{file} edited, {args:?}: {err}");
            // A changed key is caught by its fingerprint, or cannot be read at all.
            assert!(
                !file.ends_with("vk.bin")
                    || err.contains("fingerprint differs")
                    || err.contains("unreadable"),
                "{err}"
            );
        }
        std::fs::write(file, &original).unwrap();
    }
    let verified = zkinfer_json(&["verify", &build, &proof]);
    assert_eq!(verified["valid"], true, "restored keys: {verified}");

    // `setup --no-aggregation` removes the aggregation keys (they would be stale beside new
    // segment keys): on-chain commands then refuse the build.
    zkinfer_json(&["setup", &build, "--dev-srs", "--no-aggregation"]);
    let (code, err) = failure(&["codegen", &build, "-o", path(&dir.join("V2.sol"))]);
    assert_eq!(code, 1);
    assert!(err.contains("without aggregation keys"), "{err}");
}

/// A segmented model with hashed inputs, deployed with an attester: the oracle binds the
/// aggregated proof's input commitment (the first segment's) to the subject's registered one and
/// to the attester's vouching, computed by `commitment` and `attest` on the segmented build.
#[tokio::test(flavor = "multi_thread")]
async fn hashed_inputs_of_a_segmented_model_are_committed_and_attested() {
    let dir = scratch("segmented-hashed");
    let build = dir.join("build");
    compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &build,
        &["--segments", "2", "--input-visibility", "hashed"],
    );
    let build = path(&build).to_string();
    // --aggregation-k 19: a flat aggregation too wide there (about 12 advice columns) is made at
    // the root's k, one above: k 20, a faster aggregation proof than the default's (k 21, 3
    // columns), for more columns and verifier gas.
    let setup = zkinfer_json(&["setup", &build, "--dev-srs", "--aggregation-k", "19"]);
    assert_eq!(setup["aggregation"]["k"], 20, "{setup}");
    assert_eq!(setup["aggregation"]["arity"], 0, "{setup}");
    assert_eq!(
        setup["aggregation"]["node_k"],
        serde_json::Value::Null,
        "{setup}"
    );
    // Run again, with the same flag or none: up to date at k 20 (its keys are not made again).
    let vk = std::path::Path::new(&build).join("aggregation/vk.bin");
    let made = std::fs::metadata(&vk).unwrap().modified().unwrap();
    for flags in [&["--aggregation-k", "19"][..], &[]] {
        let again = zkinfer_json(&[&["setup", &build, "--dev-srs"][..], flags].concat());
        assert_eq!(again["aggregation"]["k"], 20, "{again}");
        assert_eq!(std::fs::metadata(&vk).unwrap().modified().unwrap(), made);
    }
    let mut salted = read_json(&example("input.json"));
    salted["salt"] = serde_json::json!("0x5a17");
    salted["subject"] = serde_json::json!(ANVIL_ADDR);
    let input = path(&dir.join("input.json")).to_string();
    std::fs::write(&input, salted.to_string()).unwrap();
    let proof = path(&dir.join("proof.json")).to_string();
    let outputs = path(&dir.join("outputs.json")).to_string();
    let proved = zkinfer_json(&[
        "prove",
        &build,
        "--input",
        &input,
        "-o",
        &proof,
        "--outputs",
        &outputs,
    ]);
    assert_eq!(proved["aggregated"], true);
    // `--outputs` holds the proven outputs (public here, so also in the proof file).
    assert_eq!(read_json(&outputs)["output_data"], proved["output_data"]);
    let artifact = read_json(&proof);
    // The statement: the input commitment, the score, the subject.
    assert_eq!(artifact["instances"].as_array().unwrap().len(), 3);
    let offline = zkinfer_json(&["commitment", &build, "--input", &input]);
    assert_eq!(offline["inputs"], artifact["instances"][0], "{offline}");

    let anvil = Anvil::start();
    let deployed = deploy(&build, &anvil.url, &["--attester", ANVIL_ADDR_2]);
    let oracle = deployed["oracle"].as_str().unwrap().to_string();
    let refused = |reason: &str| {
        let out = submit(&proof, &anvil.url, &oracle, ANVIL_KEY);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted, expected {reason}");
        assert!(stderr.contains(reason), "expected {reason}, got {stderr}");
    };
    refused("InputNotCommitted");
    let committed = zkinfer_json(&[
        "commitment",
        &build,
        "--input",
        &input,
        "--consumer",
        &oracle,
        "--rpc-url",
        &anvil.url,
        "--private-key",
        ANVIL_KEY,
    ]);
    assert_eq!(committed["inputs"], artifact["instances"][0]);
    refused("NoAttestation");
    let attested = zkinfer_json(&attest_args(
        &build,
        &input,
        ANVIL_ADDR,
        &anvil.url,
        &oracle,
        ANVIL_KEY_2,
    ));
    assert!(attested["attestation_id"].as_u64().is_some(), "{attested}");
    // Committed and attested: the aggregated proof is taken, credited to its subject.
    let accepted = submit_json(&proof, &anvil.url, &oracle, ANVIL_KEY);
    assert_eq!(
        accepted["subject"].as_str().unwrap().to_lowercase(),
        ANVIL_ADDR.to_lowercase()
    );
    assert_eq!(
        accepted["outputs"][0].as_f64().unwrap(),
        proved["output_data"][0][0].as_f64().unwrap()
    );
}
