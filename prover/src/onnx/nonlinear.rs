//! Nonlinear operators: element-wise functions by table lookup, and Softmax and
//! LayerNormalization composed from lookups, reductions and products.

use super::shape::{axis, broadcast, reduce_groups};
use super::{Ctx, Importer, Value};
use crate::functions::Function;
use crate::model::{Op, TensorId};
use crate::ops;
use crate::Result;

/// The table function an ONNX activation node computes (attributes read, ONNX defaults), or
/// `None` for any other op type.
pub(super) fn table_function(ctx: &Ctx) -> Result<Option<Function>> {
    let alpha = |default: f32| ctx.attr_f("alpha", default) as f64;
    Ok(Some(match ctx.proto.op_type.as_str() {
        "Sigmoid" => Function::Sigmoid,
        "Tanh" => Function::Tanh,
        "Exp" => Function::Exp,
        "Erf" => Function::Erf,
        "Softplus" => Function::Softplus,
        "Sqrt" => Function::Sqrt,
        "Sin" => Function::Sin,
        "Cos" => Function::Cos,
        "Log" => Function::Log,
        "Reciprocal" => Function::Reciprocal,
        "HardSigmoid" => Function::HardSigmoid {
            alpha: alpha(0.2),
            beta: ctx.attr_f("beta", 0.5) as f64,
        },
        "Elu" => Function::Elu { alpha: alpha(1.0) },
        "HardSwish" => Function::HardSwish,
        "Selu" => Function::Selu {
            alpha: alpha(1.673_263_2),
            gamma: ctx.attr_f("gamma", 1.050_701) as f64,
        },
        "Celu" if alpha(1.0) == 0.0 => return Err(ctx.invalid("Celu alpha = 0")),
        "Celu" => Function::Celu { alpha: alpha(1.0) },
        "Softsign" => Function::Softsign,
        "Mish" => Function::Mish,
        "ThresholdedRelu" => Function::ThresholdedRelu { alpha: alpha(1.0) },
        _ => return Ok(None),
    }))
}

impl Importer {
    /// An element-wise function node.
    pub(super) fn function(&mut self, ctx: &Ctx, func: Function) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        Ok(Value::Tensor(self.func_node(ctx, x, func)))
    }

    pub(super) fn func_node(&mut self, ctx: &Ctx, x: TensorId, func: Function) -> TensorId {
        let shape = self.shape(x).to_vec();
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Function(ops::lookup::FunctionOp { func }),
            vec![x],
            shape,
        )
    }

    pub(super) fn gelu(&mut self, ctx: &Ctx) -> Result<Value> {
        let approximate = ctx
            .attr("approximate")
            .map(|a| String::from_utf8_lossy(&a.s).to_string())
            .unwrap_or_default();
        match approximate.as_str() {
            "" | "none" => self.function(ctx, Function::Gelu),
            "tanh" => self.function(ctx, Function::GeluTanh),
            other => Err(ctx.invalid(format!(
                "Gelu approximate={other} (the exact form, or \"tanh\")"
            ))),
        }
    }

    /// The mean of `t` over `axes` (kept, as 1).
    fn mean_over(&mut self, ctx: &Ctx, t: TensorId, shape: &[usize], axes: &[usize]) -> TensorId {
        let (reduced, groups) = reduce_groups(shape, axes);
        self.sum_groups(ctx, t, &groups, reduced, true)
    }

    /// `softmax(x) = e^(x - max) / Σ e^(x - max)` along `axis` (opset 13 on; default -1); before
    /// opset 13 over the axes from `axis` on (the input flattened to 2-D there; default 1).
    pub(super) fn softmax(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let rank = self.shape(x).len();
        let axes: Vec<usize> = if self.opset < 13 {
            (axis(ctx, ctx.attr_i("axis", 1), rank)?..rank).collect()
        } else {
            vec![axis(ctx, ctx.attr_i("axis", -1), rank)?]
        };
        self.softmax_over(ctx, x, &axes)
    }

    /// Softmax of `x` over `axes` (its masked entries, if any, exact zeros).
    pub(super) fn softmax_over(&mut self, ctx: &Ctx, x: TensorId, axes: &[usize]) -> Result<Value> {
        let shape = self.shape(x).to_vec();
        let (reduced, groups) = reduce_groups(&shape, axes);
        if let Some(mask) = self.mask_of(x).cloned() {
            return self.masked_softmax(ctx, x, shape, groups, &mask);
        }
        let max = self.push(
            &ctx.name,
            "Softmax",
            Op::MaxGroups(ops::compare::MaxGroups {
                groups: groups.clone(),
            }),
            vec![x],
            reduced.clone(),
        );
        let max = self.expand_over(ctx, max, &shape, axes);
        let shifted = self.push(&ctx.name, "Softmax", Op::Sub, vec![x, max], shape.clone());
        let e = self.func_node(ctx, shifted, Function::Exp);
        let sum = self.sum_groups(ctx, e, &groups, reduced, false);
        let inv = self.func_node(ctx, sum, Function::Reciprocal);
        let inv = self.expand_over(ctx, inv, &shape, axes);
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Softmax",
            Op::Mul,
            vec![e, inv],
            shape,
        )))
    }

    /// Softmax over `groups` of `x` leaving out its masked (`-inf`) elements, which come out as
    /// exact zeros: the unmasked elements are gathered into one vector, each group's softmax
    /// computed there as in [`Self::softmax`], and the results wired back with zeros between.
    fn masked_softmax(
        &mut self,
        ctx: &Ctx,
        x: TensorId,
        shape: Vec<usize>,
        groups: Vec<Vec<usize>>,
        mask: &[bool],
    ) -> Result<Value> {
        let n = mask.len();
        let mut order = Vec::new(); // element of x at each compact position
        let mut group_of = Vec::new(); // its group
        let mut compact_groups = Vec::with_capacity(groups.len());
        for (g, members) in groups.iter().enumerate() {
            let kept: Vec<usize> = members.iter().copied().filter(|i| !mask[*i]).collect();
            if kept.is_empty() {
                return Err(ctx.invalid(format!(
                    "softmax group {g} is masked entirely (every entry -inf or a stand-in for it)"
                )));
            }
            compact_groups.push((order.len()..order.len() + kept.len()).collect());
            group_of.extend(std::iter::repeat_n(g, kept.len()));
            order.extend(kept);
        }
        let len = order.len();
        let gather =
            |sources: Vec<Option<(usize, usize)>>| Op::Gather(ops::wiring::Gather { sources });
        let compact = self.push(
            &ctx.name,
            "Softmax",
            gather(order.iter().map(|i| Some((0, *i))).collect()),
            vec![x],
            vec![len],
        );
        let spread = gather(group_of.iter().map(|g| Some((0, *g))).collect());
        let max = self.push(
            &ctx.name,
            "Softmax",
            Op::MaxGroups(ops::compare::MaxGroups {
                groups: compact_groups.clone(),
            }),
            vec![compact],
            vec![groups.len()],
        );
        let max = self.push(&ctx.name, "Softmax", spread.clone(), vec![max], vec![len]);
        let shifted = self.push(&ctx.name, "Softmax", Op::Sub, vec![compact, max], vec![len]);
        let e = self.func_node(ctx, shifted, Function::Exp);
        let sum = self.sum_groups(ctx, e, &compact_groups, vec![groups.len()], false);
        let inv = self.func_node(ctx, sum, Function::Reciprocal);
        let inv = self.push(&ctx.name, "Softmax", spread, vec![inv], vec![len]);
        let p = self.push(&ctx.name, "Softmax", Op::Mul, vec![e, inv], vec![len]);
        let mut back = vec![None; n];
        for (at, i) in order.iter().enumerate() {
            back[*i] = Some((0, at));
        }
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Softmax",
            gather(back),
            vec![p],
            shape,
        )))
    }

    /// `(x - mean) / sqrt(var + eps)` over `axes` (mean and variance over them).
    fn normalize(&mut self, ctx: &Ctx, x: TensorId, axes: &[usize], eps: f64) -> TensorId {
        let shape = self.shape(x).to_vec();
        let op_type = ctx.proto.op_type.clone();
        let mean = self.mean_over(ctx, x, &shape, axes);
        let mean = self.expand_over(ctx, mean, &shape, axes);
        let centered = self.push(&ctx.name, &op_type, Op::Sub, vec![x, mean], shape.clone());
        let squared = self.push(
            &ctx.name,
            &op_type,
            Op::Mul,
            vec![centered, centered],
            shape.clone(),
        );
        let var = self.mean_over(ctx, squared, &shape, axes);
        let var_shape = self.shape(var).to_vec();
        let n: usize = var_shape.iter().product();
        let var = self.push(
            &ctx.name,
            &op_type,
            Op::AddConst(ops::arithmetic::AddConst {
                values: vec![eps; n],
            }),
            vec![var],
            var_shape,
        );
        let inv = self.func_node(ctx, var, Function::Rsqrt);
        let inv = self.expand_over(ctx, inv, &shape, axes);
        self.push(&ctx.name, &op_type, Op::Mul, vec![centered, inv], shape)
    }

    /// LayerNormalization over the axes from `axis` on, then scale and bias (of the normalized
    /// shape, broadcast).
    pub(super) fn layer_norm(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = axis(ctx, ctx.attr_i("axis", -1), shape.len())?;
        let axes: Vec<usize> = (a..shape.len()).collect();
        let eps = ctx.attr_f("epsilon", 1e-5) as f64;
        let normed = self.normalize(ctx, x, &axes, eps);
        let inner: usize = shape[a..].iter().product();
        self.scale_and_shift(ctx, normed, &shape[a..], move |i| i % inner)
    }

    /// InstanceNormalization: per sample and channel, over the spatial axes; scale and bias per
    /// channel.
    pub(super) fn instance_norm(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        if shape.len() < 3 {
            return Err(ctx.invalid(format!("input of shape {shape:?} has no spatial axes")));
        }
        let axes: Vec<usize> = (2..shape.len()).collect();
        let eps = ctx.attr_f("epsilon", 1e-5) as f64;
        let normed = self.normalize(ctx, x, &axes, eps);
        let (channels, inner) = (shape[1], shape[2..].iter().product::<usize>());
        self.scale_and_shift(ctx, normed, &[channels], move |i| (i / inner) % channels)
    }

    /// GroupNormalization: per sample and group of `C / num_groups` channels, over those
    /// channels and the spatial axes; scale and bias per channel (opset 21) or per group (18).
    pub(super) fn group_norm(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let groups = usize::try_from(ctx.attr_i("num_groups", 0)).unwrap_or(0);
        if shape.len() < 2 || groups == 0 || !shape[1].is_multiple_of(groups) {
            return Err(ctx.invalid(format!(
                "input {shape:?} with num_groups {groups} (channels must divide into groups)"
            )));
        }
        let (n, c) = (shape[0], shape[1]);
        let inner: usize = shape[2..].iter().product();
        let grouped = vec![n, groups, (c / groups) * inner];
        let g = self.push(
            &ctx.name,
            "GroupNormalization",
            Op::Reshape,
            vec![x],
            grouped,
        );
        let eps = ctx.attr_f("epsilon", 1e-5) as f64;
        let normed = self.normalize(ctx, g, &[2], eps);
        let normed = self.push(
            &ctx.name,
            "GroupNormalization",
            Op::Reshape,
            vec![normed],
            shape,
        );
        let per = self.constant(ctx, 1)?.data.len();
        let width = c / groups;
        if per == groups && groups != c {
            self.scale_and_shift(ctx, normed, &[groups], move |i| {
                (i / inner / width) % groups
            })
        } else {
            self.scale_and_shift(ctx, normed, &[c], move |i| (i / inner) % c)
        }
    }

    /// Pow with a constant exponent: whole exponents by repeated products (a negative one then
    /// the reciprocal by lookup), 0.5 by the square-root table; any other exponent is refused.
    pub(super) fn pow(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let e = match self.input(ctx, 1)? {
            super::Value::Constant(c) if c.data.len() == 1 => c.data[0],
            _ => return Err(ctx.invalid("the exponent must be one constant")),
        };
        if e == 0.5 {
            return Ok(Value::Tensor(self.func_node(ctx, x, Function::Sqrt)));
        }
        if e.fract() != 0.0 || e == 0.0 || e.abs() > 8.0 {
            return Err(ctx.invalid(format!(
                "exponent {e} (whole exponents from -8 to 8 but 0, or 0.5)"
            )));
        }
        let shape = self.shape(x).to_vec();
        let mut y = x;
        for _ in 1..(e.abs() as usize) {
            y = self.push(&ctx.name, "Pow", Op::Mul, vec![y, x], shape.clone());
        }
        if e < 0.0 {
            y = self.func_node(ctx, y, Function::Reciprocal);
        }
        if y == x {
            y = self.push(&ctx.name, "Pow", Op::Reshape, vec![x], shape);
        }
        Ok(Value::Tensor(y))
    }

    /// `normed[i] · scale[at(i)] + bias[at(i)]`, scale and bias constants broadcast to
    /// `norm_shape` (flattened).
    fn scale_and_shift(
        &mut self,
        ctx: &Ctx,
        normed: TensorId,
        norm_shape: &[usize],
        at: impl Fn(usize) -> usize,
    ) -> Result<Value> {
        let shape = self.shape(normed).to_vec();
        let len: usize = norm_shape.iter().product();
        let scale = broadcast(&self.constant(ctx, 1)?, norm_shape)
            .ok_or_else(|| ctx.invalid(format!("scale does not broadcast to {norm_shape:?}")))?;
        let bias = if ctx.has_input(2) {
            broadcast(&self.constant(ctx, 2)?, norm_shape)
                .ok_or_else(|| ctx.invalid(format!("bias does not broadcast to {norm_shape:?}")))?
        } else {
            vec![0.0; len]
        };
        let total: usize = shape.iter().product();
        let terms = (0..total).map(|i| vec![(i, scale[at(i)])]).collect();
        let bias = (0..total).map(|i| bias[at(i)]).collect();
        Ok(Value::Tensor(self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Linear(ops::linear::Linear { terms, bias }),
            vec![normed],
            shape,
        )))
    }
}
