//! Fixed-point numbers: values are integers at scale 2^s, embedded in the BN254 scalar field
//! with negative values as `p - |x|`.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use serde::{Deserialize, Serialize};

/// Largest bound plus scale exponent: a rescale's offsets and limbs (`2^(bits + shift)`) stay
/// far inside `i128`, and its sums inside what [`from_field`] decodes.
pub const MAX_RESCALE_BITS: u32 = 120;

/// A power-of-two fixed-point scale: a real `r` is stored as `round(r * 2^bits)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale(pub u32);

impl Scale {
    /// The multiplier `2^bits` as a float.
    pub fn multiplier(self) -> f64 {
        (self.0 as f64).exp2()
    }

    /// Quantizes a real number to the nearest fixed-point integer (ties away from zero).
    pub fn quantize(self, x: f64) -> i128 {
        (x * self.multiplier()).round() as i128
    }

    /// The real number a fixed-point integer stands for.
    pub fn dequantize(self, q: i128) -> f64 {
        q as f64 / self.multiplier()
    }

    /// The product of two scales (exponents add).
    pub fn product(self, other: Scale) -> Scale {
        Scale(self.0 + other.0)
    }
}

/// Embeds a signed integer in the field (negative values become `p - |x|`).
pub fn to_field(x: i128) -> Fr {
    let abs = x.unsigned_abs();
    // One Montgomery multiplication: `from_u128`'s default does 64 doublings, which dominated
    // circuit layout (a third of compile time on a 20M-MAC CNN).
    let mag = Fr::from_raw([abs as u64, (abs >> 64) as u64, 0, 0]);
    if x < 0 {
        -mag
    } else {
        mag
    }
}

/// Decodes a field element as a signed integer, if it lies within `±2^126`.
///
/// Elements above `(p-1)/2` are read as negative (`x - p`).
pub fn from_field(f: &Fr) -> Option<i128> {
    let decode = |v: &Fr| -> Option<i128> {
        let bytes = v.to_repr();
        if bytes.as_ref()[16..].iter().any(|b| *b != 0) {
            return None;
        }
        let mut lo = [0u8; 16];
        lo.copy_from_slice(&bytes.as_ref()[..16]);
        let u = u128::from_le_bytes(lo);
        (u < (1u128 << 126)).then_some(u as i128)
    };
    decode(f).or_else(|| decode(&-*f).map(|m| -m))
}

/// A field element as 0x-prefixed, 32-byte big-endian hex (the EVM `uint256` encoding).
pub fn field_to_hex(f: &Fr) -> String {
    let mut bytes = f.to_repr().as_ref().to_vec();
    bytes.reverse();
    format!("0x{}", hex::encode(bytes))
}

/// Parses a 0x-prefixed big-endian hex field element; `None` when malformed or `>= p`.
pub fn field_from_hex(s: &str) -> Option<Fr> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.len() > 64 {
        return None;
    }
    let mut bytes = hex::decode(format!("{digits:0>64}")).ok()?;
    bytes.reverse();
    let mut repr = <Fr as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(&bytes);
    Option::from(Fr::from_repr(repr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_to_nearest() {
        let s = Scale(4);
        assert_eq!(s.quantize(0.5), 8);
        assert_eq!(s.quantize(-0.53), -8);
        assert_eq!(s.quantize(0.03125), 1); // exactly half a step rounds away from zero
        assert!((s.dequantize(s.quantize(1.2345)) - 1.2345).abs() <= 1.0 / 32.0);
    }

    #[test]
    fn signed_field_encoding_round_trips_at_the_edges() {
        for x in [0i128, 1, -1, 12345, -12345, (1 << 125), -(1 << 125)] {
            assert_eq!(from_field(&to_field(x)), Some(x), "{x}");
        }
        assert_eq!(to_field(-1), -Fr::one());
        // (p-1)/2 is far outside the decodable window.
        let half = -Fr::one() * Fr::from(2).invert().unwrap();
        assert_eq!(from_field(&half), None);
    }

    #[test]
    fn hex_encoding_is_big_endian_and_rejects_values_above_the_modulus() {
        assert_eq!(field_to_hex(&Fr::from(258)), format!("0x{:0>64}", "102"));
        assert_eq!(
            field_from_hex(&field_to_hex(&to_field(-7))),
            Some(to_field(-7))
        );
        let p = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert_eq!(field_from_hex(p), None);
        assert_eq!(field_from_hex("0xzz"), None);
    }

    mod properties {
        use super::super::*;
        use halo2_base::halo2_proofs::halo2curves::ff::Field;
        use proptest::prelude::*;

        /// Largest decodable magnitude plus one.
        const WINDOW: i128 = 1 << 126;

        proptest! {
            /// Quantizing then dequantizing moves a value by at most half a step (plus float
            /// rounding of the product).
            #[test]
            fn quantize_round_trip_is_within_half_a_step(x in -1e6f64..1e6, bits in 0u32..24) {
                let s = Scale(bits);
                let err = (s.dequantize(s.quantize(x)) - x).abs();
                prop_assert!(err <= 0.5 / s.multiplier() + 1e-12 * x.abs().max(1.0), "{x} at 2^{bits}: {err}");
            }

            /// Signed values round-trip through the field and through its hex encoding, and
            /// `x` and `-x` are additive inverses there.
            #[test]
            fn signed_field_encoding_round_trips(x in -WINDOW + 1..WINDOW) {
                let f = to_field(x);
                prop_assert_eq!(from_field(&f), Some(x));
                prop_assert_eq!(f + to_field(-x), Fr::zero());
                prop_assert_eq!(field_from_hex(&field_to_hex(&f)), Some(f));
            }

            /// Magnitudes from 2^126 up to the middle of the field, either sign, do not decode:
            /// a value outside the window is never read as a small one.
            #[test]
            fn magnitudes_beyond_the_window_do_not_decode(k in 126u32..253, low in 0u64..u64::MAX) {
                let big = Fr::from(2).pow_vartime([k as u64]) + Fr::from(low);
                prop_assert_eq!(from_field(&big), None);
                prop_assert_eq!(from_field(&-big), None);
            }
        }

        #[test]
        fn the_middle_of_the_field_does_not_decode() {
            // (p - 1) / 2 and (p + 1) / 2 = -(p - 1) / 2: the two sides of the sign boundary.
            let half = -Fr::one() * Fr::from(2).invert().unwrap();
            for f in [half, half + Fr::one(), half - Fr::one()] {
                assert_eq!(from_field(&f), None);
            }
            assert_eq!(from_field(&to_field(WINDOW - 1)), Some(WINDOW - 1));
            assert_eq!(from_field(&to_field(-(WINDOW - 1))), Some(-(WINDOW - 1)));
            assert_eq!(from_field(&to_field(WINDOW)), None);
        }
    }
}
