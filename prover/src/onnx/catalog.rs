//! The op-type table: every ONNX operator zkinfer imports, its family and its importer. It is
//! the one source of both the dispatch in `import_node` and the README's operator table
//! ([`markdown`], which a test keeps equal to README.md's).

use super::nonlinear::table_function;
use super::{constant_node, Ctx, Importer, Value};
use crate::model::Op;
use crate::ops::arithmetic::Rounding;
use crate::ops::piecewise;
use crate::{Error, Result};

/// How an operator's node is imported: into one value, or several (its outputs in order).
pub(super) enum Import {
    One(fn(&mut Importer, &Ctx) -> Result<Value>),
    Many(fn(&mut Importer, &Ctx) -> Result<Vec<Value>>),
}

/// The ONNX domain of an operator.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Domain {
    /// The default domain (`""` or `ai.onnx`).
    Onnx,
    /// scikit-learn's `ai.onnx.ml`.
    Ml,
}

/// A family of operators, as the README's table groups them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Linear,
    Products,
    Arithmetic,
    Piecewise,
    Lookup,
    Composed,
    Recurrent,
    Comparison,
    Selection,
    ScikitLearn,
    Wiring,
    Folded,
}

impl Family {
    const ALL: [Family; 12] = [
        Family::Linear,
        Family::Products,
        Family::Arithmetic,
        Family::Piecewise,
        Family::Lookup,
        Family::Composed,
        Family::Recurrent,
        Family::Comparison,
        Family::Selection,
        Family::ScikitLearn,
        Family::Wiring,
        Family::Folded,
    ];

    fn name(self) -> &'static str {
        match self {
            Family::Linear => "linear",
            Family::Products => "products of activations",
            Family::Arithmetic => "arithmetic",
            Family::Piecewise => "piecewise linear",
            Family::Lookup => "lookup",
            Family::Composed => "composed",
            Family::Recurrent => "recurrent",
            Family::Comparison => "comparison and logic",
            Family::Selection => "selection",
            Family::ScikitLearn => "scikit-learn (`ai.onnx.ml`)",
            Family::Wiring => "wiring",
            Family::Folded => "constants only",
        }
    }

    fn how(self) -> &'static str {
        match self {
            Family::Linear => "with constant weights (computed ones: the next row): Gemm (transA/transB/alpha/beta, C broadcast), MatMul (batched), Einsum (two operands, no ellipsis), Conv (1-D/2-D, strides, pads, auto_pad, dilations, groups), ConvTranspose, pooling by averaging, BatchNormalization, ReduceSum/ReduceMean (axes as attribute or input, keepdims, noop_with_empty_axes), CumSum: multiply-accumulate against constants, one rescale per output",
            Family::Products => "MatMul, Gemm and Einsum of two computed tensors (attention's `Q·Kᵀ` and `P·V`), Conv and ConvTranspose with computed weights: one multiply-accumulate gate per product (`Bilinear`), one rescale per output",
            Family::Arithmetic => "numpy broadcasting; Div by a computed tensor is `a · (1/b)`, the reciprocal by table lookup; Min as `-max(-x…)`; Pow by whole constant exponents (products) or 0.5 (square-root table); Floor and Ceil exact (a rescale by the scale with a range-checked remainder)",
            Family::Piecewise => "sign decompositions (`max(a, b) = b + relu(a − b)`); Clip with computed bounds as `min(max(x, lo), hi)`",
            Family::Lookup => "input rescaled to the table's resolution, `(tag, x, f(x))` looked up in a fixed table sized from calibration",
            Family::Composed => "Softmax (max-subtracted; `-inf` attention masks give exact zeros; before opset 13 over the axes from `axis` on), LayerNormalization (axes from `axis` on), InstanceNormalization, GroupNormalization, BatchNormalization with computed statistics, ReduceL1/L2/SumSquare/Min/LogSumExp: the operators above",
            Family::Recurrent => "unrolled over the fixed sequence length (forward, reverse, bidirectional; layout 0 and 1; initial states constant or computed): per step dense layers against `W` and `R`, sigmoid and tanh lookups, products of the gates; peepholes, `clip`, `input_forget`, other activations and shorter `sequence_lens` are refused with the reason",
            Family::Comparison => "0.0/1.0 results from sign decompositions and `is_equal`; Not/And/Or/Xor of comparison results as exact 0/1 arithmetic",
            Family::Selection => "Where (a comparison or logic condition, or a constant one), ArgMax (first or last), Gather with computed indices (constrained one-hot bits: an index out of range makes `prove` fail with an input error), TopK for k ≤ 16 (k rounds of maximum, ArgMax and a one-hot removal; ties to the lower index)",
            Family::ScikitLearn => "LinearRegressor/Classifier and Scaler as dense layers; Normalizer (MAX, L1, L2); tree ensembles: each branch compared once, a leaf reached when its path agrees, leaf weights summed; ZipMap as its probability tensor",
            Family::Wiring => "no constraints (copies; Resize in linear mode is a weighted sum of the neighbours); Cast of a computed tensor to float types only; Pad constant (0), edge or reflect; integer inputs that feed shape parameters are fixed at compile to their calibration value",
            Family::Folded => "computed at import when every input is a constant (the shape arithmetic exporters emit around `Shape`); unsupported on computed tensors (Round: ONNX rounds ties to even)",
        }
    }
}

/// One imported operator.
pub(super) struct Entry {
    pub(super) domain: Domain,
    pub(super) op: &'static str,
    family: Family,
    pub(super) import: Import,
}

use Domain::{Ml, Onnx};
use Family::*;
use Import::{Many, One};

const fn entry(domain: Domain, op: &'static str, family: Family, import: Import) -> Entry {
    Entry {
        domain,
        op,
        family,
        import,
    }
}

/// A table activation (see [`table_function`]).
fn activation(im: &mut Importer, ctx: &Ctx) -> Result<Value> {
    match table_function(ctx)? {
        Some(func) => im.function(ctx, func),
        None => Err(unsupported(ctx)),
    }
}

/// An operator zkinfer only folds on constants (see `folding`), met on a computed tensor.
fn only_folded(_: &mut Importer, ctx: &Ctx) -> Result<Value> {
    Err(unsupported(ctx))
}

fn unsupported(ctx: &Ctx) -> Error {
    Error::Unsupported {
        op: ctx.proto.op_type.clone(),
        node: ctx.name.clone(),
    }
}

/// Every operator imported, by family.
pub(super) const CATALOG: &[Entry] = &[
    entry(Onnx, "Gemm", Linear, One(|i, c| i.gemm(c))),
    entry(Onnx, "MatMul", Linear, One(|i, c| i.matmul(c))),
    entry(Onnx, "Conv", Linear, One(|i, c| i.conv(c))),
    entry(
        Onnx,
        "ConvTranspose",
        Linear,
        One(|i, c| i.conv_transpose(c)),
    ),
    entry(Onnx, "AveragePool", Linear, One(|i, c| i.average_pool(c))),
    entry(
        Onnx,
        "GlobalAveragePool",
        Linear,
        One(|i, c| i.global_pool(c, false)),
    ),
    entry(
        Onnx,
        "BatchNormalization",
        Linear,
        One(|i, c| i.batch_norm(c)),
    ),
    entry(
        Onnx,
        "ReduceSum",
        Linear,
        One(|i, c| i.reduce_linear(c, false)),
    ),
    entry(
        Onnx,
        "ReduceMean",
        Linear,
        One(|i, c| i.reduce_linear(c, true)),
    ),
    entry(Onnx, "CumSum", Linear, One(|i, c| i.cumsum(c))),
    entry(Onnx, "Einsum", Products, One(|i, c| i.einsum(c))),
    entry(Onnx, "LSTM", Recurrent, Many(|i, c| i.lstm(c))),
    entry(Onnx, "GRU", Recurrent, Many(|i, c| i.gru(c))),
    entry(Onnx, "Add", Arithmetic, One(|i, c| i.arithmetic(c))),
    entry(Onnx, "Sub", Arithmetic, One(|i, c| i.arithmetic(c))),
    entry(Onnx, "Mul", Arithmetic, One(|i, c| i.arithmetic(c))),
    entry(Onnx, "Div", Arithmetic, One(|i, c| i.arithmetic(c))),
    entry(Onnx, "Neg", Arithmetic, One(|i, c| i.neg(c))),
    entry(Onnx, "Sum", Arithmetic, One(|i, c| i.sum_or_mean(c, false))),
    entry(Onnx, "Mean", Arithmetic, One(|i, c| i.sum_or_mean(c, true))),
    entry(Onnx, "Min", Arithmetic, One(|i, c| i.min(c))),
    entry(Onnx, "Pow", Arithmetic, One(|i, c| i.pow(c))),
    entry(
        Onnx,
        "Floor",
        Arithmetic,
        One(|i, c| i.unary(c, Op::Rounding(Rounding::Floor))),
    ),
    entry(
        Onnx,
        "Ceil",
        Arithmetic,
        One(|i, c| i.unary(c, Op::Rounding(Rounding::Ceil))),
    ),
    entry(Onnx, "Relu", Piecewise, One(piecewise::import_relu)),
    entry(
        Onnx,
        "LeakyRelu",
        Piecewise,
        One(piecewise::import_leaky_relu),
    ),
    entry(Onnx, "PRelu", Piecewise, One(piecewise::import_prelu)),
    entry(Onnx, "Clip", Piecewise, One(|i, c| i.clip(c))),
    entry(Onnx, "Abs", Piecewise, One(piecewise::import_abs)),
    entry(Onnx, "Sign", Piecewise, One(piecewise::import_sign)),
    entry(Onnx, "Max", Piecewise, One(|i, c| i.max(c))),
    entry(Onnx, "MaxPool", Piecewise, One(|i, c| i.max_pool(c))),
    entry(
        Onnx,
        "GlobalMaxPool",
        Piecewise,
        One(|i, c| i.global_pool(c, true)),
    ),
    entry(Onnx, "ReduceMax", Piecewise, One(|i, c| i.reduce_max(c))),
    entry(Onnx, "Sigmoid", Lookup, One(activation)),
    entry(Onnx, "Tanh", Lookup, One(activation)),
    entry(Onnx, "Exp", Lookup, One(activation)),
    entry(Onnx, "Log", Lookup, One(activation)),
    entry(Onnx, "Erf", Lookup, One(activation)),
    entry(Onnx, "Gelu", Lookup, One(|i, c| i.gelu(c))),
    entry(Onnx, "Softplus", Lookup, One(activation)),
    entry(Onnx, "Sqrt", Lookup, One(activation)),
    entry(Onnx, "Reciprocal", Lookup, One(activation)),
    entry(Onnx, "Sin", Lookup, One(activation)),
    entry(Onnx, "Cos", Lookup, One(activation)),
    entry(Onnx, "HardSigmoid", Lookup, One(activation)),
    entry(Onnx, "HardSwish", Lookup, One(activation)),
    entry(Onnx, "Elu", Lookup, One(activation)),
    entry(Onnx, "Selu", Lookup, One(activation)),
    entry(Onnx, "Celu", Lookup, One(activation)),
    entry(Onnx, "Softsign", Lookup, One(activation)),
    entry(Onnx, "Mish", Lookup, One(activation)),
    entry(Onnx, "ThresholdedRelu", Lookup, One(activation)),
    entry(Onnx, "Softmax", Composed, One(|i, c| i.softmax(c))),
    entry(
        Onnx,
        "LayerNormalization",
        Composed,
        One(|i, c| i.layer_norm(c)),
    ),
    entry(
        Onnx,
        "InstanceNormalization",
        Composed,
        One(|i, c| i.instance_norm(c)),
    ),
    entry(
        Onnx,
        "GroupNormalization",
        Composed,
        One(|i, c| i.group_norm(c)),
    ),
    entry(Onnx, "ReduceL1", Composed, One(|i, c| i.reduce_composed(c))),
    entry(Onnx, "ReduceL2", Composed, One(|i, c| i.reduce_composed(c))),
    entry(
        Onnx,
        "ReduceSumSquare",
        Composed,
        One(|i, c| i.reduce_composed(c)),
    ),
    entry(
        Onnx,
        "ReduceMin",
        Composed,
        One(|i, c| i.reduce_composed(c)),
    ),
    entry(
        Onnx,
        "ReduceLogSumExp",
        Composed,
        One(|i, c| i.reduce_composed(c)),
    ),
    entry(Onnx, "Greater", Comparison, One(|i, c| i.compare(c))),
    entry(Onnx, "Less", Comparison, One(|i, c| i.compare(c))),
    entry(Onnx, "GreaterOrEqual", Comparison, One(|i, c| i.compare(c))),
    entry(Onnx, "LessOrEqual", Comparison, One(|i, c| i.compare(c))),
    entry(Onnx, "Equal", Comparison, One(|i, c| i.compare(c))),
    entry(Onnx, "Not", Comparison, One(|i, c| i.logic(c))),
    entry(Onnx, "And", Comparison, One(|i, c| i.logic(c))),
    entry(Onnx, "Or", Comparison, One(|i, c| i.logic(c))),
    entry(Onnx, "Xor", Comparison, One(|i, c| i.logic(c))),
    entry(Onnx, "Where", Selection, One(|i, c| i.where_op(c))),
    entry(Onnx, "ArgMax", Selection, One(|i, c| i.argmax(c))),
    entry(Onnx, "Gather", Selection, One(|i, c| i.gather_op(c))),
    entry(Onnx, "TopK", Selection, Many(|i, c| i.top_k(c))),
    entry(
        Ml,
        "LinearRegressor",
        ScikitLearn,
        One(|i, c| i.linear_regressor(c)),
    ),
    entry(
        Ml,
        "LinearClassifier",
        ScikitLearn,
        Many(|i, c| i.linear_classifier(c)),
    ),
    entry(Ml, "Scaler", ScikitLearn, One(|i, c| i.scaler(c))),
    entry(Ml, "Normalizer", ScikitLearn, One(|i, c| i.normalizer(c))),
    entry(
        Ml,
        "TreeEnsembleRegressor",
        ScikitLearn,
        One(|i, c| i.tree_regressor(c)),
    ),
    entry(
        Ml,
        "TreeEnsembleClassifier",
        ScikitLearn,
        Many(|i, c| i.tree_classifier(c)),
    ),
    entry(Ml, "ZipMap", ScikitLearn, One(|i, c| i.identity(c))),
    entry(Onnx, "Reshape", Wiring, One(|i, c| i.reshape(c))),
    entry(Onnx, "Flatten", Wiring, One(|i, c| i.flatten(c))),
    entry(Onnx, "Squeeze", Wiring, One(|i, c| i.squeeze(c))),
    entry(Onnx, "Unsqueeze", Wiring, One(|i, c| i.squeeze(c))),
    entry(Onnx, "Identity", Wiring, One(|i, c| i.identity(c))),
    entry(Onnx, "Dropout", Wiring, One(|i, c| i.identity(c))),
    entry(Onnx, "Cast", Wiring, One(|i, c| i.cast(c))),
    entry(Onnx, "Transpose", Wiring, One(|i, c| i.transpose(c))),
    entry(Onnx, "Concat", Wiring, One(|i, c| i.concat(c))),
    entry(Onnx, "Split", Wiring, Many(|i, c| i.split(c))),
    entry(Onnx, "Slice", Wiring, One(|i, c| i.slice(c))),
    entry(Onnx, "Pad", Wiring, One(|i, c| i.pad(c))),
    entry(Onnx, "Expand", Wiring, One(|i, c| i.expand(c))),
    entry(Onnx, "Tile", Wiring, One(|i, c| i.tile(c))),
    entry(Onnx, "DepthToSpace", Wiring, One(|i, c| i.depth_space(c))),
    entry(Onnx, "SpaceToDepth", Wiring, One(|i, c| i.depth_space(c))),
    entry(Onnx, "Resize", Wiring, One(|i, c| i.resize(c))),
    entry(Onnx, "Upsample", Wiring, One(|i, c| i.resize(c))),
    entry(Onnx, "Shape", Wiring, One(|i, c| i.shape_of(c))),
    entry(
        Onnx,
        "Constant",
        Wiring,
        One(|i, c| Ok(Value::Constant(constant_node(c, i.folder.as_deref())?))),
    ),
    entry(Onnx, "Round", Folded, One(only_folded)),
    entry(Onnx, "Mod", Folded, One(only_folded)),
    entry(Onnx, "Range", Folded, One(only_folded)),
    entry(Onnx, "ConstantOfShape", Folded, One(only_folded)),
];

/// The entry for `op` in `domain`.
pub(super) fn lookup(domain: Domain, op: &str) -> Option<&'static Entry> {
    CATALOG.iter().find(|e| e.domain == domain && e.op == op)
}

/// The README's operator table: one row per family, its operators and how they are constrained.
pub fn markdown() -> String {
    let mut out =
        String::from("| family | ONNX operators | how it is constrained |\n|---|---|---|\n");
    for family in Family::ALL {
        let ops: Vec<&str> = CATALOG
            .iter()
            .filter(|e| e.family == family)
            .map(|e| e.op)
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            family.name(),
            ops.join(", "),
            family.how()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator_is_listed_once_and_every_family_has_one() {
        for (i, e) in CATALOG.iter().enumerate() {
            assert!(
                CATALOG[..i]
                    .iter()
                    .all(|f| (f.domain, f.op) != (e.domain, e.op)),
                "{} listed twice",
                e.op
            );
        }
        for family in Family::ALL {
            assert!(
                CATALOG.iter().any(|e| e.family == family),
                "{} is empty",
                family.name()
            );
        }
    }

    #[test]
    fn the_readme_table_is_the_catalog() {
        let readme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let text = std::fs::read_to_string(&readme).unwrap();
        let (begin, end) = (
            "<!-- ops:begin (generated by onnx::catalog::markdown) -->\n",
            "<!-- ops:end -->",
        );
        let start = text.find(begin).expect("README has the ops markers") + begin.len();
        let stop = text[start..].find(end).expect("README has the end marker") + start;
        let table = markdown();
        if std::env::var_os("ZKINFER_BLESS").is_some() {
            let updated = format!("{}{}{}", &text[..start], table, &text[stop..]);
            std::fs::write(&readme, updated).unwrap();
            return;
        }
        assert_eq!(
            text[start..stop],
            table,
            "README.md's operator table is stale: run `ZKINFER_BLESS=1 cargo test -p zkinfer-prover --lib catalog`"
        );
    }
}
