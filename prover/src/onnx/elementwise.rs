//! Element-wise operators and maxima: Add, Sub, Mul, Div (with broadcasting), Clip, Max,
//! MaxPool, ReduceMax.

use super::shape::broadcast_shapes;
use super::{Constant, Ctx, Importer, Value};
use crate::model::{Comparison, Op, TensorId};
use crate::ops;
use crate::Result;

impl Importer {
    /// Add, Sub, Mul, Div of tensors and constants, numpy-broadcast.
    pub(super) fn arithmetic(&mut self, ctx: &Ctx) -> Result<Value> {
        let (a, b) = (self.any_input(ctx, 0)?, self.any_input(ctx, 1)?);
        self.binary(ctx, ctx.proto.op_type.as_str(), a, b)
    }

    /// `a op b` for `op` one of Add, Sub, Mul, Div, numpy-broadcast (two constants folded).
    pub(super) fn binary(&mut self, ctx: &Ctx, op: &str, a: Value, b: Value) -> Result<Value> {
        let (sa, sb) = (self.value_shape(&a), self.value_shape(&b));
        let shape = broadcast_shapes(&sa, &sb)
            .ok_or_else(|| ctx.invalid(format!("{sa:?} and {sb:?} do not broadcast")))?;
        match (a, b) {
            (Value::Constant(a), Value::Constant(b)) => fold(ctx, op, &a, &b, shape),
            (Value::Tensor(t), Value::Constant(c)) => match op {
                "Add" => self.add_const(ctx, t, &c, 1.0, &shape),
                "Sub" => self.add_const(ctx, t, &c, -1.0, &shape),
                "Mul" => self.scale_by(ctx, Value::Tensor(t), &c, false),
                _ => self.scale_by(ctx, Value::Tensor(t), &c, true),
            },
            (Value::Constant(c), Value::Tensor(t)) => match op {
                "Add" => self.add_const(ctx, t, &c, 1.0, &shape),
                "Sub" => {
                    // c - t = (-1) · t + c
                    let negated = self.scale_by(
                        ctx,
                        Value::Tensor(t),
                        &Constant::float(vec![1], vec![-1.0]),
                        false,
                    )?;
                    let Value::Tensor(n) = negated else {
                        unreachable!("a tensor stays a tensor")
                    };
                    self.add_const(ctx, n, &c, 1.0, &shape)
                }
                "Mul" => self.scale_by(ctx, Value::Tensor(t), &c, false),
                // c / t = c · (1 / t), the reciprocal by table lookup.
                _ => {
                    let t = self.tensor_to(ctx, t, &shape)?;
                    let r = self.func_node(ctx, t, crate::functions::Function::Reciprocal);
                    self.scale_by(ctx, Value::Tensor(r), &c, false)
                }
            },
            (Value::Tensor(a), Value::Tensor(b)) => {
                let a = self.tensor_to(ctx, a, &shape)?;
                let mut b = self.tensor_to(ctx, b, &shape)?;
                let op = match op {
                    "Add" => Op::Add,
                    "Sub" => Op::Sub,
                    "Mul" => Op::Mul,
                    // a / b = a · (1 / b), the reciprocal by table lookup.
                    _ => {
                        b = self.func_node(ctx, b, crate::functions::Function::Reciprocal);
                        Op::Mul
                    }
                };
                Ok(Value::Tensor(self.push(
                    &ctx.name,
                    &ctx.proto.op_type,
                    op,
                    vec![a, b],
                    shape,
                )))
            }
        }
    }

    fn tensor_to(&mut self, ctx: &Ctx, t: TensorId, shape: &[usize]) -> Result<TensorId> {
        match self.broadcast_to(ctx, Value::Tensor(t), shape)? {
            Value::Tensor(t) => Ok(t),
            Value::Constant(_) => unreachable!("a tensor stays a tensor"),
        }
    }

    fn add_const(
        &mut self,
        ctx: &Ctx,
        t: TensorId,
        c: &Constant,
        sign: f64,
        shape: &[usize],
    ) -> Result<Value> {
        let t = self.tensor_to(ctx, t, shape)?;
        let values: Vec<f64> = super::shape::broadcast(c, shape)
            .expect("broadcast checked")
            .iter()
            .map(|v| sign * v)
            .collect();
        if values.iter().any(|v| v.is_nan() || *v == f64::INFINITY) {
            return Err(ctx.invalid("adds +infinity (only -inf, an attention mask, may be added)"));
        }
        let (values, mask) = super::masking::split_mask(&values);
        let id = self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::AddConst(ops::arithmetic::AddConst { values }),
            vec![t],
            shape.to_vec(),
        );
        self.add_mask(id, mask);
        Ok(Value::Tensor(id))
    }

    /// Clip with bounds as attributes (opset < 11) or constant inputs; bounds computed in the
    /// graph make it `min(max(x, lo), hi)`.
    pub(super) fn clip(&mut self, ctx: &Ctx) -> Result<Value> {
        let computed = |s: &Self, i: usize| {
            ctx.has_input(i) && matches!(s.input(ctx, i), Ok(Value::Tensor(_)))
        };
        if computed(self, 1) || computed(self, 2) {
            let mut y = self.any_input(ctx, 0)?;
            if ctx.has_input(1) {
                let lo = self.any_input(ctx, 1)?;
                y = self.max_of(ctx, vec![y, lo])?;
            }
            if ctx.has_input(2) {
                let hi = self.any_input(ctx, 2)?;
                y = self.min_of(ctx, vec![y, hi])?;
            }
            return Ok(y);
        }
        let bound = |s: &Self, i: usize, attr: &str, default: f64| -> Result<f64> {
            if ctx.has_input(i) {
                Ok(s.constant(ctx, i)?.data.first().copied().unwrap_or(default))
            } else {
                Ok(ctx.attr(attr).map_or(default, |a| a.f as f64))
            }
        };
        let (min, max) = (
            bound(self, 1, "min", f64::NEG_INFINITY)?,
            bound(self, 2, "max", f64::INFINITY)?,
        );
        if min > max {
            return Err(ctx.invalid(format!("min {min} > max {max}")));
        }
        let op = match (min.is_finite(), max.is_finite()) {
            (true, true) => Op::Clip(ops::piecewise::Clip { min, max }),
            (false, false) => Op::Reshape,
            (true, false) if min == 0.0 => Op::Relu,
            _ => {
                return Err(
                    ctx.invalid("a one-sided Clip other than Clip(min = 0) is not supported")
                )
            }
        };
        self.unary(ctx, op)
    }

    /// The inputs of a variadic element-wise node (Max, Min, Sum, Mean), broadcast to their common
    /// shape and stacked into one tensor: element `i` of input `j` at `j · len + i`. Returns the
    /// stacked tensor, the common shape, and for each output element its group of copies.
    fn stack_inputs(&mut self, ctx: &Ctx) -> Result<(TensorId, Vec<usize>, Vec<Vec<usize>>)> {
        let inputs: Vec<Value> = (0..ctx.proto.input.len())
            .filter(|i| ctx.has_input(*i))
            .map(|i| self.any_input(ctx, i))
            .collect::<Result<_>>()?;
        self.stack_values(ctx, inputs)
    }

    /// [`Self::stack_inputs`] of the given values.
    fn stack_values(
        &mut self,
        ctx: &Ctx,
        inputs: Vec<Value>,
    ) -> Result<(TensorId, Vec<usize>, Vec<Vec<usize>>)> {
        let mut shape = vec![];
        for v in &inputs {
            let s = self.value_shape(v);
            shape = broadcast_shapes(&shape, &s)
                .ok_or_else(|| ctx.invalid(format!("{shape:?} and {s:?} do not broadcast")))?;
        }
        let mut wired = Vec::new();
        for v in inputs {
            wired.push(self.broadcast_to(ctx, v, &shape)?);
        }
        let len: usize = shape.iter().product();
        let k = wired.len();
        let sources = (0..k * len).map(|f| Some((f / len, f % len))).collect();
        let stacked = self.wire(ctx, &wired, vec![k * len], sources)?;
        let Value::Tensor(stacked) = stacked else {
            return Err(ctx.invalid("every input is a constant (fold it before export)"));
        };
        let groups = (0..len)
            .map(|i| (0..k).map(|j| j * len + i).collect())
            .collect();
        Ok((stacked, shape, groups))
    }

    /// Variadic element-wise Max of tensors (broadcast).
    pub(super) fn max(&mut self, ctx: &Ctx) -> Result<Value> {
        let stacked = self.stack_inputs(ctx)?;
        self.extremum(ctx, stacked, false)
    }

    /// Element-wise maximum of `values` (broadcast).
    pub(super) fn max_of(&mut self, ctx: &Ctx, values: Vec<Value>) -> Result<Value> {
        let stacked = self.stack_values(ctx, values)?;
        self.extremum(ctx, stacked, false)
    }

    /// Variadic element-wise Min: `-max(-x_1, ..., -x_k)` (the negations are exact).
    pub(super) fn min(&mut self, ctx: &Ctx) -> Result<Value> {
        let stacked = self.stack_inputs(ctx)?;
        self.extremum(ctx, stacked, true)
    }

    /// Element-wise minimum of `values` (broadcast).
    pub(super) fn min_of(&mut self, ctx: &Ctx, values: Vec<Value>) -> Result<Value> {
        let stacked = self.stack_values(ctx, values)?;
        self.extremum(ctx, stacked, true)
    }

    /// The maximum (or, negated on both sides, the minimum) of each group of stacked copies.
    fn extremum(
        &mut self,
        ctx: &Ctx,
        (stacked, shape, groups): (TensorId, Vec<usize>, Vec<Vec<usize>>),
        min: bool,
    ) -> Result<Value> {
        let minus_one = Constant::float(vec![1], vec![-1.0]);
        let x = if min {
            match self.scale_by(ctx, Value::Tensor(stacked), &minus_one, false)? {
                Value::Tensor(t) => t,
                Value::Constant(_) => unreachable!("a tensor stays a tensor"),
            }
        } else {
            stacked
        };
        let max = self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::MaxGroups(ops::compare::MaxGroups { groups }),
            vec![x],
            shape,
        );
        if min {
            self.scale_by(ctx, Value::Tensor(max), &minus_one, false)
        } else {
            Ok(Value::Tensor(max))
        }
    }

    /// Variadic element-wise Sum, or Mean (its average).
    pub(super) fn sum_or_mean(&mut self, ctx: &Ctx, mean: bool) -> Result<Value> {
        let (stacked, shape, groups) = self.stack_inputs(ctx)?;
        Ok(Value::Tensor(
            self.sum_groups(ctx, stacked, &groups, shape, mean),
        ))
    }

    pub(super) fn max_pool(&mut self, ctx: &Ctx) -> Result<Value> {
        if ctx.proto.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(ctx.invalid("the Indices output of MaxPool is not supported"));
        }
        let pool = self.pooling(ctx)?;
        if pool.windows.iter().any(|(valid, _)| valid.is_empty()) {
            return Err(ctx.invalid("a pooling window covers only padding"));
        }
        let groups = pool.windows.into_iter().map(|(valid, _)| valid).collect();
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "MaxPool",
            Op::MaxGroups(ops::compare::MaxGroups { groups }),
            vec![pool.x],
            pool.shape,
        )))
    }

    pub(super) fn reduce_max(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let (out, groups) = self.reduction(ctx, &shape)?;
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "ReduceMax",
            Op::MaxGroups(ops::compare::MaxGroups { groups }),
            vec![x],
            out,
        )))
    }
}

/// Arithmetic on two constants (shape computations in exported graphs).
fn fold(ctx: &Ctx, op: &str, a: &Constant, b: &Constant, shape: Vec<usize>) -> Result<Value> {
    // Integers divide as ONNX's integer Div does: truncated toward zero.
    let integer = a.integer && b.integer;
    let (a, b) = (
        super::shape::broadcast(a, &shape).expect("checked"),
        super::shape::broadcast(b, &shape).expect("checked"),
    );
    let data = a
        .iter()
        .zip(&b)
        .map(|(x, y)| match op {
            "Add" => Ok(x + y),
            "Sub" => Ok(x - y),
            "Mul" => Ok(x * y),
            _ if *y == 0.0 => Err(ctx.invalid("division by zero")),
            _ if integer => Ok((x / y).trunc()),
            _ => Ok(x / y),
        })
        .collect::<Result<Vec<f64>>>()?;
    if data.iter().any(|v| v.is_nan() || *v == f64::INFINITY) {
        return Err(ctx.invalid("folding constants gives NaN or +infinity"));
    }
    Ok(Value::Constant(Constant {
        shape,
        data,
        integer,
    }))
}

impl Importer {
    /// Both inputs as tensors of the broadcast shape (a constant is materialized).
    fn tensor_pair(
        &mut self,
        ctx: &Ctx,
        i: usize,
        j: usize,
    ) -> Result<(TensorId, TensorId, Vec<usize>)> {
        let (a, b) = (self.any_input(ctx, i)?, self.any_input(ctx, j)?);
        let (sa, sb) = (self.value_shape(&a), self.value_shape(&b));
        let shape = broadcast_shapes(&sa, &sb)
            .ok_or_else(|| ctx.invalid(format!("{sa:?} and {sb:?} do not broadcast")))?;
        let like = match (&a, &b) {
            (Value::Tensor(t), _) | (_, Value::Tensor(t)) => *t,
            _ => return Err(ctx.invalid("comparison of two constants")),
        };
        let as_tensor = |s: &mut Self, v: Value| -> Result<TensorId> {
            match s.broadcast_to(ctx, v, &shape)? {
                Value::Tensor(t) => Ok(t),
                Value::Constant(c) => Ok(s.materialize(ctx, &c, like)),
            }
        };
        let ta = as_tensor(self, a)?;
        let tb = as_tensor(self, b)?;
        Ok((ta, tb, shape))
    }

    /// Greater, Less, GreaterOrEqual, LessOrEqual, Equal: 1.0 where the comparison holds.
    pub(super) fn compare(&mut self, ctx: &Ctx) -> Result<Value> {
        let (a, b, shape) = self.tensor_pair(ctx, 0, 1)?;
        let (kind, swap) = match ctx.proto.op_type.as_str() {
            "Greater" => (Comparison::Greater, false),
            "Less" => (Comparison::Greater, true),
            "GreaterOrEqual" => (Comparison::GreaterOrEqual, false),
            "LessOrEqual" => (Comparison::GreaterOrEqual, true),
            _ => (Comparison::Equal, false),
        };
        let inputs = if swap { vec![b, a] } else { vec![a, b] };
        Ok(Value::Tensor(self.push(
            &ctx.name,
            &ctx.proto.op_type,
            Op::Compare(ops::compare::Compare { kind }),
            inputs,
            shape,
        )))
    }

    /// Where(cond, x, y): a constant condition is folded into wiring; a computed one must be a
    /// comparison result.
    pub(super) fn where_op(&mut self, ctx: &Ctx) -> Result<Value> {
        let cond = self.any_input(ctx, 0)?;
        if let Value::Constant(c) = &cond {
            let (x, y) = (self.any_input(ctx, 1)?, self.any_input(ctx, 2)?);
            let shape = [self.value_shape(&x), self.value_shape(&y), c.shape.clone()]
                .iter()
                .try_fold(vec![], |acc, s| broadcast_shapes(&acc, s))
                .ok_or_else(|| ctx.invalid("inputs do not broadcast"))?;
            let x = self.broadcast_to(ctx, x, &shape)?;
            let y = self.broadcast_to(ctx, y, &shape)?;
            let c = super::shape::broadcast(c, &shape).expect("checked");
            let sources = c
                .iter()
                .enumerate()
                .map(|(i, c)| Some(if *c != 0.0 { (0, i) } else { (1, i) }))
                .collect();
            return self.wire(ctx, &[x, y], shape, sources);
        }
        let Value::Tensor(ct) = cond else {
            unreachable!()
        };
        if !self.is_boolean(ct) {
            return Err(ctx
                .invalid("the condition must come from a comparison (Greater, Less, Equal, ...) or Not/And/Or/Xor of comparisons"));
        }
        let (x, y, shape) = self.tensor_pair(ctx, 1, 2)?;
        let shape = broadcast_shapes(&shape, self.shape(ct))
            .ok_or_else(|| ctx.invalid("inputs do not broadcast"))?;
        let c = self.tensor_to(ctx, ct, &shape)?;
        let x = self.tensor_to(ctx, x, &shape)?;
        let y = self.tensor_to(ctx, y, &shape)?;
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Where",
            Op::Where,
            vec![c, x, y],
            shape,
        )))
    }

    pub(super) fn argmax(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let a = super::shape::axis(ctx, ctx.attr_i("axis", 0), shape.len())?;
        let (reduced, groups) = super::shape::reduce_groups(&shape, &[a]);
        let out = if ctx.attr_i("keepdims", 1) != 0 {
            reduced
        } else {
            super::shape::without_axes(&shape, &[a])
        };
        let last = ctx.attr_i("select_last_index", 0) != 0;
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "ArgMax",
            Op::ArgMax(ops::compare::ArgMax { groups, last }),
            vec![x],
            out,
        )))
    }

    pub(super) fn neg(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.any_input(ctx, 0)?;
        self.scale_by(ctx, x, &Constant::float(vec![1], vec![-1.0]), false)
    }
}
