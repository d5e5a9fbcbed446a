//! Affine maps with weights: [`Dense`] (Gemm, MatMul, Einsum, LinearRegressor) and [`Linear`]
//! (Conv, ConvTranspose, average pooling, BatchNormalization, reductions, Mul/Div by constants).
//!
//! In fixed point both are `round((bias + Σ w · x) / 2^weight_scale)`: weights at the weight
//! scale, the bias at the activation and weight scales together, one rescale per output.

use halo2_base::gates::RangeInstructions;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::AssignedValue;
use serde::{Deserialize, Serialize};

use super::{rescale, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result};
use crate::chips::DenseChip;

/// `y[r, n] = Σ_k x[r, k] · weights[n · in_features + k] + bias[n]` over the last axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense<T> {
    /// Row-major `[out_features, in_features]` weights.
    pub weights: Vec<T>,
    /// `[out_features]` bias.
    pub bias: Vec<T>,
    /// Size of the contracted (last) input axis.
    pub in_features: usize,
    /// Size of the produced last axis.
    pub out_features: usize,
}

impl<T> Dense<T> {
    /// The weights of output column `n`.
    pub fn column(&self, n: usize) -> &[T] {
        &self.weights[n * self.in_features..(n + 1) * self.in_features]
    }
}

impl Operator for Dense<f64> {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        rows(args[0], self.in_features, self.out_features, |row, n| {
            let w = self.column(n);
            w.iter().zip(row).map(|(w, x)| w * x).sum::<f64>() + self.bias[n]
        })
    }

    fn quantize(&self, q: &Quantizing) -> QOp {
        QOp::Dense(Dense {
            weights: self.weights.iter().map(|w| q.weight(*w)).collect(),
            bias: self.bias.iter().map(|b| q.bias(*b)).collect(),
            in_features: self.in_features,
            out_features: self.out_features,
        })
    }

    fn num_params(&self) -> usize {
        self.weights.len() + self.bias.len()
    }
}

impl QuantizedOperator for Dense<i64> {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        Ok(rows(
            args[0],
            self.in_features,
            self.out_features,
            |row, n| {
                let acc: i128 = self
                    .column(n)
                    .iter()
                    .zip(row)
                    .map(|(w, x)| *w as i128 * x)
                    .sum::<i128>()
                    + self.bias[n] as i128;
                rescale(acc, f.weight_scale.0)
            },
        ))
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let (x, ws) = (args[0], l.weight_scale);
        let dense = DenseChip::new(l.range.gate());
        if let Some(p) = l.params {
            // Hashed parameters: weights and biases are witness cells.
            return rows(x, self.in_features, self.out_features, |row, n| {
                let w = &p[0][n * self.in_features..(n + 1) * self.in_features];
                let pairs = row.iter().copied().zip(w.iter().copied());
                let acc = dense.accumulate_cells(l.ctx, pairs, p[1][n]);
                l.affine_output(acc, ws)
            });
        }
        if let Some(dot) = l.recorders.dot.as_mut() {
            // The dot-product region computes the sums; the main context rescales them.
            let sums: Vec<_> = x
                .chunks(self.in_features)
                .flat_map(|row| dot.dense(l.ctx, row, &self.weights, &self.bias))
                .collect();
            return sums
                .into_iter()
                .map(|acc| l.affine_output(acc, ws))
                .collect();
        }
        rows(x, self.in_features, self.out_features, |row, n| {
            let terms = row.iter().copied().zip(self.column(n).iter().copied());
            l.affine(terms, self.bias[n], ws)
        })
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![self.weights.clone(), self.bias.clone()]
    }
}

/// Sparse affine map of one input: `y[o] = bias[o] + Σ w · x[i]` over `terms[o] = [(i, w)]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linear<T> {
    /// Per output element, its (input index, weight) terms.
    pub terms: Vec<Vec<(usize, T)>>,
    /// Per output element.
    pub bias: Vec<T>,
}

impl Operator for Linear<f64> {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        let x = args[0];
        self.terms
            .iter()
            .zip(&self.bias)
            .map(|(t, b)| b + t.iter().map(|(i, w)| w * x[*i]).sum::<f64>())
            .collect()
    }

    fn quantize(&self, q: &Quantizing) -> QOp {
        QOp::Linear(Linear {
            terms: self
                .terms
                .iter()
                .map(|t| {
                    t.iter()
                        .map(|(i, w)| (*i, q.weight(*w)))
                        .filter(|(_, w)| *w != 0)
                        .collect()
                })
                .collect(),
            bias: self.bias.iter().map(|b| q.bias(*b)).collect(),
        })
    }

    fn num_params(&self) -> usize {
        self.terms.iter().map(Vec::len).sum::<usize>() + self.bias.len()
    }
}

impl QuantizedOperator for Linear<i64> {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        let x = args[0];
        Ok(self
            .terms
            .iter()
            .zip(&self.bias)
            .map(|(t, b)| {
                let acc: i128 =
                    t.iter().map(|(i, w)| *w as i128 * x[*i]).sum::<i128>() + *b as i128;
                rescale(acc, f.weight_scale.0)
            })
            .collect())
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let (x, ws) = (args[0], l.weight_scale);
        let dense = DenseChip::new(l.range.gate());
        if let Some(p) = l.params {
            let mut at = 0;
            return self
                .terms
                .iter()
                .enumerate()
                .map(|(n, t)| {
                    let w = &p[0][at..at + t.len()];
                    at += t.len();
                    let xs = t.iter().map(|(i, _)| x[*i]);
                    let acc = dense.accumulate_cells(l.ctx, xs.zip(w.iter().copied()), p[1][n]);
                    l.affine_output(acc, ws)
                })
                .collect();
        }
        self.terms
            .iter()
            .zip(&self.bias)
            .map(|(t, b)| l.affine(t.iter().map(|(i, w)| (x[*i], *w)), *b, ws))
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![
            self.terms.iter().flatten().map(|(_, w)| *w).collect(),
            self.bias.clone(),
        ]
    }
}

/// Applies `f(row, n)` for every row of `x` (rows of length `in_features`) and output column `n`.
pub(crate) fn rows<T, R>(
    x: &[T],
    in_features: usize,
    out_features: usize,
    mut f: impl FnMut(&[T], usize) -> R,
) -> Vec<R> {
    x.chunks(in_features)
        .flat_map(|row| (0..out_features).map(|n| f(row, n)).collect::<Vec<_>>())
        .collect()
}
