//! Nonlinear operators: element-wise functions by table lookup, and Softmax and
//! LayerNormalization composed from lookups, reductions and products.

use super::shape::{axis, broadcast, ravel, unravel};
use super::{Ctx, Importer, Value};
use crate::functions::Function;
use crate::model::{Op, TensorId};
use crate::Result;

impl Importer {
    /// An element-wise function node.
    pub(super) fn function(&mut self, ctx: &Ctx, func: Function) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        Ok(Value::Tensor(self.func_node(ctx, x, func)))
    }

    fn func_node(&mut self, ctx: &Ctx, x: TensorId, func: Function) -> TensorId {
        let shape = self.shape(x).to_vec();
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Function { func },
            vec![x],
            shape,
        )
    }

    pub(super) fn gelu(&mut self, ctx: &Ctx) -> Result<Value> {
        let approximate = ctx
            .attr("approximate")
            .map(|a| String::from_utf8_lossy(&a.s).to_string())
            .unwrap_or_default();
        if !(approximate.is_empty() || approximate == "none") {
            return Err(ctx.invalid(format!(
                "Gelu approximate={approximate} (only the exact form)"
            )));
        }
        self.function(ctx, Function::Gelu)
    }

    /// For `axis` of `shape`: per output element (the axis reduced to 1), the input elements
    /// along the axis.
    pub(super) fn groups_along(shape: &[usize], a: usize) -> (Vec<usize>, Vec<Vec<usize>>) {
        let mut reduced = shape.to_vec();
        reduced[a] = 1;
        let mut groups = vec![Vec::new(); reduced.iter().product()];
        for flat in 0..shape.iter().product() {
            let mut idx = unravel(flat, shape);
            idx[a] = 0;
            groups[ravel(&idx, &reduced)].push(flat);
        }
        (reduced, groups)
    }

    /// Broadcasts a tensor reduced along `a` back to `shape`.
    fn expand_along(&mut self, ctx: &Ctx, t: TensorId, shape: &[usize], a: usize) -> TensorId {
        let mut reduced = shape.to_vec();
        reduced[a] = 1;
        let sources = (0..shape.iter().product())
            .map(|flat| {
                let mut idx = unravel(flat, shape);
                idx[a] = 0;
                Some((0, ravel(&idx, &reduced)))
            })
            .collect();
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Gather { sources },
            vec![t],
            shape.to_vec(),
        )
    }

    fn mean_along(&mut self, ctx: &Ctx, t: TensorId, shape: &[usize], a: usize) -> TensorId {
        let (reduced, groups) = Self::groups_along(shape, a);
        let terms = groups
            .iter()
            .map(|g| g.iter().map(|i| (*i, 1.0 / g.len() as f64)).collect())
            .collect();
        let bias = vec![0.0; groups.len()];
        self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Linear { terms, bias },
            vec![t],
            reduced,
        )
    }

    /// `softmax(x) = e^(x - max) / Σ e^(x - max)` along `axis`.
    pub(super) fn softmax(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = axis(ctx, ctx.attr_i("axis", -1), shape.len())?;
        let (reduced, groups) = Self::groups_along(&shape, a);
        let max = self.push(
            &ctx.name,
            "Softmax",
            Op::MaxGroups {
                groups: groups.clone(),
            },
            vec![x],
            reduced.clone(),
        );
        let max = self.expand_along(ctx, max, &shape, a);
        let shifted = self.push(&ctx.name, "Softmax", Op::Sub, vec![x, max], shape.clone());
        let e = self.func_node(ctx, shifted, Function::Exp);
        let terms = groups
            .iter()
            .map(|g| g.iter().map(|i| (*i, 1.0)).collect())
            .collect();
        let sum = self.push(
            &ctx.name,
            "Softmax",
            Op::Linear {
                terms,
                bias: vec![0.0; groups.len()],
            },
            vec![e],
            reduced,
        );
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
            Op::AddConst {
                values: vec![eps; n],
            },
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
            Op::Linear { terms, bias },
            vec![normed],
            shape,
        )))
    }
}
