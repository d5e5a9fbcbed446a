//! Integer graph inputs that feed shape parameters (axes, shapes, slice bounds, pads, repeats,
//! split sizes, indices) are fixed at compile to their value in the calibration data, as
//! [`crate::model::SpecializedInput`]s: the circuit is built for that value, which is part of the
//! model id, and an input file with another value is refused by
//! [`crate::input::InputData::specialize`].
//!
//! Which inputs: the graph is imported as it is first; when that fails, with the fewest integer
//! inputs fixed that make it import (so an integer input that is data, such as token ids, stays
//! an input whenever the graph allows it).

use std::collections::HashMap;

use tract_onnx::pb;

use super::{import_proto_in, input_shape, Constant};
use crate::input::InputData;
use crate::model::Model;

/// At most this many integer inputs are tried in every combination; above it, each alone and
/// all together.
const MAX_COMBINED: usize = 5;

/// The graph imported with the fewest of its integer inputs fixed to their calibration value
/// (one value, the same in every calibration sample), or `None` when no choice imports.
pub(super) fn retry(
    proto: &pb::ModelProto,
    folder: Option<&str>,
    calibration: &InputData,
) -> Option<Model> {
    let graph = proto.graph.as_ref()?;
    let initializers: Vec<&str> = graph.initializer.iter().map(|i| i.name.as_str()).collect();
    let candidates: Vec<(String, (usize, Constant))> = graph
        .input
        .iter()
        .filter(|i| !initializers.contains(&i.name.as_str()))
        .enumerate()
        .filter(|(_, input)| is_integer(input))
        .filter_map(|(position, input)| {
            let value = fixed_value(input, calibration.input_data.get(position)?)?;
            Some((input.name.clone(), (position, value)))
        })
        .collect();
    let n = candidates.len();
    if n == 0 {
        return None;
    }
    let subsets: Vec<Vec<usize>> = if n <= MAX_COMBINED {
        let mut all: Vec<Vec<usize>> = (1..1usize << n)
            .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
            .collect();
        all.sort_by_key(Vec::len);
        all
    } else {
        (0..n).map(|i| vec![i]).chain([(0..n).collect()]).collect()
    };
    subsets.into_iter().find_map(|subset| {
        let fixed: HashMap<String, (usize, Constant)> =
            subset.iter().map(|i| candidates[*i].clone()).collect();
        let model = import_proto_in(proto, folder, &fixed).ok()?;
        tracing::warn!(
            inputs = ?model.specialized.iter().map(|s| &s.name).collect::<Vec<_>>(),
            "integer inputs fixed to their calibration values (the graph needs them constant): \
             the circuit proves only these values (settings.json: specialized_inputs)"
        );
        Some(model)
    })
}

/// Whether an import failed because an operator needed a constant operand (the only failure
/// that fixing an input can cure).
pub(super) fn needs_a_constant(e: &crate::Error) -> bool {
    matches!(e, crate::Error::InvalidNode { reason, .. } if reason.contains("must be a constant"))
}

/// An integer (or boolean) tensor input.
fn is_integer(input: &pb::ValueInfoProto) -> bool {
    use pb::type_proto::Value as Type;
    match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(t)) => super::INTEGER_TYPES
            .iter()
            .any(|d| *d as i32 == t.elem_type),
        _ => false,
    }
}

/// The input's one value in the calibration data (every sample the same, whole numbers), if so.
fn fixed_value(input: &pb::ValueInfoProto, data: &[f64]) -> Option<Constant> {
    let shape = input_shape(input).ok()?;
    let len: usize = shape.iter().product();
    if len == 0 || data.is_empty() || !data.len().is_multiple_of(len) {
        return None;
    }
    let first = &data[..len];
    if first.iter().any(|v| v.fract() != 0.0) || data.chunks(len).any(|c| c != first) {
        return None;
    }
    Some(Constant {
        shape,
        data: first.to_vec(),
        integer: true,
    })
}
