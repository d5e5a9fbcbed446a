//! End to end on a real anvil: the bundled credit-risk model is compiled, proven, its verifier
//! generated and deployed with the oracle and lending pool; the valid proof is accepted and the
//! pool lends on the verified score; tampered, foreign, non-canonical and replayed proofs are not.

mod support;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use serde_json::Value;
use support::*;

sol! {
    #[sol(rpc)]
    contract Oracle {
        function submitInference(bytes32 modelId, bytes calldata proof, uint256[] calldata instances) external returns (int256[] memory outputs);
        error InstanceNotInField(uint256 index);
        error ProofRejected();
    }
    #[sol(rpc)]
    contract Lending {
        function depositCollateral() external payable;
        function ltvBps(address borrower) external view returns (uint256);
        function creditLimit(address borrower) external view returns (uint256);
        function borrow(uint256 amount) external;
        function debt(address borrower) external view returns (uint256);
    }
}

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
    let rejected = |file: &str, reason: &str| {
        let out = submit(file, &anvil.url, &oracle_addr, ANVIL_KEY_2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{file} accepted");
        assert!(
            stderr.contains(reason),
            "{file}: expected {reason}, got {stderr}"
        );
    };

    // Tampered proofs first, from a second account, so nothing is stored for it.
    let flipped = write_variant(&proof, "flipped", |v| {
        let mut bytes = hex::decode(&v["proof"].as_str().unwrap()[2..]).unwrap();
        bytes[100] ^= 1;
        v["proof"] = Value::String(format!("0x{}", hex::encode(bytes)));
    });
    rejected(&flipped, "ProofRejected");
    let changed = write_variant(&proof, "changed", |v| {
        let last = v["instances"].as_array().unwrap().len() - 1;
        let word = v["instances"][last].as_str().unwrap().to_string();
        v["instances"][last] = Value::String(add_to_word(&word, "1"));
    });
    rejected(&changed, "ProofRejected");
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
    let model_id: B256 = artifact["model_id"].as_str().unwrap().parse().unwrap();
    let proof_bytes = hex::decode(&artifact["proof"].as_str().unwrap()[2..]).unwrap();
    let words: Vec<U256> = artifact["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| U256::from_str_radix(&w.as_str().unwrap()[2..], 16).unwrap())
        .collect();
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
    assert!(
        provider.call(call(&words, &proof_bytes)).await.is_ok(),
        "the verifier rejects the honest proof"
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

    // The honest proof is accepted; the stored output is the proof's output.
    let accepted = submit_json(&proof, &anvil.url, &oracle_addr, ANVIL_KEY);
    let gas = accepted["gas_used"].as_u64().unwrap();
    assert!(gas > 200_000 && gas < 1_000_000, "gas {gas}");
    assert_eq!(accepted["outputs"][0].as_f64().unwrap(), score);
    rejected(&proof, "ProofAlreadyUsed");

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
