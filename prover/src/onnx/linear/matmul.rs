//! Matrix products: with a constant operand, Gemm, MatMul (onto `Dense` where the weights are
//! shared by every row, else `Linear`) and two-operand Einsum (onto `Linear`); with two computed
//! operands, MatMul, Gemm and Einsum onto [`ops::products::Bilinear`].

use crate::model::{Op, TensorId};
use crate::onnx::shape::{broadcast, ravel, unravel};
use crate::onnx::{Constant, Ctx, Importer, Value};
use crate::ops;
use crate::Result;

impl Importer {
    /// `Y = alpha * A' * B' + beta * C` with `A` computed and `B` constant (`C` constant, or
    /// computed and added after); else [`Importer::gemm_of_tensors`].
    pub(in crate::onnx) fn gemm(&mut self, ctx: &Ctx) -> Result<Value> {
        let computed = |v: &Value| matches!(v, Value::Tensor(_));
        if computed(self.input(ctx, 1)?) || !computed(self.input(ctx, 0)?) {
            return self.gemm_of_tensors(ctx);
        }
        if ctx.has_input(2) && computed(self.input(ctx, 2)?) {
            // The constant B keeps its weight scale: A·B as a Gemm without C, then C added.
            let Value::Tensor(y) = self.gemm_constant_b(ctx, false)? else {
                unreachable!("a tensor stays a tensor")
            };
            let shape = self.shape(y).to_vec();
            return self.add_gemm_c(ctx, y, shape[0], shape[1]);
        }
        self.gemm_constant_b(ctx, true)
    }

    /// Gemm with a constant `B`, and `C` (when `with_c`) constant, onto `Dense` or `Linear`.
    fn gemm_constant_b(&mut self, ctx: &Ctx, with_c: bool) -> Result<Value> {
        let a = self.tensor(ctx, 0)?;
        let b = self.constant(ctx, 1)?;
        let (alpha, beta) = (
            ctx.attr_f("alpha", 1.0) as f64,
            ctx.attr_f("beta", 1.0) as f64,
        );
        let (trans_a, trans_b) = (ctx.attr_i("transA", 0) != 0, ctx.attr_i("transB", 0) != 0);
        let a_shape = self.shape(a).to_vec();
        if a_shape.len() != 2 || b.shape.len() != 2 {
            return Err(ctx.invalid(format!(
                "Gemm needs 2-D operands, got {a_shape:?} and {:?}",
                b.shape
            )));
        }
        let (m, k) = if trans_a {
            (a_shape[1], a_shape[0])
        } else {
            (a_shape[0], a_shape[1])
        };
        let (kb, n) = if trans_b {
            (b.shape[1], b.shape[0])
        } else {
            (b.shape[0], b.shape[1])
        };
        if k != kb {
            return Err(ctx.invalid(format!(
                "inner dimensions differ: A {a_shape:?}, B {:?}",
                b.shape
            )));
        }
        let w = |kk: usize, j: usize| {
            alpha
                * if trans_b {
                    b.data[j * k + kk]
                } else {
                    b.data[kk * n + j]
                }
        };
        let c = if with_c && ctx.has_input(2) {
            let c = self.constant(ctx, 2)?;
            broadcast(&c, &[m, n]).ok_or_else(|| {
                ctx.invalid(format!(
                    "C of shape {:?} does not broadcast to [{m}, {n}]",
                    c.shape
                ))
            })?
        } else {
            vec![0.0; m * n]
        };
        let row_bias_uniform = (1..m).all(|r| c[r * n..(r + 1) * n] == c[..n]);
        if !trans_a && row_bias_uniform {
            let weights = (0..n)
                .flat_map(|j| (0..k).map(move |kk| (kk, j)))
                .map(|(kk, j)| w(kk, j))
                .collect();
            let bias = c[..n].iter().map(|c| beta * c).collect();
            let op = Op::Dense(ops::linear::Dense {
                weights,
                bias,
                in_features: k,
                out_features: n,
            });
            return Ok(Value::Tensor(self.push(
                &ctx.name,
                "Gemm",
                op,
                vec![a],
                vec![m, n],
            )));
        }
        // General case (transA, per-row C): explicit terms.
        let a_index = |r: usize, kk: usize| if trans_a { kk * m + r } else { r * k + kk };
        let terms = (0..m * n)
            .map(|o| {
                (0..k)
                    .map(|kk| (a_index(o / n, kk), w(kk, o % n)))
                    .collect()
            })
            .collect();
        let bias = c.iter().map(|c| beta * c).collect();
        Ok(self.push_linear(ctx, a, terms, bias, vec![m, n]))
    }

    /// Gemm with a computed `B` (or `C`, or a constant `A`): `A' · B'` onto `Bilinear` (a
    /// constant operand materialized), then `alpha`, then `beta · C` added.
    fn gemm_of_tensors(&mut self, ctx: &Ctx) -> Result<Value> {
        let operand = |s: &mut Self, i: usize, like: Option<crate::model::TensorId>| match (
            s.input(ctx, i)?.clone(),
            like,
        ) {
            (Value::Tensor(t), _) => Ok(t),
            (Value::Constant(c), Some(like)) => Ok(s.materialize(ctx, &c, like)),
            (Value::Constant(_), None) => Err(ctx.invalid("Gemm of two constants")),
        };
        let (a, b) = match (self.input(ctx, 0)?.clone(), self.input(ctx, 1)?.clone()) {
            (Value::Tensor(a), _) => (a, operand(self, 1, Some(a))?),
            (_, Value::Tensor(b)) => (operand(self, 0, Some(b))?, b),
            _ => {
                let a = operand(self, 0, None)?;
                (a, operand(self, 1, Some(a))?)
            }
        };
        let (sa, sb) = (self.shape(a).to_vec(), self.shape(b).to_vec());
        if sa.len() != 2 || sb.len() != 2 {
            return Err(ctx.invalid(format!("Gemm needs 2-D operands, got {sa:?} and {sb:?}")));
        }
        let (trans_a, trans_b) = (ctx.attr_i("transA", 0) != 0, ctx.attr_i("transB", 0) != 0);
        let (m, k) = if trans_a {
            (sa[1], sa[0])
        } else {
            (sa[0], sa[1])
        };
        let (kb, n) = if trans_b {
            (sb[1], sb[0])
        } else {
            (sb[0], sb[1])
        };
        if k != kb {
            return Err(ctx.invalid(format!("inner dimensions differ: A {sa:?}, B {sb:?}")));
        }
        let at = |i: usize, kk: usize| {
            if trans_a {
                kk * sa[1] + i
            } else {
                i * sa[1] + kk
            }
        };
        let bt = |kk: usize, j: usize| {
            if trans_b {
                j * sb[1] + kk
            } else {
                kk * sb[1] + j
            }
        };
        let pairs = (0..m)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| (0..k).map(|kk| (at(i, kk), bt(kk, j))).collect())
            .collect();
        let product = self.push(
            &ctx.name,
            "Gemm",
            Op::Bilinear(ops::products::Bilinear { pairs }),
            vec![a, b],
            vec![m, n],
        );
        let mut y = Value::Tensor(product);
        let alpha = ctx.attr_f("alpha", 1.0) as f64;
        if alpha != 1.0 {
            y = self.scale_by(ctx, y, &Constant::float(vec![1], vec![alpha]), false)?;
        }
        if !ctx.has_input(2) {
            return Ok(y);
        }
        let Value::Tensor(y) = y else {
            unreachable!("a tensor stays a tensor")
        };
        self.add_gemm_c(ctx, y, m, n)
    }

    /// Gemm's `+ beta · C`, `C` constant or computed, broadcast to `[m, n]`.
    fn add_gemm_c(
        &mut self,
        ctx: &Ctx,
        y: crate::model::TensorId,
        m: usize,
        n: usize,
    ) -> Result<Value> {
        let beta = ctx.attr_f("beta", 1.0) as f64;
        let c = match self.input(ctx, 2)?.clone() {
            Value::Constant(c) => {
                let values = broadcast(&c, &[m, n])
                    .ok_or_else(|| {
                        ctx.invalid(format!(
                            "C of shape {:?} does not broadcast to [{m}, {n}]",
                            c.shape
                        ))
                    })?
                    .iter()
                    .map(|v| beta * v)
                    .collect();
                return Ok(Value::Tensor(self.push(
                    &ctx.name,
                    "Gemm",
                    Op::AddConst(ops::arithmetic::AddConst { values }),
                    vec![y],
                    vec![m, n],
                )));
            }
            Value::Tensor(c) => c,
        };
        let mut c = self.broadcast_to(ctx, Value::Tensor(c), &[m, n])?;
        if beta != 1.0 {
            c = self.scale_by(ctx, c, &Constant::float(vec![1], vec![beta]), false)?;
        }
        let Value::Tensor(c) = c else {
            unreachable!("a tensor stays a tensor")
        };
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Gemm",
            Op::Add,
            vec![y, c],
            vec![m, n],
        )))
    }

    /// `Y = X · W`: with `W` a constant `[K, N]` matrix (X batched over leading axes) onto
    /// `Dense`; with both operands computed (or a constant on the left) onto
    /// [`ops::products::Bilinear`].
    pub(in crate::onnx) fn matmul(&mut self, ctx: &Ctx) -> Result<Value> {
        match (self.input(ctx, 0)?.clone(), self.input(ctx, 1)?.clone()) {
            (Value::Tensor(_), Value::Constant(_)) => {}
            (Value::Tensor(a), Value::Tensor(b)) => {
                return ops::products::import_matmul(self, ctx, a, b)
            }
            (Value::Constant(c), Value::Tensor(b)) => {
                let a = self.materialize(ctx, &c, b);
                return ops::products::import_matmul(self, ctx, a, b);
            }
            (Value::Constant(_), Value::Constant(_)) => {
                return Err(ctx.invalid("MatMul of two constants (fold it before export)"))
            }
        }
        let x = self.tensor(ctx, 0)?;
        let w = self.constant(ctx, 1)?;
        let x_shape = self.shape(x).to_vec();
        if w.shape.len() != 2 || x_shape.last() != Some(&w.shape[0]) {
            return Err(ctx.invalid(format!(
                "cannot multiply {x_shape:?} by a constant {:?}",
                w.shape
            )));
        }
        let (k, n) = (w.shape[0], w.shape[1]);
        let weights = (0..n)
            .flat_map(|j| (0..k).map(move |i| (i, j)))
            .map(|(i, j)| w.data[i * n + j])
            .collect();
        let mut shape = x_shape;
        *shape.last_mut().expect("non-empty") = n;
        let op = Op::Dense(ops::linear::Dense {
            weights,
            bias: vec![0.0; n],
            in_features: k,
            out_features: n,
        });
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "MatMul",
            op,
            vec![x],
            shape,
        )))
    }

    /// Einsum of one computed tensor and one constant, without ellipsis.
    pub(in crate::onnx) fn einsum(&mut self, ctx: &Ctx) -> Result<Value> {
        let eq = ctx
            .attr("equation")
            .map(|a| String::from_utf8_lossy(&a.s).replace(' ', ""))
            .unwrap_or_default();
        let (lhs, rhs) = eq
            .split_once("->")
            .ok_or_else(|| ctx.invalid(format!("equation {eq:?} has no explicit output")))?;
        let operands: Vec<&str> = lhs.split(',').collect();
        if operands.len() != 2 || eq.contains('.') {
            return Err(ctx.invalid(format!("equation {eq:?}: only two operands, no ellipsis")));
        }
        let (a, b) = (self.any_input(ctx, 0)?, self.any_input(ctx, 1)?);
        let (x, w, xs, ws) = match (a, b) {
            (Value::Tensor(x), Value::Constant(w)) => (x, w, operands[0], operands[1]),
            (Value::Constant(w), Value::Tensor(x)) => (x, w, operands[1], operands[0]),
            (Value::Tensor(a), Value::Tensor(b)) => {
                return self.einsum_of_tensors(ctx, a, b, operands[0], operands[1], rhs)
            }
            _ => return Err(ctx.invalid("Einsum of two constants (fold it before export)")),
        };
        let x_shape = self.shape(x).to_vec();
        let (out, pairs) = einsum_pairs(ctx, (xs, &x_shape), (ws, &w.shape), rhs)?;
        let terms: Vec<Vec<(usize, f64)>> = pairs
            .into_iter()
            .map(|p| {
                p.into_iter()
                    .map(|(i, j)| (i, w.data[j]))
                    .filter(|(_, weight)| *weight != 0.0)
                    .collect()
            })
            .collect();
        let bias = vec![0.0; terms.len()];
        Ok(self.push_linear(ctx, x, terms, bias, out))
    }

    /// Einsum of two computed tensors (two operands, no ellipsis): every assignment of the
    /// indices is one product `a[..] · b[..]` of the output element its output indices name,
    /// onto `Bilinear`.
    fn einsum_of_tensors(
        &mut self,
        ctx: &Ctx,
        a: TensorId,
        b: TensorId,
        sa: &str,
        sb: &str,
        rhs: &str,
    ) -> Result<Value> {
        let (shape_a, shape_b) = (self.shape(a).to_vec(), self.shape(b).to_vec());
        let (out, pairs) = einsum_pairs(ctx, (sa, &shape_a), (sb, &shape_b), rhs)?;
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Einsum",
            Op::Bilinear(ops::products::Bilinear { pairs }),
            vec![a, b],
            out,
        )))
    }
}

/// A two-operand Einsum's output shape and, per output element, the (element of `a`, element
/// of `b`) products it sums, in the order of the index assignments.
fn einsum_pairs(
    ctx: &Ctx,
    (sa, shape_a): (&str, &[usize]),
    (sb, shape_b): (&str, &[usize]),
    rhs: &str,
) -> Result<(Vec<usize>, ops::products::Pairs)> {
    let space = IndexSpace::new(ctx, [(sa, shape_a), (sb, shape_b)])?;
    let (pa, pb, po) = (space.of(ctx, sa)?, space.of(ctx, sb)?, space.of(ctx, rhs)?);
    let dims = space.dims;
    let out: Vec<usize> = po.iter().map(|p| dims[*p]).collect();
    crate::onnx::shape::check_size(ctx, &out)?;
    let mut pairs: ops::products::Pairs = vec![Vec::new(); out.iter().product()];
    for flat in 0..dims.iter().product() {
        let idx = unravel(flat, &dims);
        let pick = |ps: &[usize]| ps.iter().map(|p| idx[*p]).collect::<Vec<_>>();
        pairs[ravel(&pick(&po), &out)]
            .push((ravel(&pick(&pa), shape_a), ravel(&pick(&pb), shape_b)));
    }
    Ok((out, pairs))
}

/// The indices of a two-operand Einsum: each letter and its size (the same in both operands),
/// at most [`ops::products::MAX_PRODUCTS`] assignments in all.
struct IndexSpace {
    letters: Vec<char>,
    dims: Vec<usize>,
}

impl IndexSpace {
    fn new(ctx: &Ctx, operands: [(&str, &[usize]); 2]) -> Result<IndexSpace> {
        let mut letters: Vec<char> = Vec::new();
        let mut dims: Vec<usize> = Vec::new();
        for (spec, shape) in operands {
            if spec.chars().count() != shape.len() {
                return Err(ctx.invalid(format!("{spec:?} does not match shape {shape:?}")));
            }
            for (c, d) in spec.chars().zip(shape.iter()) {
                match letters.iter().position(|l| *l == c) {
                    Some(p) if dims[p] != *d => {
                        return Err(ctx.invalid(format!("index {c} has sizes {} and {d}", dims[p])))
                    }
                    Some(_) => {}
                    None => {
                        letters.push(c);
                        dims.push(*d);
                    }
                }
            }
        }
        ops::products::check_products(dims.iter().try_fold(1usize, |n, d| n.checked_mul(*d)))
            .map_err(|why| ctx.invalid(why))?;
        Ok(IndexSpace { letters, dims })
    }

    /// The positions of `spec`'s letters.
    fn of(&self, ctx: &Ctx, spec: &str) -> Result<Vec<usize>> {
        spec.chars()
            .map(|c| {
                self.letters
                    .iter()
                    .position(|l| *l == c)
                    .ok_or_else(|| ctx.invalid(format!("index {c} unknown")))
            })
            .collect()
    }
}
