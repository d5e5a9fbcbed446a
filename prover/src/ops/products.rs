//! Products of two computed tensors: [`Bilinear`], `y[o] = Σ a[i] · b[j]` over the pairs
//! `(i, j)` of output `o` — MatMul of two activations (attention's `Q·Kᵀ` and `P·V`, batched and
//! broadcast the numpy way). In fixed point both operands are at the activation scale, so the
//! sum is rescaled by `2^scale`; in the circuit each product is one gate of an inner product.

use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, QuantumCell::Existing};
use serde::{Deserialize, Serialize};

use super::{rescale, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result};
use crate::model::Op;
use crate::onnx::{Ctx, Importer, Value};
use crate::Error;

/// Per output element, the (index into `a`, index into `b`) pairs it sums.
pub type Pairs = Vec<Vec<(usize, usize)>>;

/// `y[o] = Σ_{(i, j) ∈ pairs[o]} a[i] · b[j]` for inputs `[a, b]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bilinear {
    /// Per output element, the (index into `a`, index into `b`) pairs it sums.
    pub pairs: Pairs,
}

impl Operator for Bilinear {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        let (a, b) = (args[0], args[1]);
        self.pairs
            .iter()
            .map(|p| p.iter().map(|(i, j)| a[*i] * b[*j]).sum())
            .collect()
    }

    fn quantize(&self, _: &Quantizing) -> QOp {
        QOp::Bilinear(self.clone())
    }

    fn num_params(&self) -> usize {
        0
    }
}

impl QuantizedOperator for Bilinear {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        let (a, b) = (args[0], args[1]);
        let overflow = || Error::InvalidInput(format!("{}: a product overflows", f.node()));
        self.pairs
            .iter()
            .map(|p| {
                let acc = p.iter().try_fold(0i128, |acc, (i, j)| {
                    a[*i].checked_mul(b[*j]).and_then(|v| acc.checked_add(v))
                })?;
                Some(rescale(acc, f.scale.0))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(overflow)
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let (a, b, gate, s) = (args[0], args[1], l.range.gate(), l.scale);
        self.pairs
            .iter()
            .map(|p| {
                let xs = p.iter().map(|(i, _)| Existing(a[*i]));
                let ys = p.iter().map(|(_, j)| Existing(b[*j]));
                let acc = gate.inner_product(l.ctx, xs, ys);
                l.rescale(acc, s)
            })
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }
}

/// ONNX `MatMul` of two computed tensors, numpy semantics: `[..., M, K] · [..., K, N]`, batch
/// axes broadcast, a 1-D operand promoted (and its axis dropped from the result).
pub(crate) fn import_matmul(
    im: &mut Importer,
    ctx: &Ctx,
    a: crate::model::TensorId,
    b: crate::model::TensorId,
) -> Result<Value> {
    let (sa, sb) = (im.shape(a).to_vec(), im.shape(b).to_vec());
    let (pairs, shape) = matmul_pairs(&sa, &sb).map_err(|why| ctx.invalid(why))?;
    Ok(Value::Tensor(im.push(
        &ctx.name,
        &ctx.proto.op_type,
        Op::Bilinear(Bilinear { pairs }),
        vec![a, b],
        shape,
    )))
}

/// The most products one node may take (far more than the largest circuit holds): refused at
/// import, before anything is allocated.
pub const MAX_PRODUCTS: usize = 1 << 26;

/// Refuses `count` products (`None`: an overflow) above [`MAX_PRODUCTS`].
pub(crate) fn check_products(count: Option<usize>) -> std::result::Result<usize, String> {
    count
        .filter(|c| *c <= MAX_PRODUCTS)
        .ok_or_else(|| format!("more than {MAX_PRODUCTS} products"))
}

/// The pairs and output shape of numpy's `matmul(a, b)` for shapes `sa`, `sb`, or why not (inner
/// dimensions that differ, batch axes that do not broadcast, too many products).
pub(crate) fn matmul_pairs(
    sa: &[usize],
    sb: &[usize],
) -> std::result::Result<(Pairs, Vec<usize>), String> {
    let cannot = || format!("cannot multiply {sa:?} by {sb:?}");
    if sa.is_empty() || sb.is_empty() {
        return Err(cannot());
    }
    // Promote 1-D operands to matrices.
    let a2: Vec<usize> = if sa.len() == 1 {
        vec![1, sa[0]]
    } else {
        sa.to_vec()
    };
    let b2: Vec<usize> = if sb.len() == 1 {
        vec![sb[0], 1]
    } else {
        sb.to_vec()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (kb, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != kb {
        return Err(cannot());
    }
    let (ba, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let batch = crate::onnx::broadcast_shapes(ba, bb).ok_or_else(cannot)?;
    let batches = batch.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
    let outputs = batches.and_then(|b| b.checked_mul(m)?.checked_mul(n));
    check_products(outputs.and_then(|o| o.checked_mul(k.max(1))))?;
    let batches = batches.expect("checked");
    let mut pairs = Vec::with_capacity(batches * m * n);
    for t in 0..batches {
        let (ta, tb) = (broadcast_flat(t, &batch, ba), broadcast_flat(t, &batch, bb));
        for i in 0..m {
            for j in 0..n {
                pairs.push(
                    (0..k)
                        .map(|kk| ((ta * m + i) * k + kk, (tb * k + kk) * n + j))
                        .collect(),
                );
            }
        }
    }
    let mut shape = batch;
    if sa.len() > 1 {
        shape.push(m);
    }
    if sb.len() > 1 {
        shape.push(n);
    }
    Ok((pairs, shape))
}

/// The flat index, in an operand whose batch shape `from` broadcasts to `batch`, of the batch
/// element at flat index `flat` of `batch`.
fn broadcast_flat(flat: usize, batch: &[usize], from: &[usize]) -> usize {
    let offset = batch.len() - from.len();
    let (mut idx, mut rest, mut stride) = (0, flat, 1);
    for d in (0..batch.len()).rev() {
        let coord = rest % batch[d];
        rest /= batch[d];
        if d >= offset {
            let size = from[d - offset];
            if size != 1 {
                idx += coord * stride;
            }
            stride *= size;
        }
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy's matmul, directly.
    fn matmul(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize]) -> (Vec<f64>, Vec<usize>) {
        let (pairs, shape) = matmul_pairs(sa, sb).unwrap();
        (Bilinear { pairs }.eval(&[a, b]), shape)
    }

    #[test]
    fn pairs_follow_numpy_matmul() {
        // [2, 3] · [3, 2]
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        assert_eq!(
            matmul(&a, &[2, 3], &b, &[3, 2]),
            (vec![58.0, 64.0, 139.0, 154.0], vec![2, 2])
        );
        // Batch broadcast: [2, 1, 3] · [3, 1] → [2, 1, 1]; 1-D right operand drops its axis.
        assert_eq!(
            matmul(&a, &[2, 1, 3], &[1.0, 0.0, -1.0], &[3]),
            (vec![-2.0, -2.0], vec![2, 1])
        );
        // [1, 2, 2] · [3, 2, 1]: the left batch of 1 serves all three right batches.
        let (y, shape) = matmul(
            &[1.0, 2.0, 3.0, 4.0],
            &[1, 2, 2],
            &[1.0, 1.0, 0.0, 1.0, 2.0, 0.0],
            &[3, 2, 1],
        );
        assert_eq!(shape, vec![3, 2, 1]);
        assert_eq!(y, vec![3.0, 7.0, 2.0, 4.0, 2.0, 6.0]);
        assert!(matmul_pairs(&[2, 3], &[2, 3]).is_err());
        assert!(matmul_pairs(&[2, 2, 3], &[3, 3, 1]).is_err());
        // Too many products is refused before anything is allocated.
        let why = matmul_pairs(&[1 << 22, 1], &[1, 1 << 22]).unwrap_err();
        assert!(why.contains("products"), "{why}");
    }
}
