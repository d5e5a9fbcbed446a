//! Attention masks: constants holding `-inf` (or a stand-in for it at least
//! [`MASK_BELOW`] in magnitude, such as `finfo(float32).min`) added to attention scores, or
//! chosen by a constant `Where`, before a Softmax.
//!
//! A masked element is not a number the circuit can hold, so the importer keeps it out of the
//! circuit: the constant's masked entries become 0 and the positions they reach are recorded in
//! [`Importer::masks`]. Masks travel only through operations that keep an element `-inf`
//! (adding finite values, scaling by a positive constant, reshapes, transposes, broadcasts and
//! other wiring); a Softmax then leaves the masked positions out of its maximum and its sum and
//! outputs an exact 0 there, which is what ONNX's float Softmax gives (`e^(-inf) = 0`). A finite
//! stand-in stays below `-1e18` through any such path (positive factors under
//! [`MIN_MASK_FACTOR`] are refused, and adding a constant large enough to bring it back fails
//! quantization), far below any value the circuit holds, so `e^(x - max)` is 0 in float there
//! too. Smaller finite values (BERT's `-10000`, `-1e9`) are ordinary constants. Any other
//! operation on a masked element is refused with the node that did it.

use super::{Ctx, Importer};
use crate::model::{Op, TensorId};

/// A constant at or below this is a mask value: `-inf`, or a finite stand-in for it such as
/// torch's `finfo(float32).min`.
pub(crate) const MASK_BELOW: f64 = -1e30;

/// The smallest positive factor a masked element may be scaled by (and stay a mask).
pub(crate) const MIN_MASK_FACTOR: f64 = 1e-12;

/// Whether a constant entry masks the element it is added to.
pub(crate) fn is_mask(v: f64) -> bool {
    v <= MASK_BELOW
}

/// Splits constant entries into finite values (masks become 0) and the mask bits; `None` when
/// nothing is masked. `+inf` and NaN stay unrepresentable and are refused by the caller.
pub(crate) fn split_mask(values: &[f64]) -> (Vec<f64>, Option<Vec<bool>>) {
    let bits: Vec<bool> = values.iter().map(|v| is_mask(*v)).collect();
    if !bits.contains(&true) {
        return (values.to_vec(), None);
    }
    let finite = values
        .iter()
        .map(|v| if is_mask(*v) { 0.0 } else { *v })
        .collect();
    (finite, Some(bits))
}

impl Importer {
    /// Records that the masked entries of tensor `t` (a constant's, made finite) are `-inf`.
    pub(super) fn add_mask(&mut self, t: TensorId, bits: Option<Vec<bool>>) {
        if let Some(bits) = bits {
            let entry = self
                .masks
                .entry(t)
                .or_insert_with(|| vec![false; bits.len()]);
            for (e, b) in entry.iter_mut().zip(bits) {
                *e |= b;
            }
        }
    }

    /// The mask bits of tensor `t`, if any element of it is masked.
    pub(super) fn mask_of(&self, t: TensorId) -> Option<&Vec<bool>> {
        self.masks.get(&t)
    }

    /// Carries masks through the nodes `from..` that node `ctx` added, refusing any node that
    /// would compute with a masked element (anything but adding, positive scaling and wiring).
    pub(super) fn propagate_masks(&mut self, ctx: &Ctx, from: usize) -> crate::Result<()> {
        for id in from..self.nodes.len() {
            let node = &self.nodes[id];
            if !node.inputs.iter().any(|i| self.masks.contains_key(i)) {
                continue;
            }
            let n: usize = node.shape.iter().product();
            let of = |t: TensorId, i: usize| self.masks.get(&t).is_some_and(|m| m[i]);
            let refuse = |what: &str| {
                ctx.invalid(format!(
                    "an attention mask (a constant entry of -inf, or at most {MASK_BELOW:e}) \
                     reaches {what}; masked scores may only be added to, scaled by a positive \
                     constant, reshaped or transposed before a Softmax"
                ))
            };
            let bits: Vec<bool> = match &node.op {
                Op::Reshape | Op::AddConst(_) => (0..n).map(|i| of(node.inputs[0], i)).collect(),
                Op::Gather(g) => g
                    .sources
                    .iter()
                    .map(|s| s.is_some_and(|(slot, i)| of(node.inputs[slot], i)))
                    .collect(),
                Op::Add => (0..n)
                    .map(|i| of(node.inputs[0], i) || of(node.inputs[1], i))
                    .collect(),
                Op::Sub if !self.masks.contains_key(&node.inputs[1]) => {
                    (0..n).map(|i| of(node.inputs[0], i)).collect()
                }
                Op::Linear(l) => {
                    let mut bits = vec![false; n];
                    for (o, terms) in l.terms.iter().enumerate() {
                        if terms.iter().any(|(i, _)| of(node.inputs[0], *i)) {
                            match terms.as_slice() {
                                [(_, w)] if *w >= MIN_MASK_FACTOR => bits[o] = true,
                                _ => return Err(refuse("a weighted sum or a negative scaling")),
                            }
                        }
                    }
                    bits
                }
                _ => return Err(refuse(&format!("an operation of kind {}", node.op_type))),
            };
            if bits.contains(&true) {
                self.add_mask(id, Some(bits));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_values_are_negative_infinity_and_huge_negatives() {
        assert!(is_mask(f64::NEG_INFINITY));
        assert!(is_mask(f32::MIN as f64));
        assert!(is_mask(-1e30));
        assert!(!is_mask(-1e9), "an ordinary constant");
        assert!(!is_mask(-1e4), "an ordinary constant");
        assert!(!is_mask(f64::INFINITY));
        assert!(!is_mask(f64::NAN));
        let (finite, bits) = split_mask(&[1.0, f64::NEG_INFINITY, -2.0]);
        assert_eq!(finite, vec![1.0, 0.0, -2.0]);
        assert_eq!(bits, Some(vec![false, true, false]));
        assert_eq!(split_mask(&[1.0, -2.0]).1, None);
    }
}
