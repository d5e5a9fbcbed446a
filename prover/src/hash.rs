//! Content hashes for artifacts (model ids, key fingerprints).

use sha2::{Digest, Sha256};

/// SHA-256 as 0x-prefixed hex (a Solidity `bytes32`).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(Sha256::digest(bytes)))
}

/// SHA-256 (a model id's bytes).
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
