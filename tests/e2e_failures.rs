//! On-chain failure behaviour against a real anvil, through a JSON-RPC proxy that injects one
//! fault each: the RPC going down between sending and the receipt, a nonce taken by another
//! transaction, a failing gas estimate, and a transaction that reverts on chain after the
//! simulation passed. Each time `zkinfer submit` exits non-zero with a reason, the proof file is
//! byte for byte what it was, and the chain's state says whether resubmitting is right.

mod support;

use support::faulty_rpc::{Fault, FaultyRpc};
use support::*;

/// An anvil with the example deployed, and a proof of the example input.
struct Deployed {
    anvil: Anvil,
    oracle: String,
    proof: String,
    proof_bytes: Vec<u8>,
    /// The submitting account: the proof's subject (it is a plain public-input model, where only
    /// the subject may submit).
    key: &'static str,
}

fn deployed(name: &str) -> Deployed {
    let anvil = Anvil::start();
    let (build, proof) = build_and_prove(name, "13");
    let out = deploy(&build, &anvil.url, &[]);
    let proof_bytes = std::fs::read(&proof).unwrap();
    Deployed {
        oracle: out["oracle"].as_str().unwrap().to_string(),
        anvil,
        proof,
        proof_bytes,
        key: ANVIL_KEY,
    }
}

impl Deployed {
    /// `zkinfer submit` through `url`, which must fail; its stderr. The proof file is unchanged.
    fn submit_fails(&self, url: &str) -> String {
        let (code, stderr) = failure(&[
            "submit",
            &self.proof,
            "--rpc-url",
            url,
            "--consumer",
            &self.oracle,
            "--private-key",
            self.key,
            "--receipt-timeout",
            "20",
        ]);
        assert_ne!(code, 0);
        eprintln!("exit {code}: {stderr}");
        assert_eq!(
            std::fs::read(&self.proof).unwrap(),
            self.proof_bytes,
            "the proof file changed"
        );
        stderr
    }

    /// A direct submit (no proxy) succeeds: the proof was not consumed.
    fn resubmit_succeeds(&self) {
        let out = submit_json(&self.proof, &self.anvil.url, &self.oracle, self.key);
        assert!(out["tx_hash"].as_str().unwrap().starts_with("0x"));
    }
}

#[test]
fn rpc_down_after_sending_names_the_transaction_and_the_proof_can_be_checked() {
    let d = deployed("fail-down");
    let proxy = FaultyRpc::start(&d.anvil.url, Fault::DownAfterSend);
    let stderr = d.submit_fails(&proxy.url);
    assert!(
        stderr.contains("was sent but its receipt could not be read")
            && stderr.contains("check it before sending again")
            && stderr.contains("is unchanged"),
        "{stderr}"
    );
    let hash = stderr
        .split_whitespace()
        .find(|w| w.starts_with("0x") && w.len() == 66)
        .unwrap_or_else(|| panic!("no transaction hash in {stderr}"));
    // The transaction did land: the same proof is now a replay.
    let out = submit(&d.proof, &d.anvil.url, &d.oracle, d.key);
    let replay = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && replay.contains("StatementAlreadyUsed"),
        "{hash}: {replay}"
    );
}

#[test]
fn a_nonce_taken_by_another_transaction_is_reported_and_nothing_is_consumed() {
    let d = deployed("fail-nonce");
    // The deployer submits: its transaction count is above zero, so a stale count reuses a nonce.
    let proxy = FaultyRpc::start(&d.anvil.url, Fault::StaleNonce);
    let stderr = d.submit_fails(&proxy.url);
    assert!(
        stderr.contains("not sent") && stderr.to_lowercase().contains("nonce"),
        "{stderr}"
    );
    d.resubmit_succeeds();
}

#[test]
fn a_failing_gas_estimate_is_reported_and_nothing_is_consumed() {
    let d = deployed("fail-estimate");
    let proxy = FaultyRpc::start(&d.anvil.url, Fault::FailEstimate);
    let stderr = d.submit_fails(&proxy.url);
    assert!(
        stderr.contains("not sent") && stderr.contains("gas estimation failed: node overloaded"),
        "{stderr}"
    );
    d.resubmit_succeeds();
}

#[test]
fn a_transaction_reverted_on_chain_is_reported_with_its_decoded_reason() {
    let d = deployed("fail-revert");
    d.resubmit_succeeds();
    // A second submitter races with the same proof: its simulation (hidden by the proxy)
    // passed, the transaction is mined and reverts.
    let proxy = FaultyRpc::start(&d.anvil.url, Fault::HideReverts);
    let stderr = d.submit_fails(&proxy.url);
    assert!(
        stderr.contains("reverted: StatementAlreadyUsed"),
        "{stderr}"
    );
}
