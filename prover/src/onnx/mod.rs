//! ONNX import: decodes the protobuf with tract-onnx and maps each node onto zkinfer's operators
//! ([`crate::ops`]).
//!
//! The op-type table is [`catalog`]: every imported ONNX operator, its family and its importer
//! (also the README's operator table). An ONNX op with an operator of its own is imported in
//! that operator's file (`ops::piecewise::import_prelu`); ONNX ops that lower onto other
//! operators live here by family: [`linear`] (Gemm, MatMul, Einsum, Conv, ConvTranspose, pooling
//! by averaging, BatchNormalization, reductions, CumSum onto `Dense`/`Linear`/`Bilinear`),
//! [`wiring`] (Reshape, Flatten, Squeeze, Transpose, Concat, Shape, Cast, ...), [`slicing`]
//! (Slice, Pad, Gather, Split) and [`rearrange`] (DepthToSpace, Resize) onto `Gather`,
//! [`selection`] (Gather with computed indices), [`elementwise`] (Add, Sub, Mul, Div with
//! broadcasting, Clip, Max, MaxPool, ReduceMax, comparisons), [`logic`], [`nonlinear`] (table
//! functions, Softmax, normalizations, Gelu, Pow), [`masking`] (attention masks), [`sklearn`]
//! (ai.onnx.ml), [`specialize`] (integer inputs fixed at compile); [`shape`] holds the index and
//! broadcasting helpers. Nodes whose inputs are all constants are folded at import ([`folding`]).

mod catalog;
mod elementwise;
mod folding;
mod linear;
mod logic;
mod masking;
mod nonlinear;
mod rearrange;
mod recurrent;
mod selection;
mod shape;
mod sklearn;
mod slicing;
mod specialize;
mod tiling;
mod wiring;
pub use catalog::markdown as operator_table;
pub use shape::MAX_TENSOR_ELEMENTS;
pub(crate) use shape::{broadcast, broadcast_shapes};

use std::collections::HashMap;
use std::path::Path;

use tract_onnx::pb;
use tract_onnx::prelude::{DatumType, Framework};

use crate::input::InputData;
use crate::model::{Model, Node, Op, TensorId};
use crate::ops;
use crate::{Error, Result};

/// A tensor known at import time (an initializer or a `Constant` node).
#[derive(Clone, Debug)]
pub(crate) struct Constant {
    /// Its shape.
    pub(crate) shape: Vec<usize>,
    /// Its values, row-major.
    pub(crate) data: Vec<f64>,
    /// An integer (or boolean) ONNX type: division truncates, as ONNX's does.
    pub(crate) integer: bool,
}

impl Constant {
    /// A float constant.
    pub(crate) fn float(shape: Vec<usize>, data: Vec<f64>) -> Self {
        Constant {
            shape,
            data,
            integer: false,
        }
    }
}

/// What a name in the ONNX graph refers to.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Tensor(TensorId),
    Constant(Constant),
}

/// Reads an ONNX file into a [`Model`]; symbolic input dimensions (a batch axis) are taken as 1.
pub fn import(path: &Path) -> Result<Model> {
    import_specialized(path, None)
}

/// [`import`], and when the graph does not import as it is, with the fewest of its integer
/// inputs fixed to their value in `calibration` that make it import (an input that feeds only
/// shape parameters: see [`crate::model::SpecializedInput`]). The original error stands when
/// no such choice exists.
pub fn import_specialized(path: &Path, calibration: Option<&InputData>) -> Result<Model> {
    std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let proto =
        tract_onnx::onnx()
            .proto_model_for_path(path)
            .map_err(|e| Error::MalformedOnnx {
                path: path.into(),
                reason: format!("{e:#}"),
            })?;
    // Weights stored as external data (torch's dynamo exporter, any model over 2 GB) are read
    // from the model's folder; tract refuses locations that resolve outside it.
    let folder = path.parent().map(|p| p.to_string_lossy().into_owned());
    let folder = folder.map(|f| if f.is_empty() { ".".into() } else { f });
    let first = import_proto_in(&proto, folder.as_deref(), &HashMap::new());
    let model = match (first, calibration) {
        (Err(e), Some(calibration)) if specialize::needs_a_constant(&e) => {
            specialize::retry(&proto, folder.as_deref(), calibration).ok_or(e)
        }
        (result, _) => result,
    };
    model.map_err(|e| match e {
        Error::MalformedOnnx { reason, .. } => Error::MalformedOnnx {
            path: path.into(),
            reason,
        },
        other => other,
    })
}

/// Decodes ONNX protobuf bytes (a file's contents) into a [`Model`].
pub fn import_bytes(mut bytes: &[u8]) -> Result<Model> {
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut bytes)
        .map_err(|e| Error::MalformedOnnx {
            path: "".into(),
            reason: format!("{e:#}"),
        })?;
    import_proto(&proto)
}

/// Maps a decoded ONNX model to a [`Model`] (external data, which needs the model's folder, is
/// refused: see [`import`]).
pub fn import_proto(proto: &pb::ModelProto) -> Result<Model> {
    import_proto_in(proto, None, &HashMap::new())
}

/// [`import_proto`] for a model read from `folder`, where its external data lies, with the graph
/// inputs named in `fixed` taken as those constants.
fn import_proto_in(
    proto: &pb::ModelProto,
    folder: Option<&str>,
    fixed: &HashMap<String, (usize, Constant)>,
) -> Result<Model> {
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
        // The default domain's opset (ONNX's own models always name it; 1 when absent).
        opset: proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map_or(1, |o| o.version),
        folder: folder.map(str::to_string),
        masks: HashMap::new(),
        booleans: Default::default(),
    };
    for init in &graph.initializer {
        let c = constant_from_proto(init, &init.name, folder)?;
        importer
            .values
            .insert(init.name.clone(), Value::Constant(c));
    }
    let mut specialized = Vec::new();
    for input in &graph.input {
        if importer.values.contains_key(&input.name) {
            continue; // an initializer listed as input (older exporters)
        }
        let shape = input_shape(input)?;
        if let Some((position, c)) = fixed.get(&input.name) {
            specialized.push(crate::model::SpecializedInput {
                position: *position,
                name: input.name.clone(),
                shape,
                values: c.data.clone(),
            });
            importer
                .values
                .insert(input.name.clone(), Value::Constant(c.clone()));
            continue;
        }
        let id = importer.push(
            &input.name,
            "Input",
            Op::Input(ops::wiring::Input {
                index: importer.inputs.len(),
            }),
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
            Some(Value::Tensor(id)) if importer.masks.contains_key(id) => Err(malformed(&format!(
                "graph output {} holds -inf attention-mask entries",
                o.name
            ))),
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
        specialized,
    })
}

/// The graph being imported: its nodes so far and what each ONNX name refers to. Operators with
/// an ONNX counterpart of their own import it in their file (`ops::*::import_*`) through this.
pub(crate) struct Importer {
    nodes: Vec<Node>,
    values: HashMap<String, Value>,
    inputs: Vec<TensorId>,
    /// The opset of the default ONNX domain, for operators whose meaning changed across opsets.
    pub(crate) opset: i64,
    /// The model's folder (for external data), when it was read from a file.
    folder: Option<String>,
    /// Tensors with `-inf` attention-mask entries, and which (see [`masking`]).
    masks: HashMap<TensorId, Vec<bool>>,
    /// Logic results: exactly 0 or 1, like comparisons (see [`logic`]).
    booleans: std::collections::HashSet<TensorId>,
}

/// The node being imported, for error messages and attribute lookup.
pub(crate) struct Ctx<'a> {
    /// The node.
    pub(crate) proto: &'a pb::NodeProto,
    /// Its name (or its first output when unnamed).
    pub(crate) name: String,
}

impl Ctx<'_> {
    pub(crate) fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::InvalidNode {
            op: self.proto.op_type.clone(),
            node: self.name.clone(),
            reason: reason.into(),
        }
    }

    pub(crate) fn attr(&self, name: &str) -> Option<&pb::AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name == name)
    }

    pub(crate) fn attr_i(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    pub(crate) fn attr_f(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }

    pub(crate) fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    /// A float-list attribute (empty when absent).
    pub(crate) fn attr_floats(&self, name: &str) -> Vec<f64> {
        self.attr(name)
            .map(|a| a.floats.iter().map(|v| *v as f64).collect())
            .unwrap_or_default()
    }

    /// A string attribute.
    pub(crate) fn attr_s(&self, name: &str) -> Option<String> {
        self.attr(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    /// A string-list attribute (empty when absent).
    pub(crate) fn attr_strings(&self, name: &str) -> Vec<String> {
        self.attr(name)
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn has_input(&self, i: usize) -> bool {
        self.proto.input.get(i).is_some_and(|n| !n.is_empty())
    }
}

impl Importer {
    pub(crate) fn push(
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
        // The op-type table (see `catalog`): the default domain and scikit-learn's ai.onnx.ml.
        let domain = match proto.domain.as_str() {
            "" | "ai.onnx" => Some(catalog::Domain::Onnx),
            "ai.onnx.ml" => Some(catalog::Domain::Ml),
            _ => None,
        };
        let Some(entry) = domain.and_then(|d| catalog::lookup(d, &proto.op_type)) else {
            return Err(Error::Unsupported {
                op: proto.op_type.clone(),
                node: ctx.name,
            });
        };
        if let Some(value) = self.fold_constant_node(&ctx)? {
            let out = proto
                .output
                .first()
                .ok_or_else(|| ctx.invalid("node has no output"))?;
            self.values.insert(out.clone(), value);
            return Ok(());
        }
        let before = self.nodes.len();
        let values = match &entry.import {
            catalog::Import::One(import) => vec![import(self, &ctx)?],
            catalog::Import::Many(import) => import(self, &ctx)?,
        };
        self.propagate_masks(&ctx, before)?;
        if proto.output.is_empty() {
            return Err(ctx.invalid("node has no output"));
        }
        for (out, value) in proto.output.iter().zip(values) {
            if !out.is_empty() {
                self.values.insert(out.clone(), value);
            }
        }
        Ok(())
    }

    pub(crate) fn input(&self, ctx: &Ctx, i: usize) -> Result<&Value> {
        let name = ctx.proto.input.get(i).filter(|n| !n.is_empty());
        let name = name.ok_or_else(|| ctx.invalid(format!("missing input #{i}")))?;
        self.values
            .get(name)
            .ok_or_else(|| ctx.invalid(format!("input {name} is never produced")))
    }

    pub(crate) fn tensor(&self, ctx: &Ctx, i: usize) -> Result<TensorId> {
        match self.input(ctx, i)? {
            Value::Tensor(t) => Ok(*t),
            Value::Constant(_) => {
                Err(ctx.invalid(format!("input #{i} must be computed, not a constant")))
            }
        }
    }

    pub(crate) fn constant(&self, ctx: &Ctx, i: usize) -> Result<Constant> {
        match self.input(ctx, i)? {
            Value::Constant(c) if c.data.iter().any(|v| !v.is_finite()) => {
                Err(ctx.invalid(format!(
                    "input #{i} holds -inf (only an attention mask added before a Softmax may)"
                )))
            }
            Value::Constant(c) => Ok(c.clone()),
            Value::Tensor(_) => Err(Error::InvalidNode {
                op: ctx.proto.op_type.clone(),
                node: ctx.name.clone(),
                reason: format!(
                    "input #{i} must be a constant at compile (an integer graph input here is \
                     fixed to its calibration value when every sample holds the same one)"
                ),
            }),
        }
    }

    pub(crate) fn shape(&self, t: TensorId) -> &[usize] {
        &self.nodes[t].shape
    }

    pub(crate) fn unary(&mut self, ctx: &Ctx, op: Op) -> Result<Value> {
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
}

/// ONNX's integer and boolean tensor types.
const INTEGER_TYPES: [pb::tensor_proto::DataType; 9] = {
    use pb::tensor_proto::DataType as D;
    [
        D::Uint8,
        D::Int8,
        D::Uint16,
        D::Int16,
        D::Int32,
        D::Int64,
        D::Bool,
        D::Uint32,
        D::Uint64,
    ]
};

fn constant_node(ctx: &Ctx, folder: Option<&str>) -> Result<Constant> {
    let t = ctx.attr("value").and_then(|a| a.t.as_ref());
    let t = t.ok_or_else(|| ctx.invalid("only the `value` attribute of Constant is supported"))?;
    constant_from_proto(t, &ctx.name, folder)
}

fn constant_from_proto(t: &pb::TensorProto, name: &str, folder: Option<&str>) -> Result<Constant> {
    let malformed = |reason: String| Error::MalformedOnnx {
        path: "".into(),
        reason: format!("tensor {name}: {reason}"),
    };
    // Numeric types only: tract-onnx panics on raw STRING, complex and newer types.
    use pb::tensor_proto::DataType as D;
    let numeric = [D::Float, D::Float16, D::Double];
    let numeric = numeric.iter().chain(INTEGER_TYPES.iter());
    if !numeric.clone().any(|d| *d as i32 == t.data_type) {
        let name = D::try_from(t.data_type).map_or_else(
            |_| format!("#{}", t.data_type),
            |d| d.as_str_name().to_string(),
        );
        return Err(malformed(format!("data type {name} is not numeric")));
    }
    let dims: Option<Vec<usize>> = t.dims.iter().map(|d| usize::try_from(*d).ok()).collect();
    if dims
        .as_deref()
        .and_then(shape::elements_within_limit)
        .is_none()
    {
        return Err(malformed(format!(
            "dimensions {:?} are negative or exceed {} elements",
            t.dims,
            shape::MAX_TENSOR_ELEMENTS
        )));
    }
    let resolver = tract_onnx::data_resolver::default();
    let tensor = tract_onnx::tensor::load_tensor(&*resolver, t, folder)
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
    // -inf is kept for attention masks (see `masking`); every other use refuses it.
    if data.iter().any(|v| v.is_nan() || *v == f64::INFINITY) {
        return Err(malformed("contains NaN or +infinity".into()));
    }
    // FLOAT, FLOAT16, DOUBLE, BFLOAT16 are real; every other numeric type is an integer.
    let integer = ![1, 10, 11, 16].contains(&t.data_type);
    Ok(Constant {
        shape: tensor.shape().to_vec(),
        data,
        integer,
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
    let dims = shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(Dim::DimValue(v)) if *v > 0 => {
                usize::try_from(*v).map_err(|_| malformed(format!("dimension {v}")))
            }
            Some(Dim::DimValue(v)) => Err(malformed(format!("dimension {v}"))),
            Some(Dim::DimParam(_)) | None => Ok(1),
        })
        .collect::<Result<Vec<usize>>>()?;
    if shape::elements_within_limit(&dims).is_none() {
        return Err(malformed(format!(
            "shape {dims:?} has more than {} elements",
            shape::MAX_TENSOR_ELEMENTS
        )));
    }
    Ok(dims)
}
