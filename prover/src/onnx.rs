//! ONNX import: decodes the protobuf with tract-onnx and maps each node to an [`Op`].
//!
//! Adding an operator is one function plus one line in [`Importer::import_node`].

use std::collections::HashMap;
use std::path::Path;

use tract_onnx::pb;
use tract_onnx::prelude::{DatumType, Framework};

use crate::model::{Model, Node, Op, TensorId};
use crate::{Error, Result};

/// A tensor known at import time (an initializer or a `Constant` node).
#[derive(Clone, Debug)]
struct Constant {
    shape: Vec<usize>,
    data: Vec<f64>,
}

/// What a name in the ONNX graph refers to.
#[derive(Clone, Debug)]
enum Value {
    Tensor(TensorId),
    Constant(Constant),
}

/// Reads an ONNX file into a [`Model`]; symbolic input dimensions (a batch axis) are taken as 1.
pub fn import(path: &Path) -> Result<Model> {
    std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let proto =
        tract_onnx::onnx()
            .proto_model_for_path(path)
            .map_err(|e| Error::MalformedOnnx {
                path: path.into(),
                reason: format!("{e:#}"),
            })?;
    import_proto(&proto).map_err(|e| match e {
        Error::MalformedOnnx { reason, .. } => Error::MalformedOnnx {
            path: path.into(),
            reason,
        },
        other => other,
    })
}

/// Maps a decoded ONNX model to a [`Model`].
pub fn import_proto(proto: &pb::ModelProto) -> Result<Model> {
    let malformed = |reason: &str| Error::MalformedOnnx {
        path: "".into(),
        reason: reason.into(),
    };
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| malformed("the model has no graph"))?;
    if graph.node.is_empty() || graph.output.is_empty() {
        return Err(malformed("the graph has no nodes or no outputs"));
    }
    let mut importer = Importer {
        nodes: Vec::new(),
        values: HashMap::new(),
        inputs: Vec::new(),
    };
    for init in &graph.initializer {
        let c = constant_from_proto(init, &init.name)?;
        importer
            .values
            .insert(init.name.clone(), Value::Constant(c));
    }
    for input in &graph.input {
        if importer.values.contains_key(&input.name) {
            continue; // an initializer listed as input (older exporters)
        }
        let shape = input_shape(input)?;
        let id = importer.push(
            &input.name,
            "Input",
            Op::Input {
                index: importer.inputs.len(),
            },
            vec![],
            shape,
        );
        importer.inputs.push(id);
        importer
            .values
            .insert(input.name.clone(), Value::Tensor(id));
    }
    if importer.inputs.is_empty() {
        return Err(malformed("the graph has no (non-initializer) inputs"));
    }
    for node in &graph.node {
        importer.import_node(node)?;
    }
    let outputs = graph
        .output
        .iter()
        .map(|o| match importer.values.get(&o.name) {
            Some(Value::Tensor(id)) => Ok(*id),
            Some(Value::Constant(_)) => {
                Err(malformed(&format!("graph output {} is a constant", o.name)))
            }
            None => Err(malformed(&format!(
                "graph output {} is never produced",
                o.name
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Model {
        nodes: importer.nodes,
        inputs: importer.inputs,
        outputs,
    })
}

struct Importer {
    nodes: Vec<Node>,
    values: HashMap<String, Value>,
    inputs: Vec<TensorId>,
}

/// The node being imported, for error messages and attribute lookup.
struct Ctx<'a> {
    proto: &'a pb::NodeProto,
    name: String,
}

impl Ctx<'_> {
    fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::InvalidNode {
            op: self.proto.op_type.clone(),
            node: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn attr(&self, name: &str) -> Option<&pb::AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name == name)
    }

    fn attr_i(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    fn attr_f(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }
}

impl Importer {
    fn push(
        &mut self,
        name: &str,
        op_type: &str,
        op: Op,
        inputs: Vec<TensorId>,
        shape: Vec<usize>,
    ) -> TensorId {
        self.nodes.push(Node {
            name: name.into(),
            op_type: op_type.into(),
            op,
            inputs,
            shape,
        });
        self.nodes.len() - 1
    }

    fn import_node(&mut self, proto: &pb::NodeProto) -> Result<()> {
        let name = if proto.name.is_empty() {
            proto
                .output
                .first()
                .cloned()
                .unwrap_or_else(|| proto.op_type.clone())
        } else {
            proto.name.clone()
        };
        let ctx = Ctx { proto, name };
        if !(proto.domain.is_empty() || proto.domain == "ai.onnx") {
            return Err(Error::Unsupported {
                op: format!("{}.{}", proto.domain, proto.op_type),
                node: ctx.name,
            });
        }
        let value = match proto.op_type.as_str() {
            "Gemm" => self.gemm(&ctx)?,
            "MatMul" => self.matmul(&ctx)?,
            "Add" => self.add(&ctx)?,
            "Relu" => self.unary(&ctx, Op::Relu)?,
            "Flatten" => self.flatten(&ctx)?,
            "Reshape" => self.reshape(&ctx)?,
            "Identity" => self.unary(&ctx, Op::Reshape)?,
            "Constant" => Value::Constant(constant_node(&ctx)?),
            other => {
                return Err(Error::Unsupported {
                    op: other.into(),
                    node: ctx.name,
                })
            }
        };
        let out = proto
            .output
            .first()
            .ok_or_else(|| ctx.invalid("node has no output"))?;
        self.values.insert(out.clone(), value);
        Ok(())
    }

    fn input(&self, ctx: &Ctx, i: usize) -> Result<&Value> {
        let name = ctx.proto.input.get(i).filter(|n| !n.is_empty());
        let name = name.ok_or_else(|| ctx.invalid(format!("missing input #{i}")))?;
        self.values
            .get(name)
            .ok_or_else(|| ctx.invalid(format!("input {name} is never produced")))
    }

    fn tensor(&self, ctx: &Ctx, i: usize) -> Result<TensorId> {
        match self.input(ctx, i)? {
            Value::Tensor(t) => Ok(*t),
            Value::Constant(_) => {
                Err(ctx.invalid(format!("input #{i} must be computed, not a constant")))
            }
        }
    }

    fn constant(&self, ctx: &Ctx, i: usize) -> Result<Constant> {
        match self.input(ctx, i)? {
            Value::Constant(c) => Ok(c.clone()),
            Value::Tensor(_) => Err(Error::InvalidNode {
                op: ctx.proto.op_type.clone(),
                node: ctx.name.clone(),
                reason: format!("input #{i} must be a constant (weights computed in the graph are not supported)"),
            }),
        }
    }

    fn shape(&self, t: TensorId) -> &[usize] {
        &self.nodes[t].shape
    }

    fn unary(&mut self, ctx: &Ctx, op: Op) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        Ok(Value::Tensor(self.push(
            &ctx.name,
            &ctx.proto.op_type,
            op,
            vec![x],
            shape,
        )))
    }

    /// `Y = alpha * A' * B' + beta * C` with `A` computed and `B`, `C` constant.
    fn gemm(&mut self, ctx: &Ctx) -> Result<Value> {
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
        if trans_a && m != 1 {
            return Err(ctx.invalid("transA=1 is supported for a single row only"));
        }
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
        let weights = (0..n)
            .flat_map(|j| (0..k).map(move |i| (i, j)))
            .map(|(i, j)| {
                alpha
                    * if trans_b {
                        b.data[j * k + i]
                    } else {
                        b.data[i * n + j]
                    }
            })
            .collect();
        let bias = match ctx.proto.input.get(2).filter(|s| !s.is_empty()) {
            None => vec![0.0; n],
            Some(_) => {
                let c = self.constant(ctx, 2)?;
                let full = broadcast(&c, &[m, n]).ok_or_else(|| {
                    ctx.invalid(format!(
                        "C of shape {:?} does not broadcast to [{m}, {n}]",
                        c.shape
                    ))
                })?;
                if (1..m).any(|r| full[r * n..(r + 1) * n] != full[..n]) {
                    return Err(ctx.invalid("C must be the same for every row"));
                }
                full[..n].iter().map(|c| beta * c).collect()
            }
        };
        let op = Op::Dense {
            weights,
            bias,
            in_features: k,
            out_features: n,
        };
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Gemm",
            op,
            vec![a],
            vec![m, n],
        )))
    }

    /// `Y = X · W` with `W` a constant `[K, N]` matrix.
    fn matmul(&mut self, ctx: &Ctx) -> Result<Value> {
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
        let op = Op::Dense {
            weights,
            bias: vec![0.0; n],
            in_features: k,
            out_features: n,
        };
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "MatMul",
            op,
            vec![x],
            shape,
        )))
    }

    /// `A + B`: a constant is folded into a preceding Gemm/MatMul bias when it can be.
    fn add(&mut self, ctx: &Ctx) -> Result<Value> {
        match (self.input(ctx, 0)?.clone(), self.input(ctx, 1)?.clone()) {
            (Value::Tensor(a), Value::Tensor(b)) => {
                let (sa, sb) = (self.shape(a).to_vec(), self.shape(b).to_vec());
                if sa != sb {
                    return Err(
                        ctx.invalid(format!("broadcasting {sa:?} + {sb:?} is not supported yet"))
                    );
                }
                Ok(Value::Tensor(self.push(
                    &ctx.name,
                    "Add",
                    Op::Add,
                    vec![a, b],
                    sa,
                )))
            }
            (Value::Tensor(x), Value::Constant(c)) | (Value::Constant(c), Value::Tensor(x)) => {
                let shape = self.shape(x).to_vec();
                let values = broadcast(&c, &shape).ok_or_else(|| {
                    ctx.invalid(format!(
                        "constant {:?} does not broadcast to {shape:?}",
                        c.shape
                    ))
                })?;
                Ok(Value::Tensor(self.push(
                    &ctx.name,
                    "Add",
                    Op::AddConst { values },
                    vec![x],
                    shape,
                )))
            }
            (Value::Constant(_), Value::Constant(_)) => {
                Err(ctx.invalid("adding two constants is not supported"))
            }
        }
    }

    fn flatten(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let shape = self.shape(x).to_vec();
        let axis = ctx.attr_i("axis", 1);
        let axis = if axis < 0 {
            axis + shape.len() as i64
        } else {
            axis
        };
        if axis < 0 || axis as usize > shape.len() {
            return Err(ctx.invalid(format!("axis {axis} out of range for {shape:?}")));
        }
        let (outer, inner) = shape.split_at(axis as usize);
        let out = vec![outer.iter().product(), inner.iter().product()];
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Flatten",
            Op::Reshape,
            vec![x],
            out,
        )))
    }

    fn reshape(&mut self, ctx: &Ctx) -> Result<Value> {
        let x = self.tensor(ctx, 0)?;
        let target = self.constant(ctx, 1)?;
        let shape = self.shape(x).to_vec();
        let total: usize = shape.iter().product();
        let mut out = Vec::with_capacity(target.data.len());
        let mut infer = None;
        for (i, &d) in target.data.iter().enumerate() {
            match d as i64 {
                -1 if infer.is_none() => {
                    infer = Some(i);
                    out.push(1)
                }
                0 if ctx.attr_i("allowzero", 0) == 0 => out.push(
                    *shape
                        .get(i)
                        .ok_or_else(|| ctx.invalid("0 past the input rank"))?,
                ),
                d if d > 0 => out.push(d as usize),
                d => return Err(ctx.invalid(format!("invalid target dimension {d}"))),
            }
        }
        let known: usize = out.iter().product();
        if let Some(i) = infer {
            if known == 0 || !total.is_multiple_of(known) {
                return Err(ctx.invalid(format!("cannot reshape {shape:?} to {:?}", target.data)));
            }
            out[i] = total / known;
        }
        if out.iter().product::<usize>() != total {
            return Err(ctx.invalid(format!(
                "cannot reshape {shape:?} ({total} elements) to {out:?}"
            )));
        }
        Ok(Value::Tensor(self.push(
            &ctx.name,
            "Reshape",
            Op::Reshape,
            vec![x],
            out,
        )))
    }
}

fn constant_node(ctx: &Ctx) -> Result<Constant> {
    let t = ctx.attr("value").and_then(|a| a.t.as_ref());
    let t = t.ok_or_else(|| ctx.invalid("only the `value` attribute of Constant is supported"))?;
    constant_from_proto(t, &ctx.name)
}

fn constant_from_proto(t: &pb::TensorProto, name: &str) -> Result<Constant> {
    let malformed = |reason: String| Error::MalformedOnnx {
        path: "".into(),
        reason: format!("tensor {name}: {reason}"),
    };
    let resolver = tract_onnx::data_resolver::default();
    let tensor = tract_onnx::tensor::load_tensor(&*resolver, t, None)
        .map_err(|e| malformed(format!("{e:#}")))?;
    let tensor = tensor
        .cast_to_dt(DatumType::F64)
        .map_err(|e| malformed(format!("{e:#}")))?;
    let data: Vec<f64> = tensor
        .to_plain_array_view::<f64>()
        .map_err(|e| malformed(format!("{e:#}")))?
        .iter()
        .copied()
        .collect();
    if data.iter().any(|v| !v.is_finite()) {
        return Err(malformed("contains NaN or infinity".into()));
    }
    Ok(Constant {
        shape: tensor.shape().to_vec(),
        data,
    })
}

/// The input's static shape; symbolic dimensions (a batch axis) are taken as 1.
fn input_shape(input: &pb::ValueInfoProto) -> Result<Vec<usize>> {
    use pb::tensor_shape_proto::dimension::Value as Dim;
    use pb::type_proto::Value as Type;
    let malformed = |reason: String| Error::MalformedOnnx {
        path: "".into(),
        reason: format!("input {}: {reason}", input.name),
    };
    let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(t)) => t,
        _ => return Err(malformed("not a tensor".into())),
    };
    let shape = tensor
        .shape
        .as_ref()
        .ok_or_else(|| malformed("no shape".into()))?;
    shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(Dim::DimValue(v)) if *v > 0 => Ok(*v as usize),
            Some(Dim::DimValue(v)) => Err(malformed(format!("dimension {v}"))),
            Some(Dim::DimParam(_)) | None => Ok(1),
        })
        .collect()
}

/// Numpy-style broadcast of a constant to `shape`, flattened row-major.
fn broadcast(c: &Constant, shape: &[usize]) -> Option<Vec<f64>> {
    if c.shape.len() > shape.len() {
        return None;
    }
    let offset = shape.len() - c.shape.len();
    let src_dims: Vec<usize> = (0..shape.len())
        .map(|i| if i < offset { 1 } else { c.shape[i - offset] })
        .collect();
    if src_dims.iter().zip(shape).any(|(s, d)| *s != 1 && s != d) {
        return None;
    }
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    for flat in 0..total {
        let (mut rem, mut src, mut stride) = (flat, 0, 1);
        let mut idx = vec![0; shape.len()];
        for i in (0..shape.len()).rev() {
            idx[i] = rem % shape[i];
            rem /= shape[i];
        }
        for i in (0..shape.len()).rev() {
            src += if src_dims[i] == 1 { 0 } else { idx[i] * stride };
            stride *= src_dims[i];
        }
        out.push(c.data[src]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        let c = Constant {
            shape: vec![3],
            data: vec![1.0, 2.0, 3.0],
        };
        assert_eq!(
            broadcast(&c, &[2, 3]).unwrap(),
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
        );
        let col = Constant {
            shape: vec![2, 1],
            data: vec![1.0, 2.0],
        };
        assert_eq!(
            broadcast(&col, &[2, 3]).unwrap(),
            vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        );
        assert!(broadcast(&c, &[2, 2]).is_none());
    }
}
