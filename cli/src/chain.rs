//! The alloy client: connecting, deploying, sending and decoding reverts.

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, TxHash, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolInterface;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::cli::ChainArgs;
use crate::contracts::{ReusableHalo2Verifier, RiskAdjustedLending, VerifiedInferenceOracle};

/// A connected provider, with a wallet when a key was given.
pub(crate) struct Chain {
    pub(crate) provider: DynProvider,
    pub(crate) sender: Option<Address>,
    pub(crate) chain_id: u64,
    receipt_timeout: Duration,
}

fn parse_url(rpc_url: &str) -> Result<alloy::transports::http::reqwest::Url> {
    rpc_url
        .parse()
        .map_err(|e| anyhow!("invalid RPC URL {rpc_url:?}: {e}"))
}

/// Connects to `rpc_url` (checking it answers), without a wallet.
pub(crate) async fn connect_read_only(rpc_url: &str) -> Result<Chain> {
    let provider = ProviderBuilder::new()
        .connect_http(parse_url(rpc_url)?)
        .erased();
    finish(provider, None, rpc_url, Duration::ZERO).await
}

/// Connects with the wallet of `args.private_key`.
pub(crate) async fn connect(args: &ChainArgs) -> Result<Chain> {
    let signer = signer(args)?;
    let sender = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(parse_url(&args.rpc_url)?)
        .erased();
    let timeout = Duration::from_secs(args.receipt_timeout);
    finish(provider, Some(sender), &args.rpc_url, timeout).await
}

/// The sending account: `--private-key`, or `--keystore` with `--password-file`.
fn signer(args: &ChainArgs) -> Result<PrivateKeySigner> {
    if let Some(keystore) = &args.keystore {
        let password_file = args
            .password_file
            .as_deref()
            .context("--keystore needs --password-file")?;
        let password = std::fs::read_to_string(password_file)
            .with_context(|| format!("reading the password file {}", password_file.display()))?;
        let password = password.trim_end_matches(['\r', '\n']);
        return PrivateKeySigner::decrypt_keystore(keystore, password).map_err(|e| {
            anyhow!(
                "cannot open the keystore {} with the password in {}: {e}",
                keystore.display(),
                password_file.display()
            )
        });
    }
    let key = args.private_key.as_deref().context(
        "no sending account: pass --private-key (or set ZKINFER_PRIVATE_KEY), or --keystore with --password-file",
    )?;
    key.trim()
        .parse()
        .map_err(|e| anyhow!("invalid private key: {e}"))
}

async fn finish(
    provider: DynProvider,
    sender: Option<Address>,
    rpc_url: &str,
    receipt_timeout: Duration,
) -> Result<Chain> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| anyhow!("cannot reach the RPC endpoint {rpc_url}: {e}"))?;
    Ok(Chain {
        provider,
        sender,
        chain_id,
        receipt_timeout,
    })
}

impl Chain {
    /// Sends a transaction and waits for its receipt. Errors say what happened to it: not sent
    /// (gas estimation, nonce or RPC failure, with the decoded revert), sent but no receipt (it
    /// may still be mined), or reverted on chain (with the reason, replayed at the parent block).
    pub(crate) async fn send(
        &self,
        tx: TransactionRequest,
        what: &str,
    ) -> Result<TransactionReceipt> {
        let pending = self
            .provider
            .send_transaction(tx.clone())
            .await
            .map_err(|e| {
                // The node's structured revert data when it gave some, else the message's.
                let reason = e
                    .as_error_resp()
                    .and_then(|r| r.as_revert_data())
                    .and_then(|d| decode_revert(&d))
                    .map(|r| format!("reverted: {r}"))
                    .unwrap_or_else(|| describe(&e.to_string()));
                anyhow!("{what}: not sent: {reason}")
            })?;
        let hash = *pending.tx_hash();
        let receipt = pending
            .with_timeout(Some(self.receipt_timeout))
            .get_receipt()
            .await
            .map_err(|e| {
                anyhow!(
                    "{what}: transaction {} was sent but its receipt could not be read ({e}); \
                     it may still be mined: check it before sending again",
                    tx_hex(hash)
                )
            })?;
        if !receipt.status() {
            let reason = match self.revert_reason(tx, receipt.block_number).await {
                Some(reason) => format!(": {reason}"),
                None => String::new(),
            };
            bail!("{what}: transaction {} reverted{reason}", tx_hex(hash));
        }
        Ok(receipt)
    }

    /// The decoded reason of a transaction that reverted in block `block`, by calling it again
    /// on the state before that block.
    async fn revert_reason(
        &self,
        mut tx: TransactionRequest,
        block: Option<u64>,
    ) -> Option<String> {
        tx.from = tx.from.or(self.sender);
        let parent = block?.checked_sub(1)?;
        let err = self.provider.call(tx).block(parent.into()).await.err()?;
        let data = err.as_error_resp()?.as_revert_data()?;
        Some(
            decode_revert(&data).unwrap_or_else(|| format!("revert data 0x{}", hex::encode(&data))),
        )
    }

    /// Deploys creation code (with constructor arguments appended) and returns the address and receipt.
    pub(crate) async fn deploy(
        &self,
        code: Vec<u8>,
        value: U256,
        what: &str,
    ) -> Result<(Address, TransactionReceipt)> {
        let tx = TransactionRequest::default()
            .with_deploy_code(Bytes::from(code))
            .with_value(value);
        let receipt = self.send(tx, &format!("deploying {what}")).await?;
        let address = receipt
            .contract_address
            .with_context(|| format!("deploying {what}: no contract address"))?;
        Ok((address, receipt))
    }
}

/// Why a simulated contract call was refused: its decoded revert, else what the message shows.
pub(crate) fn call_refusal(e: &alloy::contract::Error) -> String {
    e.as_revert_data()
        .and_then(|d| decode_revert(&d))
        .unwrap_or_else(|| describe(&e.to_string()))
}

/// Decodes the custom errors of our contracts from an RPC error message carrying revert data.
pub(crate) fn describe(message: &str) -> String {
    match revert_data(message).and_then(|d| decode_revert(&d)) {
        Some(decoded) => format!("reverted: {decoded}"),
        None => message.to_string(),
    }
}

/// The longest `0x…` hex run of an error message (a node may print the selector alone before
/// the whole revert data).
fn revert_data(message: &str) -> Option<Vec<u8>> {
    let hex = message
        .match_indices("0x")
        .map(|(start, _)| {
            message[start + 2..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect::<String>()
        })
        .filter(|hex| hex.len() >= 8 && hex.len() % 2 == 0)
        .max_by_key(String::len)?;
    hex::decode(&hex).ok()
}

/// Names a revert payload of the oracle or lending pool, e.g. `ProofRejected`.
pub(crate) fn decode_revert(data: &[u8]) -> Option<String> {
    let debug =
        if let Ok(e) = VerifiedInferenceOracle::VerifiedInferenceOracleErrors::abi_decode(data) {
            format!("{e:?}")
        } else if let Ok(e) = RiskAdjustedLending::RiskAdjustedLendingErrors::abi_decode(data) {
            format!("{e:?}")
        } else if let Ok(e) = ReusableHalo2Verifier::ReusableHalo2VerifierErrors::abi_decode(data) {
            format!("{e:?}")
        } else {
            return None;
        };
    // `Name(Name { field: .. })` → `Name { field: .. }`
    Some(match debug.split_once('(') {
        Some((_, inner)) => inner.strip_suffix(')').unwrap_or(inner).to_string(),
        None => debug,
    })
}

/// Parses a 0x address argument.
pub(crate) fn parse_address(s: &str, what: &str) -> Result<Address> {
    s.trim()
        .parse()
        .map_err(|e| anyhow!("invalid {what} address {s:?}: {e}"))
}

/// A transaction hash as hex.
pub(crate) fn tx_hex(hash: TxHash) -> String {
    format!("{hash:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_revert_data_is_decoded_not_the_selector_alone() {
        let message = "server returned an error response: error code 3: execution reverted: custom error 0x01ff6ad5: 00000000000000000000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000007, data: \"0x01ff6ad500000000000000000000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000007\"";
        let described = describe(message);
        assert!(
            described.starts_with("reverted: InputNotCommitted"),
            "{described}"
        );
        assert_eq!(describe("no data here"), "no data here");
    }
}
