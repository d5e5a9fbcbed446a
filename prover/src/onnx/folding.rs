//! Constant folding of the shape arithmetic exporters emit around `Shape` (Floor, Ceil, Round,
//! Mod, Pow, comparisons and logic, Min/Max, Where, Range, ConstantOfShape, ...): a node whose
//! inputs are all constants becomes a constant at import, so no circuit cell is spent on it.
//! Values are folded as `f64` (exact for the integers of shapes); a node on computed tensors
//! is left to its importer.

use super::shape::{broadcast, broadcast_shapes, check_size};
use super::{Constant, Ctx, Importer, Value};
use crate::Result;

/// Logic and comparison ops folded when every input is a constant: their result is boolean.
const BOOLEAN: [&str; 9] = [
    "Not",
    "Equal",
    "Less",
    "LessOrEqual",
    "Greater",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
];

/// Numeric element-wise ops folded when every input is a constant (with [`BOOLEAN`]'s).
const NUMERIC: [&str; 13] = [
    "Floor",
    "Ceil",
    "Round",
    "Neg",
    "Abs",
    "Sqrt",
    "Reciprocal",
    "Exp",
    "Log",
    "Mod",
    "Pow",
    "Min",
    "Max",
];

impl Importer {
    /// The node's value when it only computes on constants (or makes one), else `None`.
    pub(super) fn fold_constant_node(&mut self, ctx: &Ctx) -> Result<Option<Value>> {
        let op = ctx.proto.op_type.as_str();
        if op == "ConstantOfShape" {
            return constant_of_shape(self, ctx).map(Some);
        }
        if !(NUMERIC.contains(&op) || BOOLEAN.contains(&op) || op == "Where" || op == "Range") {
            return Ok(None);
        }
        let mut inputs = Vec::new();
        for i in 0..ctx.proto.input.len() {
            match self.input(ctx, i)? {
                Value::Constant(c) => inputs.push(c.clone()),
                Value::Tensor(_) => return Ok(None),
            }
        }
        if inputs.is_empty() {
            return Ok(None);
        }
        let folded = match op {
            "Range" => range(ctx, &inputs)?,
            "Where" => elementwise(ctx, &inputs, |v| if v[0] != 0.0 { v[1] } else { v[2] })?,
            _ => {
                let fmod = ctx.attr_i("fmod", 0) != 0;
                let mut c = elementwise(ctx, &inputs, |v| apply(op, v, fmod))?;
                c.integer |= BOOLEAN.contains(&op);
                c
            }
        };
        // -inf survives (an attention mask being built); NaN and +inf do not.
        if folded
            .data
            .iter()
            .any(|v| v.is_nan() || *v == f64::INFINITY)
        {
            return Err(ctx.invalid("folding constants gives NaN or +infinity"));
        }
        Ok(Some(Value::Constant(folded)))
    }
}

/// `op` on one element of each input.
fn apply(op: &str, v: &[f64], fmod: bool) -> f64 {
    let truth = |b: bool| if b { 1.0 } else { 0.0 };
    let (a, b) = (v[0], v.get(1).copied().unwrap_or(0.0));
    match op {
        "Floor" => a.floor(),
        "Ceil" => a.ceil(),
        "Round" => a.round_ties_even(),
        "Neg" => -a,
        "Abs" => a.abs(),
        "Sqrt" => a.sqrt(),
        "Reciprocal" => 1.0 / a,
        "Exp" => a.exp(),
        "Log" => a.ln(),
        "Not" => truth(a == 0.0),
        "Equal" => truth(a == b),
        "Less" => truth(a < b),
        "LessOrEqual" => truth(a <= b),
        "Greater" => truth(a > b),
        "GreaterOrEqual" => truth(a >= b),
        "And" => truth(a != 0.0 && b != 0.0),
        "Or" => truth(a != 0.0 || b != 0.0),
        "Xor" => truth((a != 0.0) != (b != 0.0)),
        // fmod = 1: the sign of the dividend (C's fmod); 0: the sign of the divisor (Python's).
        "Mod" if fmod => a % b,
        "Mod" => ((a % b) + b) % b,
        "Pow" => a.powf(b),
        "Min" => v.iter().copied().fold(f64::INFINITY, f64::min),
        _ => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// `f` over the numpy broadcast of the inputs.
fn elementwise(ctx: &Ctx, inputs: &[Constant], f: impl Fn(&[f64]) -> f64) -> Result<Constant> {
    let mut shape = vec![];
    for c in inputs {
        shape = broadcast_shapes(&shape, &c.shape)
            .ok_or_else(|| ctx.invalid(format!("{shape:?} and {:?} do not broadcast", c.shape)))?;
    }
    check_size(ctx, &shape)?;
    let columns: Vec<Vec<f64>> = inputs
        .iter()
        .map(|c| broadcast(c, &shape).expect("checked"))
        .collect();
    let len: usize = shape.iter().product();
    let data = (0..len)
        .map(|i| f(&columns.iter().map(|c| c[i]).collect::<Vec<_>>()))
        .collect();
    let integer = inputs.iter().all(|c| c.integer);
    Ok(Constant {
        shape,
        data,
        integer,
    })
}

/// `Range(start, limit, delta)`: `max(ceil((limit - start) / delta), 0)` values.
fn range(ctx: &Ctx, inputs: &[Constant]) -> Result<Constant> {
    let scalar = |i: usize| {
        inputs
            .get(i)
            .and_then(|c| (c.data.len() == 1).then(|| c.data[0]))
            .ok_or_else(|| ctx.invalid(format!("input #{i} is not a scalar")))
    };
    let (start, limit, delta) = (scalar(0)?, scalar(1)?, scalar(2)?);
    if delta == 0.0 {
        return Err(ctx.invalid("delta is 0"));
    }
    let n = ((limit - start) / delta).ceil().max(0.0) as usize;
    check_size(ctx, &[n])?;
    Ok(Constant {
        shape: vec![n],
        data: (0..n).map(|i| start + i as f64 * delta).collect(),
        integer: inputs.iter().all(|c| c.integer),
    })
}

/// `ConstantOfShape(shape)`: the attribute's value (0 by default) in the given constant shape.
fn constant_of_shape(im: &Importer, ctx: &Ctx) -> Result<Value> {
    let dims = im.ints(ctx, 0)?;
    let shape: Vec<usize> = dims
        .iter()
        .map(|d| usize::try_from(*d).map_err(|_| ctx.invalid(format!("shape {dims:?}"))))
        .collect::<Result<_>>()?;
    check_size(ctx, &shape)?;
    // The value attribute's type (float 0 by default).
    let (value, integer) = match ctx.attr("value").and_then(|a| a.t.as_ref()) {
        Some(t) => {
            let c = super::constant_from_proto(t, &ctx.name, None)?;
            (c.data.first().copied().unwrap_or(0.0), c.integer)
        }
        None => (0.0, false),
    };
    let len = shape.iter().product();
    Ok(Value::Constant(Constant {
        shape,
        data: vec![value; len],
        integer,
    }))
}

#[cfg(test)]
mod tests {
    use super::apply;

    #[test]
    fn folded_ops_follow_onnx_semantics() {
        // Mod: the divisor's sign by default, the dividend's with fmod = 1.
        assert_eq!(apply("Mod", &[-7.0, 3.0], false), 2.0);
        assert_eq!(apply("Mod", &[7.0, -3.0], false), -2.0);
        assert_eq!(apply("Mod", &[-7.0, 3.0], true), -1.0);
        // Round: half to even.
        assert_eq!(apply("Round", &[2.5], false), 2.0);
        assert_eq!(apply("Round", &[-1.5], false), -2.0);
        assert_eq!(apply("Floor", &[-0.5], false), -1.0);
        assert_eq!(apply("Xor", &[1.0, 1.0], false), 0.0);
        assert_eq!(apply("Min", &[3.0, -1.0, 2.0], false), -1.0);
        assert_eq!(apply("Max", &[3.0, -1.0, 2.0], false), 3.0);
        assert_eq!(apply("LessOrEqual", &[2.0, 2.0], false), 1.0);
    }
}
