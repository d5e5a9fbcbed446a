//! API keys. Read from a file (one key per line, `#` comments) or from `ZKINFER_API_KEYS`
//! (comma-separated), held only as SHA-256 digests and compared in constant time. A key's owner
//! id (16 hex digits of its digest) scopes what it sees: another key's build or proof is "not
//! found".

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Error, Result};

/// Shortest key accepted: a guessable key is no key.
pub const MIN_KEY_LEN: usize = 16;

/// Who owns builds and jobs when the server runs without keys (loopback only).
pub const LOCAL_OWNER: &str = "local";

/// The accepted keys, as digests.
#[derive(Clone)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.digests.len())
    }
}

impl ApiKeys {
    /// Keys from `text`: one per line or comma-separated; blank lines and `#` comments skipped.
    pub fn parse(text: &str) -> Result<Self> {
        let keys: Vec<&str> = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default())
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Err(Error::Config("no API keys given".into()));
        }
        if let Some(short) = keys.iter().position(|k| k.len() < MIN_KEY_LEN) {
            return Err(Error::Config(format!(
                "API key {} is shorter than {MIN_KEY_LEN} characters",
                short + 1
            )));
        }
        Ok(ApiKeys {
            digests: keys.iter().map(|k| digest(k)).collect(),
        })
    }

    /// Keys from a file (see [`ApiKeys::parse`]).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io(path.into(), e))?;
        Self::parse(&text)
    }

    /// The owner id of `key` when it is one of the keys. Every stored digest is compared, each
    /// in constant time, so the time taken says nothing about which key came close.
    pub fn owner_of(&self, key: &str) -> Option<String> {
        let d = digest(key);
        let mut found = subtle::Choice::from(0);
        for stored in &self.digests {
            found |= stored.ct_eq(&d);
        }
        bool::from(found).then(|| owner_id(&d))
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The owner id of a key digest: what the store records, never the key.
fn owner_id(digest: &[u8; 32]) -> String {
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_matched_by_digest_and_scoped_by_owner() {
        let keys = ApiKeys::parse(
            "# team\nalpha-key-0123456789\n\nbeta-key-0123456789, gamma-key-0123456789",
        )
        .unwrap();
        let a = keys.owner_of("alpha-key-0123456789").unwrap();
        let b = keys.owner_of("beta-key-0123456789").unwrap();
        assert_ne!(a, b);
        assert!(keys.owner_of("gamma-key-0123456789").is_some());
        assert_eq!(keys.owner_of("alpha-key-012345678"), None);
        assert_eq!(keys.owner_of(""), None);
        // The owner id is not the key.
        assert!(!a.contains("alpha"));
    }

    #[test]
    fn short_or_missing_keys_are_refused() {
        assert!(ApiKeys::parse("short").is_err());
        assert!(ApiKeys::parse("# only a comment\n").is_err());
    }
}
