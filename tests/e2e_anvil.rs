//! End to end on a real anvil: the bundled credit-risk model is compiled, proven, its verifier
//! generated and deployed with the oracle and lending pool; the valid proof is accepted (sent by a
//! relayer, credited to the subject it names) and the pool lends on the verified score; tampered,
//! padded, foreign, non-canonical and replayed proofs are not. With attested inputs, only data a
//! granted provider vouched for is accepted, and the score's age is the attestation's.

mod support;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use serde_json::Value;
use support::*;

use zkinfer_cli::contracts::{RiskAdjustedLending as Lending, VerifiedInferenceOracle as Oracle};
#[tokio::test(flavor = "multi_thread")]
async fn proof_is_accepted_on_anvil_and_tampering_is_rejected() {
    let (build, proof) = build_and_prove("main", "13");
    let (other_build, other_proof) = build_and_prove("other", "12");
    assert!(zkinfer(&["verify", &build, &proof]).status.success());
    assert!(zkinfer(&["verify", &other_build, &other_proof])
        .status
        .success());
    let artifact = read_json(&proof);
    let score = artifact["output_data"][0][0].as_f64().unwrap();

    let anvil = Anvil::start();
    // The model-specific contract, called with raw calldata below.
    let deployed = deploy(&build, &anvil.url, &["--verifier", "snark-verifier"]);
    let oracle_addr = deployed["oracle"].as_str().unwrap().to_string();
    let lending_addr: Address = deployed["lending"].as_str().unwrap().parse().unwrap();
    assert!(deployed["verifier_runtime_bytes"].as_u64().unwrap() <= 24_576);
    let rejected_from = |file: &str, key: &str, reason: &str| {
        let out = submit(file, &anvil.url, &oracle_addr, key);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} accepted");
        assert!(
            stderr.contains(reason),
            "{file}: expected {reason}, got {stderr}"
        );
    };
    // From the proof's subject (the first account): only it may submit to a plain model.
    let rejected = |file: &str, reason: &str| rejected_from(file, ANVIL_KEY, reason);

    // An address without code as the oracle: named, nothing sent.
    let out = submit(&proof, &anvil.url, ANVIL_ADDR_2, ANVIL_KEY);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("no contract at"),
        "{stderr}"
    );

    // Tampered proofs first: each is rejected, nothing is stored.
    let flipped = write_variant(&proof, "flipped", |v| {
        let mut bytes = hex::decode(&v["proof"].as_str().unwrap()[2..]).unwrap();
        bytes[100] ^= 1;
        v["proof"] = Value::String(format!("0x{}", hex::encode(bytes)));
    });
    rejected(&flipped, "ProofRejected");
    // A changed output, and the proof claimed for another subject (the sender's own address).
    let output = artifact["instances"].as_array().unwrap().len() - 2;
    let changed = write_variant(&proof, "changed", |v| {
        let word = v["instances"][output].as_str().unwrap().to_string();
        v["instances"][output] = Value::String(add_to_word(&word, "1"));
    });
    rejected(&changed, "ProofRejected");
    let stolen = write_variant(&proof, "stolen", |v| {
        let me = ANVIL_ADDR_2.trim_start_matches("0x").to_lowercase();
        v["instances"][output + 1] = Value::String(format!("0x{me:0>64}"));
    });
    rejected_from(&stolen, ANVIL_KEY_2, "ProofRejected");
    // Padded: the same proof with a byte more is no new proof.
    let padded = with_proof_bytes(&proof, "padded", |b| b.push(0));
    rejected(&padded, "WrongProofLength");
    let foreign = write_variant(&other_proof, "foreign", |v| {
        v["model_id"] = artifact["model_id"].clone()
    });
    rejected(&foreign, "ProofRejected");
    let unknown = write_variant(&other_proof, "unknown", |v| v["proof"] = v["proof"].clone());
    rejected(&unknown, "UnknownModel");

    // Non-canonical scalars, sent directly: to the oracle, and to the verifier itself.
    let signer: PrivateKeySigner = ANVIL_KEY_2.parse().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(anvil.url.parse().unwrap());
    let (model_id, proof_bytes, words) = proof_parts(&artifact);
    let r = U256::from_str_radix(R, 16).unwrap();
    let oracle = Oracle::new(oracle_addr.parse().unwrap(), &provider);
    let mut shifted = words.clone();
    shifted[0] += r;
    let err = oracle
        .submitInference(model_id, Bytes::from(proof_bytes.clone()), shifted.clone())
        .call()
        .await
        .unwrap_err();
    let data = err.as_revert_data().expect("revert data");
    assert!(data.starts_with(
        &alloy::sol_types::SolError::abi_encode(&Oracle::InstanceNotInField { index: U256::ZERO })
            [..4]
    ));
    let verifier: Address = deployed["verifier"].as_str().unwrap().parse().unwrap();
    let call = |instances: &[U256], proof: &[u8]| {
        let mut data: Vec<u8> = instances
            .iter()
            .flat_map(|w| w.to_be_bytes::<32>())
            .collect();
        data.extend_from_slice(proof);
        alloy::rpc::types::TransactionRequest::default()
            .to(verifier)
            .input(Bytes::from(data).into())
    };
    let one = provider.call(call(&words, &proof_bytes)).await;
    assert_eq!(
        one.map(|r| r.to_vec()).ok(),
        Some(U256::from(1u64).to_be_bytes::<32>().to_vec()),
        "the verifier does not return 1 for the honest proof"
    );
    let mut padded_bytes = proof_bytes.clone();
    padded_bytes.push(0);
    assert!(
        provider.call(call(&words, &padded_bytes)).await.is_err(),
        "verifier accepted a padded proof"
    );
    assert!(
        provider.call(call(&shifted, &proof_bytes)).await.is_err(),
        "verifier accepted instance + r"
    );
    // The last evaluation (a scalar) sits just before the two final opening points.
    let mut malleated = proof_bytes.clone();
    let at = malleated.len() - 128 - 32;
    let eval = U256::from_be_slice(&malleated[at..at + 32]);
    malleated[at..at + 32].copy_from_slice(&(eval + r).to_be_bytes::<32>());
    assert!(
        provider.call(call(&words, &malleated)).await.is_err(),
        "verifier accepted evaluation + r"
    );
    assert!(
        provider
            .call(call(&words[1..], &proof_bytes))
            .await
            .is_err(),
        "verifier accepted a short instance list"
    );

    // Another account sending the honest proof (a front-runner copying the calldata, or a
    // relayer) is refused on a model whose inputs nobody pinned: it could overwrite the
    // subject's score with made-up inputs. The subject itself is accepted; the stored output is
    // the proof's output, credited to the subject.
    rejected_from(&proof, ANVIL_KEY_2, "send with the subject's key");
    let accepted = submit_json(&proof, &anvil.url, &oracle_addr, ANVIL_KEY);
    let gas = accepted["gas_used"].as_u64().unwrap();
    assert!(gas > 200_000 && gas < 1_000_000, "gas {gas}");
    assert_eq!(accepted["outputs"][0].as_f64().unwrap(), score);
    assert_eq!(
        accepted["subject"].as_str().unwrap().to_lowercase(),
        ANVIL_ADDR.to_lowercase()
    );
    rejected(&proof, "StatementAlreadyUsed");
    rejected(&padded, "WrongProofLength");
    let nothing = zkinfer(&read_args(
        &anvil.url,
        &oracle_addr,
        artifact["model_id"].as_str().unwrap(),
        ANVIL_ADDR_2,
    ));
    assert!(
        !nothing.status.success(),
        "another account was credited the subject's output"
    );

    // The lending pool acts on the verified score.
    let borrower: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
    let me = borrower.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(borrower))
        .connect_http(anvil.url.parse().unwrap());
    let pool = Lending::new(lending_addr, &provider);
    let expected_ltv = (5000.0 + 1000.0 * score).clamp(0.0, 8000.0).floor() as u64;
    assert_eq!(
        pool.ltvBps(me).call().await.unwrap(),
        U256::from(expected_ltv)
    );
    let ten = U256::from(10u64).pow(U256::from(19)); // 10 ETH
    pool.depositCollateral()
        .value(ten)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let limit = pool.creditLimit(me).call().await.unwrap();
    assert_eq!(
        limit,
        ten * U256::from(expected_ltv) / U256::from(10_000u64)
    );
    pool.borrow(limit)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(pool.debt(me).call().await.unwrap(), limit);
    let over = pool.borrow(U256::from(1u64)).call().await;
    assert!(over.is_err(), "borrowing past the verified limit succeeded");

    let read = zkinfer_json(&[
        "read",
        "--rpc-url",
        &anvil.url,
        "--consumer",
        &oracle_addr,
        "--model-id",
        artifact["model_id"].as_str().unwrap(),
        "--subject",
        &format!("{me:#x}"),
        "--lending",
        &format!("{lending_addr:#x}"),
    ]);
    assert_eq!(read["ltv_bps"].as_u64().unwrap(), expected_ltv);
    let _ = provider.get_block_number().await.unwrap();
}

/// `zkinfer attest BUILD --input INPUT --subject SUBJECT` from `key`; the output.
fn attest(
    build: &str,
    input: &str,
    subject: &str,
    url: &str,
    oracle: &str,
    key: &str,
) -> std::process::Output {
    zkinfer(
        &[
            &["--json"][..],
            &attest_args(build, input, subject, url, oracle, key),
        ]
        .concat(),
    )
}

/// Mines `n` empty blocks on anvil.
async fn mine(provider: &impl Provider, n: u64) {
    provider
        .raw_request::<_, Value>("anvil_mine".into(), (format!("{n:#x}"),))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn attested_inputs_are_required_and_the_score_ages_from_its_attestation() {
    let (build, proof) = build_and_prove("attested", "13");
    let anvil = Anvil::start();
    // The provider is the second account; attestations last 5 blocks, scores 20.
    let deployed = deploy(
        &build,
        &anvil.url,
        &[
            "--attester",
            ANVIL_ADDR_2,
            "--attestation-max-age",
            "5",
            "--max-score-age",
            "20",
        ],
    );
    let oracle = deployed["oracle"].as_str().unwrap().to_string();
    let lending: Address = deployed["lending"].as_str().unwrap().parse().unwrap();
    let refused = |reason: &str| {
        let out = submit(&proof, &anvil.url, &oracle, ANVIL_KEY);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted, expected {reason}");
        assert!(stderr.contains(reason), "expected {reason}, got {stderr}");
    };
    let owner: PrivateKeySigner = ANVIL_KEY.parse().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(owner))
        .connect_http(anvil.url.parse().unwrap());

    // Nobody vouched for the data yet.
    refused("NoAttestation");
    // The subject cannot vouch for itself.
    let own = attest(
        &build,
        &example("input.json"),
        ANVIL_ADDR,
        &anvil.url,
        &oracle,
        ANVIL_KEY,
    );
    assert!(!own.status.success());
    assert!(String::from_utf8_lossy(&own.stderr).contains("NotAttester"));
    // The provider vouches for other data than the proof's.
    let dir = scratch("attested-inputs");
    let other_input = dir.join("other.json");
    let mut other = read_json(&example("input.json"));
    other["input_data"][0][0] =
        serde_json::json!(other["input_data"][0][0].as_f64().unwrap() + 0.25);
    std::fs::write(&other_input, other.to_string()).unwrap();
    let ok = attest(
        &build,
        path(&other_input),
        ANVIL_ADDR,
        &anvil.url,
        &oracle,
        ANVIL_KEY_2,
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    refused("InputNotAttested");

    // The provider vouches for the proof's data: accepted, and the score is as old as the
    // attestation, not the submission.
    let attested = attest(
        &build,
        &example("input.json"),
        ANVIL_ADDR,
        &anvil.url,
        &oracle,
        ANVIL_KEY_2,
    );
    assert!(attested.status.success());
    let attested: Value = serde_json::from_slice(&attested.stdout).unwrap();
    let attested_at = attested["block"].as_u64().unwrap();
    mine(&provider, 3).await;
    // A relayer (the third account) submits it: the output is the subject's.
    let accepted = submit_json(&proof, &anvil.url, &oracle, ANVIL_KEY_3);
    assert!(accepted["block"].as_u64().unwrap() > attested_at);
    assert_eq!(
        accepted["subject"].as_str().unwrap().to_lowercase(),
        ANVIL_ADDR.to_lowercase()
    );
    let read = zkinfer_json(&read_args(
        &anvil.url,
        &oracle,
        read_json(&proof)["model_id"].as_str().unwrap(),
        ANVIL_ADDR,
    ));
    assert_eq!(read["block"].as_u64().unwrap(), attested_at);
    // The same attestation serves one submission.
    refused("StatementAlreadyUsed");
    let pool = Lending::new(lending, &provider);
    let me: Address = ANVIL_ADDR.parse().unwrap();
    assert!(pool.ltvBps(me).call().await.is_ok());
    // 20 blocks after the attestation (not the submission) the score is stale.
    let now = provider.get_block_number().await.unwrap();
    mine(&provider, attested_at + 21 - now).await;
    assert!(
        pool.ltvBps(me).call().await.is_err(),
        "a score older than its attestation's age limit was used"
    );

    // A fresh attestation, then left to go stale: refused.
    let again = attest(
        &build,
        &example("input.json"),
        ANVIL_ADDR,
        &anvil.url,
        &oracle,
        ANVIL_KEY_2,
    );
    assert!(again.status.success());
    mine(&provider, 6).await;
    refused("AttestationStale");
    // A fresh attestation by a provider whose role was revoked: refused.
    let fresh = attest(
        &build,
        &example("input.json"),
        ANVIL_ADDR,
        &anvil.url,
        &oracle,
        ANVIL_KEY_2,
    );
    assert!(fresh.status.success());
    Oracle::new(oracle.parse().unwrap(), &provider)
        .revokeAttester(ANVIL_ADDR_2.parse().unwrap())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    refused("AttesterRevoked");
}

/// The forge tests run the oracle against the real verifiers and proof in
/// `contracts/test/fixtures/CreditRiskFixture.sol`. Regenerated from the current build, every
/// line but the (randomized) proof must be the same: keys, verifiers, model id and instances.
/// Stale after a circuit or codegen change: run `scripts/forge-fixture.sh`.
#[test]
fn forge_fixture_matches_the_current_build() {
    let scratch = scratch("forge-fixture");
    let fresh = scratch.join("CreditRiskFixture.sol");
    let out = std::process::Command::new("bash")
        .arg(root().join("scripts/forge-fixture.sh"))
        .arg(&fresh)
        .env("ZKINFER_BIN", env!("CARGO_BIN_EXE_zkinfer"))
        .env("ZKINFER_SOLC", tool("solc"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "forge-fixture.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked_in = root().join("contracts/test/fixtures/CreditRiskFixture.sol");
    let lines = |p: &std::path::Path| -> Vec<String> {
        let text = std::fs::read_to_string(p).unwrap();
        let mut in_proof = false;
        text.lines()
            .filter(|l| {
                // The proof's body (the line after `function proof()`) is random.
                let skip = in_proof;
                in_proof = l.contains("function proof()");
                !skip
            })
            .map(str::to_string)
            .collect()
    };
    let (want, found) = (lines(&fresh), lines(&checked_in));
    assert_eq!(
        want.len(),
        found.len(),
        "stale fixture: run scripts/forge-fixture.sh"
    );
    for (i, (w, f)) in want.iter().zip(&found).enumerate() {
        assert!(
            w == f,
            "stale fixture at line {}: run scripts/forge-fixture.sh",
            i + 1
        );
    }
}

/// The commands Foundry and EZKL users reach for: `deploy --verifier-only`, `verify-evm`,
/// `encode-calldata`, `--deployment` instead of addresses, `ETH_RPC_URL`, `--keystore` with
/// `--password-file`, completions.
#[tokio::test(flavor = "multi_thread")]
async fn verifier_only_deploys_verify_evm_encode_calldata_and_deployment_files() {
    let (build, proof) = build_and_prove("foundry-style", "13");
    let anvil = Anvil::start();
    let provider = ProviderBuilder::new().connect_http(anvil.url.parse().unwrap());
    let deployment = std::path::Path::new(&build).join("deployment.json");
    let flipped = with_proof_bytes(&proof, "flipped", |b| b[200] ^= 1);
    let one = U256::from(1u64).to_be_bytes::<32>().to_vec();
    for kind in ["reusable", "snark-verifier"] {
        let d = deploy(&build, &anvil.url, &["--verifier-only", "--verifier", kind]);
        assert!(d.get("oracle").is_none(), "{kind}: an oracle was deployed");
        assert_eq!(d["key"].is_string(), kind == "reusable");
        let record = read_json(path(&deployment));
        assert_eq!(record["verifier"], d["verifier"]);
        // verify-evm: valid, then invalid with the reason (the reusable verifier names it).
        let valid = zkinfer_json(&[
            "verify-evm",
            &proof,
            "--rpc-url",
            &anvil.url,
            "--deployment",
            path(&deployment),
        ]);
        assert_eq!(valid["valid"], true, "{kind}");
        let out = zkinfer(&[
            "--json",
            "verify-evm",
            &flipped,
            "--rpc-url",
            &anvil.url,
            "--deployment",
            path(&deployment),
        ]);
        assert_eq!(out.status.code(), Some(1), "{kind}: flipped proof");
        let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(verdict["valid"], false);
        if kind == "reusable" {
            let reason = verdict["reason"].as_str().unwrap();
            assert!(
                reason.contains("PointNotOnCurve") || reason.contains("PairingFailed"),
                "{reason}"
            );
        }
        // encode-calldata: exactly what the verifier takes.
        let verifier: Address = d["verifier"].as_str().unwrap().parse().unwrap();
        let mut args = vec!["encode-calldata", proof.as_str(), "--for", kind];
        let key = d["key"].as_str().unwrap_or_default().to_string();
        if kind == "reusable" {
            args.extend(["--key", key.as_str()]);
        }
        let encoded = zkinfer_json(&args);
        let calldata = hex::decode(&encoded["calldata"].as_str().unwrap()[2..]).unwrap();
        let answer = provider
            .call(
                alloy::rpc::types::TransactionRequest::default()
                    .to(verifier)
                    .input(Bytes::from(calldata).into()),
            )
            .await
            .unwrap();
        assert_eq!(
            answer.to_vec(),
            one,
            "{kind}: encoded calldata not accepted"
        );
    }
    // verify-evm with explicit addresses, and an address without code.
    let out = zkinfer(&[
        "verify-evm",
        &proof,
        "--rpc-url",
        &anvil.url,
        "--verifier",
        ANVIL_ADDR_2,
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no contract at"));

    // The full deployment; submit and read take it instead of addresses, and the RPC URL from
    // ETH_RPC_URL as Foundry's tools do.
    deploy(&build, &anvil.url, &[]);
    let with_env = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_zkinfer"))
            .args(args)
            .env("ETH_RPC_URL", &anvil.url)
            .env("ZKINFER_SOLC", tool("solc"))
            .output()
            .unwrap()
    };
    // The subject's key from an encrypted keystore, as `cast wallet import` writes it.
    let keys = scratch("foundry-style-keystore");
    let imported = std::process::Command::new(tool("cast"))
        .args(["wallet", "import", "subject", "--keystore-dir", path(&keys)])
        .args([
            "--private-key",
            ANVIL_KEY,
            "--unsafe-password",
            "correct horse",
        ])
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let password = keys.join("password.txt");
    std::fs::write(&password, "correct horse\n").unwrap();
    let wrong = keys.join("wrong.txt");
    std::fs::write(&wrong, "battery staple\n").unwrap();
    let keystore = keys.join("subject");
    let submit_with = |password: &std::path::Path| {
        with_env(&[
            "--json",
            "submit",
            &proof,
            "--deployment",
            path(&deployment),
            "--keystore",
            path(&keystore),
            "--password-file",
            path(password),
        ])
    };
    let out = submit_with(&wrong);
    assert!(
        !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("cannot open the keystore"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = submit_with(&password);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = with_env(&[
        "--json",
        "read",
        "--deployment",
        path(&deployment),
        "--subject",
        ANVIL_ADDR,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = read_json(&proof)["output_data"][0][0].as_f64().unwrap();
    assert_eq!(read["outputs"][0].as_f64().unwrap(), expected);
    assert!(
        read["ltv_bps"].as_u64().is_some(),
        "the pool from the deployment file"
    );
    // The calldata for the oracle decodes to the proof file's model, proof and instances.
    let encoded = zkinfer_json(&["encode-calldata", &proof]);
    let calldata = hex::decode(&encoded["calldata"].as_str().unwrap()[2..]).unwrap();
    let call = <Oracle::submitInferenceCall as alloy::sol_types::SolCall>::abi_decode(&calldata)
        .expect("submitInference calldata");
    let file = read_json(&proof);
    let model_id: B256 = file["model_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(call.modelId, model_id);
    assert_eq!(
        hex::encode(&call.proof),
        &file["proof"].as_str().unwrap()[2..]
    );
    assert_eq!(
        call.instances.len(),
        file["instances"].as_array().unwrap().len()
    );
    // Completions for each shell, and no colour codes in logs written to a pipe.
    for shell in ["bash", "zsh", "fish"] {
        let out = zkinfer(&["completions", shell]);
        assert!(out.status.success());
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains("zkinfer") && script.contains("verify-evm"),
            "{shell}"
        );
    }
    let again = format!("{proof}.again.json");
    let out = zkinfer(&[
        "prove",
        &build,
        "--input",
        &example("input.json"),
        "-o",
        &again,
    ]);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("proving"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "colour codes in a pipe: {logs}");
}
