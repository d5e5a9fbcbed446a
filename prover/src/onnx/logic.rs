//! Logic on comparison results: Not, And, Or, Xor of tensors that hold exactly 0 or 1 (a
//! comparison, or logic on comparisons), as arithmetic that keeps them exactly 0 or 1:
//! `not a = 1 - a`, `a and b = a·b`, `a or b = a + b - a·b`, `a xor b = a + b - 2·a·b`. Their
//! results are conditions `Where` accepts.

use super::{Ctx, Importer, Value};
use crate::model::{Op, TensorId};
use crate::Result;

impl Importer {
    /// Whether tensor `t` holds exactly 0 or 1 (a comparison or a logic result).
    pub(super) fn is_boolean(&self, t: TensorId) -> bool {
        matches!(self.nodes[t].op, Op::Compare(_)) || self.booleans.contains(&t)
    }

    /// Not, And, Or, Xor of computed booleans (constants are folded at import).
    pub(super) fn logic(&mut self, ctx: &Ctx) -> Result<Value> {
        let arity = if ctx.proto.op_type == "Not" { 1 } else { 2 };
        let mut inputs = Vec::with_capacity(arity);
        for i in 0..arity {
            let v = self.any_input(ctx, i)?;
            let boolean = match &v {
                Value::Tensor(t) => self.is_boolean(*t),
                Value::Constant(c) => c.data.iter().all(|x| *x == 0.0 || *x == 1.0),
            };
            if !boolean {
                return Err(ctx.invalid(format!(
                    "input #{i} is not a comparison result (Greater, Less, Equal, ...) or a logic \
                     result of them, nor a constant of 0s and 1s"
                )));
            }
            inputs.push(v);
        }
        let one = || Value::Constant(super::Constant::float(vec![1], vec![1.0]));
        let result = match ctx.proto.op_type.as_str() {
            "Not" => self.binary(ctx, "Sub", one(), inputs[0].clone())?,
            op => {
                let (a, b) = (inputs[0].clone(), inputs[1].clone());
                let both = self.binary(ctx, "Mul", a.clone(), b.clone())?;
                match op {
                    "And" => both,
                    _ => {
                        let sum = self.binary(ctx, "Add", a, b)?;
                        let twice = if op == "Xor" { 2.0 } else { 1.0 };
                        let k = Value::Constant(super::Constant::float(vec![1], vec![twice]));
                        let both = self.binary(ctx, "Mul", both, k)?;
                        self.binary(ctx, "Sub", sum, both)?
                    }
                }
            }
        };
        if let Value::Tensor(t) = result {
            self.booleans.insert(t);
        }
        Ok(result)
    }
}
