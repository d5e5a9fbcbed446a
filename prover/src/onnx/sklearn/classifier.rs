//! Classifier outputs shared by LinearClassifier and TreeEnsembleClassifier: the label (ArgMax of
//! the raw scores, mapped to the integer class labels) and the scores after `post_transform`
//! (NONE, LOGISTIC per class, SOFTMAX per row); the binary form with one score `s` per row, which
//! ONNX Runtime spreads to two columns.

use crate::functions::Function;
use crate::model::{Op, TensorId};
use crate::onnx::{Ctx, Importer, Value};
use crate::ops;
use crate::Result;

/// How one score per row becomes the two class columns of a binary classifier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum SecondClass {
    /// `[-s, s]`: class 1 when `s > 0`.
    Negated,
    /// `[1 - s, s]`: class 1 when `s > 0.5` (positive weights: `s` is a probability).
    Complement,
}

impl Importer {
    /// scikit-learn's LinearClassifier (ai.onnx.ml): raw scores `X · coefficientsᵀ +
    /// intercepts`, then the label and the transformed scores (the node's two outputs).
    pub(in crate::onnx) fn linear_classifier(&mut self, ctx: &Ctx) -> Result<Vec<Value>> {
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        let features = *xs.last().unwrap_or(&0);
        let labels = class_labels(ctx, "classlabels_ints")?;
        let coef = ctx.attr_floats("coefficients");
        if features == 0 || coef.is_empty() || !coef.len().is_multiple_of(features) {
            return Err(ctx.invalid(format!(
                "{} coefficients for {features} features",
                coef.len()
            )));
        }
        let rows = coef.len() / features;
        let mut bias = ctx.attr_floats("intercepts");
        if bias.is_empty() {
            bias = vec![0.0; rows];
        }
        if bias.len() != rows {
            return Err(ctx.invalid(format!("{} intercepts for {rows} classes", bias.len())));
        }
        if rows == 1 {
            // ONNX Runtime's one-row forms follow rules of their own (scores [1 - s, s] whatever
            // the post_transform; a label from the sign of s).
            return Err(ctx.invalid(
                "a LinearClassifier with one coefficient row (skl2onnx writes one row per class)",
            ));
        }
        if rows != labels.len() {
            return Err(ctx.invalid(format!(
                "{rows} coefficient rows for {} class labels",
                labels.len()
            )));
        }
        let mut shape = xs;
        *shape.last_mut().expect("non-empty") = rows;
        let raw = self.push(
            &ctx.name,
            "LinearClassifier",
            Op::Dense(ops::linear::Dense {
                weights: coef,
                bias,
                in_features: features,
                out_features: rows,
            }),
            vec![x],
            shape,
        );
        self.classifier_outputs(ctx, raw, &labels, None)
    }

    /// The label and the transformed scores of raw class scores `raw` (`[.., classes]`, or one
    /// column spread by `second` for a binary classifier).
    pub(super) fn classifier_outputs(
        &mut self,
        ctx: &Ctx,
        raw: TensorId,
        labels: &[i64],
        second: Option<SecondClass>,
    ) -> Result<Vec<Value>> {
        let raw = match second {
            Some(how) => self.second_class(ctx, raw, how),
            None => raw,
        };
        let shape = self.shape(raw).to_vec();
        let classes = *shape.last().expect("scores have a class axis");
        let rows: usize = shape.iter().product::<usize>() / classes;
        crate::onnx::shape::check_size(ctx, &[rows, labels.len()])?;
        let post = ctx.attr_s("post_transform").unwrap_or_default();
        let scores = match post.as_str() {
            "" | "NONE" => raw,
            "LOGISTIC" => self.func_node(ctx, raw, Function::Sigmoid),
            "SOFTMAX" => match self.softmax_over(ctx, raw, &[shape.len() - 1])? {
                Value::Tensor(t) => t,
                Value::Constant(_) => unreachable!("a softmax of a tensor is a tensor"),
            },
            other => {
                return Err(ctx.invalid(format!(
                    "post_transform {other} (NONE, LOGISTIC or SOFTMAX)"
                )))
            }
        };
        let groups = (0..rows)
            .map(|r| (r * classes..(r + 1) * classes).collect())
            .collect();
        let index = self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::ArgMax(ops::compare::ArgMax {
                groups,
                last: false,
            }),
            vec![raw],
            shape[..shape.len() - 1].to_vec(),
        );
        let label = self.class_label(ctx, index, labels, rows);
        Ok(vec![Value::Tensor(label), Value::Tensor(scores)])
    }

    /// `[.., 1]` scores to `[.., 2]`: `[-s, s]` or `[1 - s, s]`.
    fn second_class(&mut self, ctx: &Ctx, s: TensorId, how: SecondClass) -> TensorId {
        let mut shape = self.shape(s).to_vec();
        let rows: usize = shape.iter().product();
        *shape.last_mut().expect("scores have a class axis") = 2;
        let (w0, b0) = match how {
            SecondClass::Negated => (-1.0, 0.0),
            SecondClass::Complement => (-1.0, 1.0),
        };
        let terms = (0..2 * rows)
            .map(|o| vec![(o / 2, if o % 2 == 0 { w0 } else { 1.0 })])
            .collect();
        let bias = (0..2 * rows)
            .map(|o| if o % 2 == 0 { b0 } else { 0.0 })
            .collect();
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Linear(ops::linear::Linear { terms, bias }),
            vec![s],
            shape,
        )
    }

    /// Class index → class label: unchanged for labels `0..n`, an affine map for any other
    /// arithmetic progression, else a one-hot select of the labels.
    fn class_label(&mut self, ctx: &Ctx, index: TensorId, labels: &[i64], rows: usize) -> TensorId {
        let shape = self.shape(index).to_vec();
        let step = labels.get(1).map_or(Some(1), |l| l.checked_sub(labels[0]));
        let affine = step.is_some_and(|step| {
            labels.iter().enumerate().all(|(i, l)| {
                step.checked_mul(i as i64)
                    .and_then(|d| labels[0].checked_add(d))
                    == Some(*l)
            })
        });
        let step = step.unwrap_or(0);
        if affine && labels[0] == 0 && step == 1 {
            return index;
        }
        let op = if affine {
            Op::Linear(ops::linear::Linear {
                terms: (0..rows).map(|r| vec![(r, step as f64)]).collect(),
                bias: vec![labels[0] as f64; rows],
            })
        } else {
            let bits = self.one_hot(ctx, index, rows, labels.len(), false);
            return self.push(
                &ctx.name,
                &ctx.proto.op_type,
                Op::Dense(ops::linear::Dense {
                    weights: labels.iter().map(|l| *l as f64).collect(),
                    bias: vec![0.0],
                    in_features: labels.len(),
                    out_features: 1,
                }),
                vec![bits],
                shape,
            );
        };
        self.push(&ctx.name, &ctx.proto.op_type, op, vec![index], shape)
    }
}

/// The integer class labels (`attr`); string labels are refused.
pub(super) fn class_labels(ctx: &Ctx, attr: &str) -> Result<Vec<i64>> {
    if ctx.attr("classlabels_strings").is_some() {
        return Err(ctx.invalid(
            "string class labels (train on integer labels, or map them after the proof)",
        ));
    }
    let labels = ctx.attr_ints(attr).unwrap_or_default();
    if labels.is_empty() {
        return Err(ctx.invalid(format!("no {attr}")));
    }
    Ok(labels)
}
