//! Typed values of the artifacts, with their JSON encodings: [`ModelId`] (a `bytes32`),
//! [`FieldElement`] (a BN254 scalar as a `uint256` word) and [`HexBytes`] (proof bytes). Each
//! is checked when it is read, so that code past the file boundary never re-parses strings.

use std::fmt;
use std::str::FromStr;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::fixed::{field_from_hex, field_to_hex};

/// A model's id: SHA-256 of its quantized model and circuit shape, the `bytes32` the oracle
/// registers. Written as 0x-prefixed lowercase hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModelId(pub [u8; 32]);

impl ModelId {
    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl FromStr for ModelId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let bytes = hex::decode(digits).map_err(|e| format!("model id {s}: {e}"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("model id {s}: not 32 bytes"))?;
        Ok(ModelId(bytes))
    }
}

impl PartialEq<str> for ModelId {
    fn eq(&self, other: &str) -> bool {
        other.parse::<ModelId>().is_ok_and(|id| id == *self)
    }
}

/// A BN254 scalar field element, written as 0x-prefixed 32-byte big-endian hex (the EVM
/// `uint256` encoding). Reading refuses malformed hex and values at or above the modulus: an
/// instance is never silently reduced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FieldElement(pub Fr);

impl fmt::Display for FieldElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&field_to_hex(&self.0))
    }
}

impl FromStr for FieldElement {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        field_from_hex(s).map(FieldElement).ok_or_else(|| {
            format!("{s} is not a field element (0x hex below the BN254 scalar modulus)")
        })
    }
}

impl From<Fr> for FieldElement {
    fn from(f: Fr) -> Self {
        FieldElement(f)
    }
}

/// Bytes written as 0x-prefixed hex (a proof).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HexBytes(pub Vec<u8>);

impl fmt::Display for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl FromStr for HexBytes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        hex::decode(s.strip_prefix("0x").unwrap_or(s))
            .map(HexBytes)
            .map_err(|e| format!("not hex: {e}"))
    }
}

/// Serde through `Display` / `FromStr`, as a JSON string.
macro_rules! serde_as_string {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(de::Error::custom)
            }
        }
    )*};
}

serde_as_string!(ModelId, FieldElement, HexBytes);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_out_of_field_words_are_refused() {
        assert!("0x00ff".parse::<ModelId>().is_err());
        let id = ModelId([7; 32]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"0x{}\"", "07".repeat(32)));
        assert_eq!(serde_json::from_str::<ModelId>(&json).unwrap(), id);

        let x = FieldElement(-Fr::from(5));
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(serde_json::from_str::<FieldElement>(&json).unwrap(), x);
        // The modulus itself and anything above it.
        let p = "\"0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001\"";
        assert!(serde_json::from_str::<FieldElement>(p).is_err());
        assert!(serde_json::from_str::<FieldElement>("\"0xzz\"").is_err());

        let bytes = HexBytes(vec![1, 2, 255]);
        let json = serde_json::to_string(&bytes).unwrap();
        assert_eq!(json, "\"0x0102ff\"");
        assert_eq!(serde_json::from_str::<HexBytes>(&json).unwrap(), bytes);
    }
}
