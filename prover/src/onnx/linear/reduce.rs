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
        if ctx.attr_i("training_mode", 0) != 0 {
            return Err(ctx.invalid("training_mode = 1 (export the model for inference)"));
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
        // Each parameter `[C]` as `[C, 1, ...]`, broadcasting over the spatial axes.
        let (c, spatial) = (xs[1], xs.len() - 2);
        let param = |s: &mut Self, i: usize| s.per_channel_input(ctx, i, c, spatial);
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

    /// ReduceL1, ReduceL2, ReduceSumSquare, ReduceMin and ReduceLogSumExp, composed: `|x|`,
    /// `x·x`, a negation or a max-shifted `e^x` per element, then a sum (or maximum) per group,
    /// then `sqrt`, a negation or `log` (plus the maximum) per result.
    pub(in crate::onnx) fn reduce_composed(&mut self, ctx: &Ctx) -> Result<Value> {
        use crate::functions::Function;
        use crate::model::Op;
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let (out, groups) = self.reduction(ctx, &shape)?;
        let n = groups.len();
        let op_type = ctx.proto.op_type.clone();
        let minus_one = Constant::float(vec![1], vec![-1.0]);
        let result = match op_type.as_str() {
            "ReduceL1" => {
                let a = self.push(&ctx.name, &op_type, Op::Abs, vec![x], shape);
                self.sum_groups(ctx, a, &groups, vec![n], false)
            }
            "ReduceSumSquare" | "ReduceL2" => {
                let sq = self.push(&ctx.name, &op_type, Op::Mul, vec![x, x], shape);
                let s = self.sum_groups(ctx, sq, &groups, vec![n], false);
                if op_type == "ReduceL2" {
                    self.func_node(ctx, s, Function::Sqrt)
                } else {
                    s
                }
            }
            "ReduceMin" => {
                let Value::Tensor(neg) = self.scale_by(ctx, Value::Tensor(x), &minus_one, false)?
                else {
                    unreachable!("a tensor stays a tensor")
                };
                let m = self.push(
                    &ctx.name,
                    &op_type,
                    Op::MaxGroups(crate::ops::compare::MaxGroups { groups }),
                    vec![neg],
                    vec![n],
                );
                match self.scale_by(ctx, Value::Tensor(m), &minus_one, false)? {
                    Value::Tensor(t) => t,
                    Value::Constant(_) => unreachable!("a tensor stays a tensor"),
                }
            }
            _ => {
                // log Σ e^x = max + log Σ e^(x - max)
                let m = self.push(
                    &ctx.name,
                    &op_type,
                    Op::MaxGroups(crate::ops::compare::MaxGroups {
                        groups: groups.clone(),
                    }),
                    vec![x],
                    vec![n],
                );
                let spread = self.spread_groups(ctx, m, &groups, &shape);
                let shifted = self.push(&ctx.name, &op_type, Op::Sub, vec![x, spread], shape);
                let e = self.func_node(ctx, shifted, Function::Exp);
                let s = self.sum_groups(ctx, e, &groups, vec![n], false);
                let l = self.func_node(ctx, s, Function::Log);
                self.push(&ctx.name, &op_type, Op::Add, vec![l, m], vec![n])
            }
        };
        self.reshaped(ctx, Value::Tensor(result), out)
    }

    /// CumSum along a constant `axis` (`exclusive`, `reverse`): each output a sum of a prefix (or
    /// suffix) of its line, onto `Linear`.
    pub(in crate::onnx) fn cumsum(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = self.ints(ctx, 1)?;
        let a = axis(
            ctx,
            *a.first().ok_or_else(|| ctx.invalid("no axis"))?,
            shape.len(),
        )?;
        let (exclusive, reverse) = (
            ctx.attr_i("exclusive", 0) != 0,
            ctx.attr_i("reverse", 0) != 0,
        );
        let len = shape[a];
        let stride: usize = shape[a + 1..].iter().product();
        let total: usize = shape.iter().product();
        crate::onnx::shape::check_size(ctx, &[total, len])?;
        let terms = (0..total)
            .map(|o| {
                let at = (o / stride) % len;
                let base = o - at * stride;
                let range: Vec<usize> = if reverse {
                    ((at + usize::from(exclusive))..len).collect()
                } else {
                    (0..(at + 1 - usize::from(exclusive))).collect()
                };
                range
                    .into_iter()
                    .map(|j| (base + j * stride, 1.0))
                    .collect()
            })
            .collect();
        Ok(self.push_linear(ctx, x, terms, vec![0.0; total], shape))
    }
}
