//! Input files in EZKL's format: `{"input_data": [[flat floats], ...]}`, one flat array per
//! graph input. Calibration files may hold several samples back to back in each array.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::{Error, Result};

/// The contents of an input (or calibration) JSON file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputData {
    /// One flat array per graph input.
    pub input_data: Vec<Vec<f64>>,
    /// The data owner's secret salt for hashed inputs/outputs: a field element as 0x hex.
    /// Required for a build with hashed inputs or outputs (`prove` and `commitment` refuse an
    /// input without one: salt 0 would make a commitment to low-entropy data guessable);
    /// ignored by other builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// The account the proof is about (`0x` + 40 hex digits): the last public instance, under
    /// which a consumer contract stores the verified output. Absent: no subject (zero), which
    /// the oracle refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl InputData {
    /// Reads and parses an input file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parses input JSON text; `origin` names it in errors. Non-finite values are refused.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let data: InputData = serde_json::from_str(text).map_err(|source| Error::Json {
            path: origin.into(),
            source,
        })?;
        if let Some(v) = data.input_data.iter().flatten().find(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "{}: non-finite value {v}",
                origin.display()
            )));
        }
        Ok(data)
    }

    /// The salt as a field element (0 when absent).
    pub fn salt(&self) -> Result<halo2_base::halo2_proofs::halo2curves::bn256::Fr> {
        match &self.salt {
            None => Ok(Default::default()),
            Some(s) => crate::fixed::field_from_hex(s).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "salt {s} is not a field element (0x hex below the BN254 scalar modulus)"
                ))
            }),
        }
    }

    /// The subject as a field element (0 when absent).
    pub fn subject(&self) -> Result<halo2_base::halo2_proofs::halo2curves::bn256::Fr> {
        match &self.subject {
            None => Ok(Default::default()),
            Some(s) => parse_subject(s),
        }
    }

    /// Splits each graph input's array into samples of the model's input lengths.
    pub fn samples(&self, model: &Model) -> Result<Vec<Vec<Vec<f64>>>> {
        let lens = input_lens(model);
        if self.input_data.len() != lens.len() {
            return Err(Error::InvalidInput(format!(
                "the model has {} input(s) but the data has {}",
                lens.len(),
                self.input_data.len()
            )));
        }
        let mut count = None;
        for (i, (data, len)) in self.input_data.iter().zip(&lens).enumerate() {
            if data.is_empty() || !data.len().is_multiple_of(*len) {
                return Err(Error::InvalidInput(format!(
                    "input #{i} has {} values, not a multiple of the model's {len} (shape {:?})",
                    data.len(),
                    model.input_shapes()[i]
                )));
            }
            let n = data.len() / len;
            if *count.get_or_insert(n) != n {
                return Err(Error::InvalidInput(
                    "inputs hold different numbers of samples".into(),
                ));
            }
        }
        let n = count.unwrap_or(0);
        Ok((0..n)
            .map(|s| {
                self.input_data
                    .iter()
                    .zip(&lens)
                    .map(|(d, len)| d[s * len..(s + 1) * len].to_vec())
                    .collect()
            })
            .collect())
    }
}

impl InputData {
    /// The data without the arrays of graph inputs fixed at compile (see
    /// [`crate::model::SpecializedInput`]), after checking that each holds its fixed value (in
    /// every sample, for calibration data). Unchanged when nothing was fixed.
    pub fn specialize(&self, fixed: &[crate::model::SpecializedInput]) -> Result<InputData> {
        if fixed.is_empty() {
            return Ok(self.clone());
        }
        let mut data = self.input_data.clone();
        let mut positions: Vec<&crate::model::SpecializedInput> = fixed.iter().collect();
        positions.sort_by_key(|s| std::cmp::Reverse(s.position));
        for s in positions {
            let given = data.get(s.position).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the data has {} input array(s); input #{} ('{}') is missing",
                    self.input_data.len(),
                    s.position,
                    s.name
                ))
            })?;
            let len = s.values.len();
            if given.is_empty()
                || !given.len().is_multiple_of(len)
                || given.chunks(len).any(|c| c != s.values.as_slice())
            {
                return Err(Error::InvalidInput(format!(
                    "input #{} ('{}') was fixed to {:?} at compile (the graph needs it constant); \
                     the data gives {} value(s){} (compile again with calibration data holding \
                     the value to prove)",
                    s.position,
                    s.name,
                    s.values,
                    given.len(),
                    if given.len() <= 16 {
                        format!(" {given:?}")
                    } else {
                        String::new()
                    }
                )));
            }
            data.remove(s.position);
        }
        Ok(InputData {
            input_data: data,
            ..self.clone()
        })
    }
}

fn input_lens(model: &Model) -> Vec<usize> {
    model
        .input_shapes()
        .iter()
        .map(|s| s.iter().product())
        .collect()
}

/// Checks that `inputs` has one array per graph input, each of the right length.
pub fn check_input_lengths(model: &Model, inputs: &[Vec<f64>]) -> Result<()> {
    check_lengths(&input_lens(model), inputs.iter().map(Vec::len))
}

/// Checks lengths of graph inputs against the expected ones.
pub fn check_lengths(
    expected: &[usize],
    found: impl ExactSizeIterator<Item = usize>,
) -> Result<()> {
    if found.len() != expected.len() {
        return Err(Error::InvalidInput(format!(
            "the model has {} input(s) but the data has {}",
            expected.len(),
            found.len()
        )));
    }
    for (i, (f, e)) in found.zip(expected).enumerate() {
        if f != *e {
            return Err(Error::InvalidInput(format!(
                "input #{i} has {f} values, the model expects {e}"
            )));
        }
    }
    Ok(())
}

/// Parses an account address (`0x` + 40 hex digits) as a field element, the form the subject
/// instance takes.
pub fn parse_subject(text: &str) -> Result<halo2_base::halo2_proofs::halo2curves::bn256::Fr> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidInput(format!(
            "subject {text:?} is not an address (0x followed by 40 hex digits)"
        )));
    }
    crate::fixed::field_from_hex(&format!("0x{digits}"))
        .ok_or_else(|| Error::InvalidInput(format!("subject {text:?} is not an address")))
}

/// The address a subject instance names (`0x` + 40 lowercase hex digits), or `None` when the
/// word is not below 2^160.
pub fn subject_address(word: &halo2_base::halo2_proofs::halo2curves::bn256::Fr) -> Option<String> {
    let hex = crate::fixed::field_to_hex(word);
    let digits = hex.trim_start_matches("0x");
    let (high, low) = digits.split_at(digits.len().checked_sub(40)?);
    high.bytes().all(|b| b == b'0').then(|| format!("0x{low}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_addresses() {
        let addr = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        let word = parse_subject(addr).unwrap();
        assert_eq!(subject_address(&word).unwrap(), addr.to_lowercase());
        for bad in [
            "0x1234",
            "70997970c51812dc3a010c7d01b50e0d17dc79c8ff",
            "0xg0997970c51812dc3a010c7d01b50e0d17dc79c8",
            "",
        ] {
            assert!(parse_subject(bad).is_err(), "{bad} accepted");
        }
        // A word of 2^160 or more names no address.
        let wide = crate::fixed::field_from_hex(&format!("0x1{}", "0".repeat(40))).unwrap();
        assert_eq!(subject_address(&wide), None);
    }
}
