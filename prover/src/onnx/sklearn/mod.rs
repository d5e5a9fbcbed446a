//! scikit-learn's `ai.onnx.ml` operators (as skl2onnx writes them): LinearRegressor and Scaler
//! (onto `Dense`/`Linear`), Normalizer (a sum or maximum per row, a reciprocal lookup, then a
//! product), ZipMap (its probability tensor), [`classifier`] (LinearClassifier) and [`trees`]
//! (TreeEnsembleRegressor and TreeEnsembleClassifier).

mod classifier;
mod trees;

use crate::model::Op;
use crate::onnx::shape::reduce_groups;
use crate::onnx::{Ctx, Importer, Value};
use crate::ops;
use crate::Result;

impl Importer {
    /// scikit-learn's Scaler (ai.onnx.ml): `Y = (X - offset) · scale` per feature (one value for
    /// all features, or one per feature).
    pub(in crate::onnx) fn scaler(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let features = *shape.last().unwrap_or(&1);
        let per_feature = |name: &str| -> Result<Vec<f64>> {
            let v = ctx.attr_floats(name);
            match v.len() {
                0 => Ok(vec![if name == "scale" { 1.0 } else { 0.0 }; features]),
                1 => Ok(vec![v[0]; features]),
                n if n == features => Ok(v),
                n => Err(ctx.invalid(format!("{n} {name} values for {features} features"))),
            }
        };
        let (offset, scale) = (per_feature("offset")?, per_feature("scale")?);
        let total: usize = shape.iter().product();
        let terms = (0..total).map(|i| vec![(i, scale[i % features])]).collect();
        let bias = (0..total)
            .map(|i| -offset[i % features] * scale[i % features])
            .collect();
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Scaler",
            Op::Linear(ops::linear::Linear { terms, bias }),
            vec![x],
            shape,
        )))
    }

    /// scikit-learn's LinearRegressor (ai.onnx.ml): `Y = X · coefficientsᵀ + intercepts`.
    pub(in crate::onnx) fn linear_regressor(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        let post = ctx
            .attr("post_transform")
            .map(|a| String::from_utf8_lossy(&a.s).to_string())
            .unwrap_or_default();
        if !(post.is_empty() || post == "NONE") {
            return Err(ctx.invalid(format!("post_transform {post} (a regressor takes NONE)")));
        }
        let targets = ctx.attr_i("targets", 1).max(1) as usize;
        let coef: Vec<f64> = ctx
            .attr("coefficients")
            .map(|a| a.floats.iter().map(|v| *v as f64).collect())
            .unwrap_or_default();
        let features = *xs.last().unwrap_or(&0);
        if coef.len() != targets * features {
            return Err(ctx.invalid(format!(
                "{} coefficients for {targets} targets × {features} features",
                coef.len()
            )));
        }
        let intercepts: Vec<f64> = ctx
            .attr("intercepts")
            .map(|a| a.floats.iter().map(|v| *v as f64).collect())
            .unwrap_or_default();
        let bias = if intercepts.is_empty() {
            vec![0.0; targets]
        } else {
            intercepts
        };
        if bias.len() != targets {
            return Err(ctx.invalid(format!("{} intercepts for {targets} targets", bias.len())));
        }
        let mut shape = xs;
        *shape.last_mut().expect("non-empty") = targets;
        let op = Op::Dense(ops::linear::Dense {
            weights: coef,
            bias,
            in_features: features,
            out_features: targets,
        });
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "LinearRegressor",
            op,
            vec![x],
            shape,
        )))
    }

    /// scikit-learn's Normalizer (ai.onnx.ml) over the last axis: MAX, L1 or L2.
    pub(in crate::onnx) fn normalizer(&mut self, ctx: &Ctx) -> Result<Value> {
        use crate::functions::Function;
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = shape.len() - 1;
        let norm = ctx
            .attr("norm")
            .map(|a| String::from_utf8_lossy(&a.s).to_string())
            .unwrap_or_else(|| "MAX".into());
        let (reduced, groups) = reduce_groups(&shape, &[a]);
        let name = ctx.name.clone();
        let denominator = match norm.as_str() {
            "MAX" => self.push(
                &name,
                "Normalizer",
                Op::MaxGroups(ops::compare::MaxGroups { groups }),
                vec![x],
                reduced,
            ),
            "L1" | "L2" => {
                let magnitude = if norm == "L1" {
                    self.push(&name, "Normalizer", Op::Abs, vec![x], shape.clone())
                } else {
                    self.push(&name, "Normalizer", Op::Mul, vec![x, x], shape.clone())
                };
                self.sum_groups(ctx, magnitude, &groups, reduced, false)
            }
            other => return Err(ctx.invalid(format!("norm {other} (MAX, L1 or L2)"))),
        };
        let func = if norm == "L2" {
            Function::Rsqrt
        } else {
            Function::Reciprocal
        };
        let dshape = self.shape(denominator).to_vec();
        let inv = self.push(
            &name,
            "Normalizer",
            Op::Function(ops::lookup::FunctionOp { func }),
            vec![denominator],
            dshape,
        );
        let inv = self.expand_along(ctx, inv, &shape, a);
        Ok(Value::Tensor(self.push(
            &name,
            "Normalizer",
            Op::Mul,
            vec![x, inv],
            shape,
        )))
    }
}
