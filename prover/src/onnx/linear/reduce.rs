//! Reductions and per-channel affine maps onto `Linear`: ReduceSum, ReduceMean (and the reduced
//! axes that ReduceMax, in `elementwise`, shares), BatchNormalization (inference; with computed
//! statistics from element-wise operators).

use crate::model::TensorId;
use crate::onnx::shape::{axis, broadcast, reduce_groups, without_axes};
use crate::onnx::{Constant, Ctx, Importer, Value};
use crate::Result;

impl Importer {
    /// For reduced axes (attribute, or input #1 from opset 13/18): the output shape and, per
    /// output element, the input elements it reduces.
    pub(in crate::onnx) fn reduction(
        &self,
        ctx: &Ctx,
        shape: &[usize],
    ) -> Result<(Vec<usize>, Vec<Vec<usize>>)> {
        let axes = match ctx.attr_ints("axes") {
            Some(a) => a,
            None if ctx.has_input(1) => self.ints(ctx, 1)?,
            None => vec![],
        };
        let mut axes: Vec<usize> = axes
            .iter()
            .map(|a| axis(ctx, *a, shape.len()))
            .collect::<Result<_>>()?;
        if axes.is_empty() && ctx.attr_i("noop_with_empty_axes", 0) == 0 {
            axes = (0..shape.len()).collect();
        }
        let (reduced, groups) = reduce_groups(shape, &axes);
        let out = if ctx.attr_i("keepdims", 1) != 0 {
            reduced
        } else {
            without_axes(shape, &axes)
        };
        Ok((out, groups))
    }

    /// ReduceSum (`mean = false`) or ReduceMean.
    pub(in crate::onnx) fn reduce_linear(&mut self, ctx: &Ctx, mean: bool) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let (out, groups) = self.reduction(ctx, &shape)?;
        Ok(Value::Tensor(self.sum_groups(ctx, x, &groups, out, mean)))
    }

    /// BatchNormalization (inference): per channel `scale · (x - mean) / sqrt(var + eps) + B`.
    pub(in crate::onnx) fn batch_norm(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let xs = self.shape(x).to_vec();
        if xs.len() < 2 {
            return Err(ctx.invalid(format!("input {xs:?} has no channel axis")));
        }
        if (1..=4).any(|i| matches!(self.input(ctx, i), Ok(Value::Tensor(_)))) {
            return self.batch_norm_computed(ctx, x, &xs);
        }
        let c = xs[1];
        let param = |s: &Self, i: usize| -> Result<Vec<f64>> {
            let p = s.constant(ctx, i)?;
            broadcast(&p, &[c]).ok_or_else(|| {
                ctx.invalid(format!(
                    "parameter #{i} of shape {:?} for {c} channels",
                    p.shape
                ))
            })
        };
        let (scale, b, mean, var) = (
            param(self, 1)?,
            param(self, 2)?,
            param(self, 3)?,
            param(self, 4)?,
        );
        let eps = ctx.attr_f("epsilon", 1e-5) as f64;
        let inner: usize = xs[2..].iter().product();
        let total: usize = xs.iter().product();
        let mul: Vec<f64> = (0..c)
            .map(|ch| scale[ch] / (var[ch] + eps).sqrt())
            .collect();
        let terms = (0..total)
            .map(|i| vec![(i, mul[(i / inner) % c])])
            .collect();
        let bias = (0..total).map(|i| {
            let ch = (i / inner) % c;
            b[ch] - mean[ch] * mul[ch]
        });
        Ok(self.push_linear(ctx, x, terms, bias.collect(), xs))
    }

    /// BatchNormalization with statistics (or scale, bias) computed in the graph: the same
    /// formula from element-wise operators, `1/sqrt(var + eps)` by table lookup where `var` is
    /// computed.
    fn batch_norm_computed(&mut self, ctx: &Ctx, x: TensorId, xs: &[usize]) -> Result<Value> {
        let c = xs[1];
        // Each parameter `[C]` as `[C, 1, ...]`, broadcasting over the spatial axes.
        let mut per_channel = vec![c];
        per_channel.extend(std::iter::repeat_n(1, xs.len() - 2));
        let param = |s: &mut Self, i: usize| -> Result<Value> {
            let v = s.any_input(ctx, i)?;
            let len: usize = s.value_shape(&v).iter().product();
            if len != c {
                return Err(
                    ctx.invalid(format!("parameter #{i} has {len} values for {c} channels"))
                );
            }
            s.reshaped(ctx, v, per_channel.clone())
        };
        let (scale, b, mean, var) = (
            param(self, 1)?,
            param(self, 2)?,
            param(self, 3)?,
            param(self, 4)?,
        );
        let eps = ctx.attr_f("epsilon", 1e-5) as f64;
        let var = self.binary(
            ctx,
            "Add",
            var,
            Value::Constant(Constant::float(vec![1], vec![eps])),
        )?;
        let inv = match var {
            Value::Constant(v) => Value::Constant(Constant::float(
                v.shape,
                v.data.iter().map(|v| 1.0 / v.sqrt()).collect(),
            )),
            Value::Tensor(t) => {
                Value::Tensor(self.func_node(ctx, t, crate::functions::Function::Rsqrt))
            }
        };
        let centered = self.binary(ctx, "Sub", Value::Tensor(x), mean)?;
        let factor = self.binary(ctx, "Mul", scale, inv)?;
        let scaled = self.binary(ctx, "Mul", centered, factor)?;
        self.binary(ctx, "Add", scaled, b)
    }
}
