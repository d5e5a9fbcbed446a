//! Privacy on a real anvil. Every visibility combination (inputs and outputs public, private or
//! hashed; parameters fixed or hashed) verifies on the reusable verifier and a changed instance does
//! not. A hashed-input model binds proofs to the subject's committed data: Alice commits and
//! proves; Bob cannot register Alice's commitment as his, a proof of Alice's data naming Bob is
//! refused, and Bob front-running Alice's proof only credits Alice; Alice's inputs appear nowhere
//! in the calldata.
//! A hashed-parameter model is pinned to its published commitment: a proof made with other weights
//! under the same keys is refused (ParamCommitmentMismatch).

mod support;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use support::*;

use zkinfer_cli::contracts::ReusableHalo2Verifier;
/// compile with the given visibility (+ dev setup + prove with `input`).
fn build_with(name: &str, inputs: &str, outputs: &str, input: &str) -> (String, String) {
    build_params(name, inputs, outputs, "fixed", input)
}

fn build_params(
    name: &str,
    inputs: &str,
    outputs: &str,
    params: &str,
    input: &str,
) -> (String, String) {
    let (build, proof, _) = build_and_prove_model(
        name,
        &example("model.onnx"),
        &example("calibration.json"),
        input,
        &[
            "--input-visibility",
            inputs,
            "--output-visibility",
            outputs,
            "--param-visibility",
            params,
        ],
    );
    (build, proof)
}

/// The example input with a salt (and its first feature shifted by `bump`).
fn salted_input(name: &str, salt: &str, bump: f64) -> String {
    let mut v = read_json(&example("input.json"));
    let x = v["input_data"][0][0].as_f64().unwrap();
    v["input_data"][0][0] = serde_json::json!(x + bump);
    v["salt"] = serde_json::json!(salt);
    let file = scratch(name).keep().join("input.json");
    std::fs::write(&file, v.to_string()).unwrap();
    path(&file).to_string()
}

fn words(proof: &serde_json::Value) -> Vec<U256> {
    proof["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| U256::from_str_radix(&w.as_str().unwrap()[2..], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_visibility_verifies_on_chain_and_hashed_inputs_bind_to_the_subject() {
    let anvil = Anvil::start();
    let provider = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(
            ANVIL_KEY
                .parse::<alloy::signers::local::PrivateKeySigner>()
                .unwrap(),
        ))
        .connect_http(anvil.url.parse().unwrap());
    let alice_input = salted_input("privacy_alice", "0x5a17a11ce", 0.0);

    // All nine combinations on one reusable verifier.
    let mut reusable: Option<Address> = None;
    for inputs in ["public", "private", "hashed"] {
        for (outputs, params) in ["public", "private", "hashed"]
            .into_iter()
            .flat_map(|o| ["fixed", "hashed"].map(|p| (o, p)))
        {
            let name = format!("privacy_{inputs}_{outputs}_{params}");
            let (build, proof_file) = build_params(&name, inputs, outputs, params, &alice_input);
            let sol = std::path::Path::new(&build)
                .parent()
                .unwrap()
                .join("Halo2Verifier.sol");
            let generated = zkinfer_json(&[
                "codegen",
                &build,
                "--verifier",
                "reusable",
                "-o",
                path(&sol),
            ]);
            let deploy = |bin: &str| {
                let code = hex::decode(std::fs::read_to_string(bin).unwrap().trim()).unwrap();
                let provider = provider.clone();
                async move {
                    let tx = TransactionRequest::default().with_deploy_code(Bytes::from(code));
                    let receipt = provider
                        .send_transaction(tx)
                        .await
                        .unwrap()
                        .get_receipt()
                        .await
                        .unwrap();
                    receipt.contract_address.unwrap()
                }
            };
            if reusable.is_none() {
                reusable = Some(deploy(path(&sol.with_extension("bin"))).await);
            }
            let key_file = generated["key"].as_str().unwrap().replace(".sol", ".bin");
            let key = deploy(&key_file).await;
            let verifier = ReusableHalo2Verifier::new(reusable.unwrap(), &provider);
            let proof = read_json(&proof_file);
            let bytes = Bytes::from(hex::decode(&proof["proof"].as_str().unwrap()[2..]).unwrap());
            let instances = words(&proof);
            let ok = verifier
                .verifyProof(key, bytes.clone(), instances.clone())
                .call()
                .await;
            assert!(
                matches!(ok, Ok(true)),
                "{name}: honest proof rejected: {ok:?}"
            );
            if let Some(last) = instances.len().checked_sub(1) {
                let mut changed = instances.clone();
                changed[last] += U256::from(1u64);
                let bad = verifier.verifyProof(key, bytes, changed).call().await;
                assert!(bad.is_err(), "{name}: changed instance accepted");
            }
        }
    }

    // Binding: a hashed-input model through the oracle.
    let (build, alice_proof) = build_with("privacy_bind", "hashed", "public", &alice_input);
    let bob_input = salted_input("privacy_bob", "0xb0b", 0.5);
    let deployed = deploy(&build, &anvil.url, &[]);
    let oracle = deployed["oracle"].as_str().unwrap().to_string();
    for (input, key) in [(&alice_input, ANVIL_KEY), (&bob_input, ANVIL_KEY_2)] {
        let c = zkinfer_json(&[
            "commitment",
            &build,
            "--input",
            input,
            "--consumer",
            &oracle,
            "--rpc-url",
            &anvil.url,
            "--private-key",
            key,
        ]);
        assert!(c["gas_used"].as_u64().unwrap() > 21_000);
    }
    // A proof about Alice's data that names Bob: Bob's commitment is of other data.
    let for_bob = format!("{alice_proof}.bob.json");
    zkinfer_json(&[
        "prove",
        &build,
        "--input",
        &alice_input,
        "-o",
        &for_bob,
        "--subject",
        ANVIL_ADDR_2,
    ]);
    let bob = submit(&for_bob, &anvil.url, &oracle, ANVIL_KEY_2);
    assert!(
        !bob.status.success(),
        "Bob was credited a proof about Alice's data"
    );
    assert!(String::from_utf8_lossy(&bob.stderr).contains("InputNotCommitted"));
    // Bob copies Alice's commitment from the chain and registers it as his: allowed, and useless
    // to him (below: a proof about it naming Bob needs Alice's data, and Alice's proof credits
    // Alice).
    let copied = zkinfer(&[
        "commitment",
        &build,
        "--input",
        &alice_input,
        "--consumer",
        &oracle,
        "--rpc-url",
        &anvil.url,
        "--private-key",
        ANVIL_KEY_2,
    ]);
    assert!(copied.status.success());
    // Bob front-runs Alice's own proof: accepted, and credited to Alice, its subject.
    let alice = submit_json(&alice_proof, &anvil.url, &oracle, ANVIL_KEY_2);
    assert_eq!(
        alice["subject"].as_str().unwrap().to_lowercase(),
        ANVIL_ADDR.to_lowercase()
    );
    let expected = read_json(&alice_proof)["output_data"][0][0]
        .as_f64()
        .unwrap();
    assert_eq!(alice["outputs"][0].as_f64().unwrap(), expected);
    let model_id = read_json(&alice_proof)["model_id"]
        .as_str()
        .unwrap()
        .to_string();
    let bobs = zkinfer(&read_args(&anvil.url, &oracle, &model_id, ANVIL_ADDR_2));
    assert!(!bobs.status.success(), "Bob holds an output");
    let again = submit(&alice_proof, &anvil.url, &oracle, ANVIL_KEY);
    assert!(String::from_utf8_lossy(&again.stderr).contains("StatementAlreadyUsed"));

    // A private model: the oracle is pinned to the published parameter commitment.
    let (build, honest) = build_params("privacy_model", "public", "public", "hashed", &alice_input);
    let deployed = deploy(&build, &anvil.url, &[]);
    let pinned_oracle = deployed["oracle"].as_str().unwrap().to_string();
    let model_file = std::path::Path::new(&build).join("model.json");
    let mut model = read_json(path(&model_file));
    // The last layer's first bias, one step up.
    let nodes = model["model"]["nodes"].as_array_mut().unwrap();
    let last = nodes
        .iter()
        .rposition(|n| n["op"].get("Dense").is_some() || n["op"].get("Linear").is_some())
        .unwrap();
    let op = nodes[last]["op"].as_object_mut().unwrap();
    let layer = op.values_mut().next().unwrap();
    let bias = layer["bias"][0].as_i64().unwrap();
    layer["bias"][0] = serde_json::json!(bias + 1);
    std::fs::write(&model_file, model.to_string()).unwrap();
    // The CLI refuses a model.json that no longer hashes to its build's model id; a dishonest
    // prover edits the ids too, and submits under the registered model's id.
    let not_written = format!("{honest}.refused.json");
    let refused = zkinfer(&["prove", &build, "--input", &alice_input, "-o", &not_written]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("does not match the settings"));
    assert!(!std::path::Path::new(&not_written).exists());
    let edited: zkinfer_prover::quantize::QuantizedModel =
        serde_json::from_value(model["model"].clone()).unwrap();
    let settings_file = std::path::Path::new(&build).join("settings.json");
    let circuit: zkinfer_prover::circuit::CircuitParams =
        serde_json::from_value(read_json(path(&settings_file))["circuit"].clone()).unwrap();
    let edited_id = zkinfer_prover::pipeline::model_id(&edited, &circuit);
    for file in ["settings.json", "keys.json"] {
        let file = std::path::Path::new(&build).join(file);
        let mut v = read_json(path(&file));
        v["model_id"] = serde_json::json!(edited_id);
        std::fs::write(&file, v.to_string()).unwrap();
    }
    let forged = format!("{honest}.forged.json");
    zkinfer_json(&["prove", &build, "--input", &alice_input, "-o", &forged]);
    assert!(
        zkinfer(&["verify", &build, &forged]).status.success(),
        "other weights verify under the same keys"
    );
    let registered = read_json(&honest)["model_id"].clone();
    let forged = write_variant(&forged, "registered", |p| p["model_id"] = registered);
    let pinned_submit = |file: &str| submit(file, &anvil.url, &pinned_oracle, ANVIL_KEY);
    let refused = pinned_submit(&forged);
    assert!(
        !refused.status.success(),
        "the oracle accepted other weights"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("ParamCommitmentMismatch"));
    assert!(
        pinned_submit(&honest).status.success(),
        "the committed model was refused"
    );

    // Alice's packed inputs (the instances of a public-input build) are not in her calldata.
    let (_, public_proof) = build_with("privacy_public_ref", "public", "public", &alice_input);
    let public = read_json(&public_proof);
    let n = public["num_inputs"].as_u64().unwrap() as usize;
    let hash: alloy::primitives::TxHash = alice["tx_hash"].as_str().unwrap().parse().unwrap();
    let tx = provider
        .get_transaction_by_hash(hash)
        .await
        .unwrap()
        .unwrap();
    let input = alloy::consensus::Transaction::input(&tx).clone();
    let calldata = hex::encode(&input);
    assert!(
        calldata.contains(&read_json(&alice_proof)["proof"].as_str().unwrap()[2..]),
        "not the submit tx"
    );
    for word in &public["instances"].as_array().unwrap()[..n] {
        assert!(
            !calldata.contains(&word.as_str().unwrap()[2..]),
            "a packed input word is in the calldata"
        );
    }
}
