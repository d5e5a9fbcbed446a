//! Nonlinear operators: element-wise functions by table lookup, and Softmax and
//! LayerNormalization composed from lookups, reductions and products.

use super::shape::{axis, broadcast, reduce_groups};
use super::{Ctx, Importer, Value};
use crate::functions::Function;
use crate::model::{Op, TensorId};
use crate::ops;
use crate::Result;

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

    fn mean_along(&mut self, ctx: &Ctx, t: TensorId, shape: &[usize], a: usize) -> TensorId {
        let (reduced, groups) = reduce_groups(shape, &[a]);
        self.sum_groups(ctx, t, &groups, reduced, true)
    }

    /// `softmax(x) = e^(x - max) / Σ e^(x - max)` along `axis`.
    pub(super) fn softmax(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = axis(ctx, ctx.attr_i("axis", -1), shape.len())?;
        let (reduced, groups) = reduce_groups(&shape, &[a]);
        let max = self.push(
            &ctx.name,
            "Softmax",
            Op::MaxGroups(ops::compare::MaxGroups {
                groups: groups.clone(),
            }),
            vec![x],
            reduced.clone(),
        );
        let max = self.expand_along(ctx, max, &shape, a);
        let shifted = self.push(&ctx.name, "Softmax", Op::Sub, vec![x, max], shape.clone());
        let e = self.func_node(ctx, shifted, Function::Exp);
        let sum = self.sum_groups(ctx, e, &groups, reduced, false);
        let inv = self.func_node(ctx, sum, Function::Reciprocal);
        let inv = self.expand_along(ctx, inv, &shape, a);
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Softmax",
            Op::Mul,
            vec![e, inv],
            shape,
        )))
    }

    /// LayerNormalization over the last axis (from `axis` on, flattened), then scale and bias.
    pub(super) fn layer_norm(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = axis(ctx, ctx.attr_i("axis", -1), shape.len())?;
        if a != shape.len() - 1 {
            return Err(ctx.invalid("LayerNormalization over more than the last axis"));
        }
        let eps = ctx.attr_f("epsilon", 1e-5) as f64;
        let mean = self.mean_along(ctx, x, &shape, a);
        let mean = self.expand_along(ctx, mean, &shape, a);
        let centered = self.push(
            &ctx.name,
            "LayerNormalization",
            Op::Sub,
            vec![x, mean],
            shape.clone(),
        );
        let squared = self.push(
            &ctx.name,
            "LayerNormalization",
            Op::Mul,
            vec![centered, centered],
            shape.clone(),
        );
        let var = self.mean_along(ctx, squared, &shape, a);
        let var_shape = self.shape(var).to_vec();
        let n: usize = var_shape.iter().product();
        let var = self.push(
            &ctx.name,
            "LayerNormalization",
            Op::AddConst(ops::arithmetic::AddConst {
                values: vec![eps; n],
            }),
            vec![var],
            var_shape,
        );
        let inv = self.func_node(ctx, var, Function::Rsqrt);
        let inv = self.expand_along(ctx, inv, &shape, a);
        let normed = self.push(
            &ctx.name,
            "LayerNormalization",
            Op::Mul,
            vec![centered, inv],
            shape.clone(),
        );
        let last = shape[a];
        let scale = broadcast(&self.constant(ctx, 1)?, &[last])
            .ok_or_else(|| ctx.invalid("scale does not match the last axis"))?;
        let bias = if ctx.has_input(2) {
            broadcast(&self.constant(ctx, 2)?, &[last])
                .ok_or_else(|| ctx.invalid("bias does not match the last axis"))?
        } else {
            vec![0.0; last]
        };
        let total: usize = shape.iter().product();
        let terms = (0..total).map(|i| vec![(i, scale[i % last])]).collect();
        let bias = (0..total).map(|i| bias[i % last]).collect();
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "LayerNormalization",
            Op::Linear(ops::linear::Linear { terms, bias }),
            vec![normed],
            shape,
        )))
    }
}
