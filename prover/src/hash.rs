//! Content hashes for artifacts (model ids, key fingerprints).

use sha2::{Digest, Sha256};

/// SHA-256 as 0x-prefixed hex (a Solidity `bytes32`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(Sha256::digest(bytes)))
}
