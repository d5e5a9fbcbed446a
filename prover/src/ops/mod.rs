//! zkinfer's operators: one type per operator, in one file per family, each telling the whole
//! story of its op.
//!
//! An operator has two faces:
//! - [`Operator`], the float op the ONNX importer produces: its float reference ([`Operator::eval`])
//!   and how it becomes fixed point ([`Operator::quantize`]);
//! - [`QuantizedOperator`], the fixed-point op: its exact integer forward pass
//!   ([`QuantizedOperator::forward`]), its constraints ([`QuantizedOperator::lay_out`]), and its
//!   parameters in commitment order ([`QuantizedOperator::params`], required: an op with
//!   parameters cannot compile without saying how they are committed).
//!
//! The enums [`Op`] and [`QOp`] only dispatch to those types (and keep the artifact format:
//! a build's `model.json` and its model id are unchanged by the move). The ONNX node types that
//! lower onto an op are imported in [`crate::onnx`], which names the op's importer next to its
//! ONNX op type.
//!
//! Families: [`linear`] (Dense, Linear), [`products`] (Bilinear: MatMul of two activations),
//! [`arithmetic`] (AddConst, Add, Sub, Mul),
//! [`piecewise`] (Relu, LeakyRelu, PRelu, Clip, Abs, Sign), [`compare`] (MaxGroups, Compare,
//! Where, ArgMax), [`lookup`] (table functions), [`wiring`] (Input, Reshape, Gather).

pub mod arithmetic;
pub mod compare;
pub mod linear;
pub mod lookup;
pub mod piecewise;
pub mod products;
pub mod wiring;

use halo2_base::gates::RangeChip;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};
use serde::{Deserialize, Serialize};

use crate::chips::{
    ChainedRescaleChip, DenseChip, DotProducts, FunctionLookups, MacChain, ReluChip, RescaleChip,
};
use crate::fixed::{Scale, MAX_RESCALE_BITS};
use crate::quantize::QuantizationConfig;
use crate::Result;

pub use compare::Comparison;

/// The float face of an operator, as imported.
pub trait Operator {
    /// The float reference: the output from the values of the node's inputs (in input order).
    fn eval(&self, args: &[&[f64]]) -> Vec<f64>;
    /// The fixed-point operator.
    fn quantize(&self, q: &Quantizing) -> QOp;
    /// How many parameters (weights, biases, constants) it holds.
    fn num_params(&self) -> usize;
}

/// The fixed-point face of an operator.
pub trait QuantizedOperator {
    /// The exact integer output from the node's input values (in input order).
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>>;
    /// Constrains the output cells from the input cells; `l.params` holds the cells of
    /// [`QuantizedOperator::params`] when parameters are hashed (private witnesses).
    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>>;
    /// The parameters in commitment order, one group per kind (weights, then biases): what a
    /// hashed-parameter commitment covers and what `l.params` holds at layout. Empty for none.
    fn params(&self) -> Vec<Vec<i64>>;
    /// Where the output's range bound comes from.
    fn bound(&self) -> Bound {
        Bound::Calibrated
    }
    /// Table lookups per output element (counted in the layout's cost).
    fn lookups_per_element(&self) -> usize {
        0
    }
}

/// Where a node's range bound comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// From the calibrated maximum and margin.
    Calibrated,
    /// The widest input's bound: the op's outputs are among (or bounded by) its inputs.
    Inputs,
}

/// What [`Operator::quantize`] may read.
pub struct Quantizing<'a> {
    /// The scales and table size.
    pub config: QuantizationConfig,
    /// The bound (bits) of each input, in input order.
    pub input_bits: &'a [u32],
}

impl Quantizing<'_> {
    /// `x` at the weight scale.
    pub fn weight(&self, x: f64) -> i64 {
        self.config.weight_scale.quantize(x) as i64
    }

    /// `x` at the activation scale.
    pub fn activation(&self, x: f64) -> i64 {
        self.config.scale.quantize(x) as i64
    }

    /// A bias (added to products of activations and weights): `x` at both scales.
    pub fn bias(&self, x: f64) -> i64 {
        self.config
            .scale
            .product(self.config.weight_scale)
            .quantize(x) as i64
    }
}

/// What [`QuantizedOperator::forward`] may read.
pub struct Forwarding<'a> {
    /// The activation scale.
    pub scale: Scale,
    /// The weight scale.
    pub weight_scale: Scale,
    /// The graph inputs (for [`wiring::Input`]).
    pub graph_inputs: &'a [Vec<i128>],
    /// False for layout placeholders: values off a table's domain become 0 instead of an error.
    pub check: bool,
    /// The node's name, for errors.
    pub name: &'a str,
    /// The node's ONNX op type, for errors.
    pub op_type: &'a str,
}

impl Forwarding<'_> {
    /// `name (op_type)`: the node as errors name it.
    pub fn node(&self) -> String {
        format!("{} ({})", self.name, self.op_type)
    }
}

/// What records cells beside the main context during a layout, for assignment at synthesis.
pub struct Recorders<'a> {
    /// Function lookups.
    pub lookups: &'a mut FunctionLookups,
    /// Dense layers' dot products, when they have their own region.
    pub dot: Option<&'a mut DotProducts>,
    /// Multiply-accumulate chains on the gate column, when the layout has them.
    pub macs: Option<&'a mut MacChain>,
}

/// Where and how [`QuantizedOperator::lay_out`] constrains a node.
pub struct Layout<'a, 'r> {
    /// The main context.
    pub ctx: &'a mut Context<Fr>,
    /// The range chip (and through it the gate).
    pub range: &'a RangeChip<Fr>,
    /// Lookups and dot products.
    pub recorders: &'a mut Recorders<'r>,
    /// The activation scale (bits).
    pub scale: u32,
    /// The weight scale (bits).
    pub weight_scale: u32,
    /// The node's own bound: `|v| < 2^out_bits`.
    pub out_bits: u32,
    /// The bound of each input, in input order.
    pub in_bits: Vec<u32>,
    /// The cells of the node's parameters when parameters are hashed.
    pub params: Option<&'a [Vec<AssignedValue<Fr>>]>,
    /// A ReLU fused with this node: an affine map ([`Layout::affine`]) outputs the ReLU of its
    /// values, and the `Relu` node reading them (its only reader) passes them on. See
    /// [`crate::circuit::fused_relus`].
    pub fused_relu: bool,
}

impl Layout<'_, '_> {
    /// `bias + Σ w · x` over `(cell, weight)` terms with constant weights (zero weights cost
    /// nothing): a multiply-accumulate chain where the layout has them, else halo2-base's inner
    /// product.
    pub fn accumulate(
        &mut self,
        terms: impl IntoIterator<Item = (AssignedValue<Fr>, i64)>,
        bias: i64,
    ) -> AssignedValue<Fr> {
        match self.recorders.macs.as_mut() {
            Some(chain) => chain.accumulate(self.ctx, terms, bias.into()),
            None => DenseChip::new(&self.range.gate).accumulate_terms(self.ctx, terms, bias),
        }
    }

    /// An affine map's output from its sum `acc`: `round(acc / 2^shift)`, range-checked to the
    /// node's bound, and its ReLU when a ReLU is fused with this node ([`Layout::fused_relu`]).
    /// For the maps' layouts that do not go through [`Layout::affine`].
    pub fn affine_output(&mut self, acc: AssignedValue<Fr>, shift: u32) -> AssignedValue<Fr> {
        let y = self.rescale(acc, shift);
        if self.fused_relu {
            ReluChip::new(self.range)
                .relu(self.ctx, y, self.out_bits)
                .output
        } else {
            y
        }
    }

    /// `round((bias + Σ w · x) / 2^shift)` over constant-weight terms, range-checked to the
    /// node's bound, and its ReLU when a ReLU is fused with this node. Where the layout has
    /// chained rescales the rescale (and ReLU) continue the sum's chain, its offset in the bias
    /// (see [`ChainedRescaleChip`]); else [`Layout::accumulate`] and [`Layout::affine_output`].
    pub fn affine(
        &mut self,
        terms: impl IntoIterator<Item = (AssignedValue<Fr>, i64)>,
        bias: i64,
        shift: u32,
    ) -> AssignedValue<Fr> {
        let (bits, rectify) = (self.out_bits, self.fused_relu);
        if let Some(chain) = self.recorders.macs.as_mut() {
            // (Compile refuses bounds and scales beyond `MAX_RESCALE_BITS`.)
            if chain.rescales() && shift >= 1 && bits >= 1 && bits + shift <= MAX_RESCALE_BITS {
                let offset = ChainedRescaleChip::offset(shift, bits, rectify);
                chain.accumulate(self.ctx, terms, i128::from(bias) + offset);
                return ChainedRescaleChip::new(self.range)
                    .rescale(self.ctx, chain, shift, bits, rectify);
            }
        }
        let acc = self.accumulate(terms, bias);
        self.affine_output(acc, shift)
    }

    /// `round(x / 2^shift)`, range-checked to the node's bound.
    pub fn rescale(&mut self, x: AssignedValue<Fr>, shift: u32) -> AssignedValue<Fr> {
        RescaleChip::new(self.range)
            .rescale(self.ctx, x, shift, self.out_bits)
            .output
    }
}

/// Declares the dispatch enums [`Op`] and [`QOp`] and their `operator()` from one list: an
/// operator with data as `FloatVariant(FloatType) => QuantizedVariant(QuantizedType)`, one without
/// (its type a unit struct serving both faces) as `Variant => Type`. Adding an operator is one
/// line here.
macro_rules! operators {
    (
        with_data { $( $fv:ident($ft:ty) => $qv:ident($qt:ty), )* }
        without_data { $( $uv:ident => $ut:path, )* }
    ) => {
        /// The float operators, as imported: dispatch only (see the module docs).
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub enum Op {
            $( #[doc = concat!("See [`", stringify!($ft), "`].")] $fv($ft), )*
            $( #[doc = concat!("See [`", stringify!($ut), "`].")] $uv, )*
        }

        /// The fixed-point operators: dispatch only (see the module docs).
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        pub enum QOp {
            $( #[doc = concat!("See [`", stringify!($qt), "`].")] $qv($qt), )*
            $( #[doc = concat!("See [`", stringify!($ut), "`].")] $uv, )*
        }

        impl Op {
            /// The operator this variant holds.
            pub fn operator(&self) -> &dyn Operator {
                match self {
                    $( Op::$fv(op) => op, )*
                    $( Op::$uv => &$ut, )*
                }
            }
        }

        impl QOp {
            /// The operator this variant holds.
            pub fn operator(&self) -> &dyn QuantizedOperator {
                match self {
                    $( QOp::$qv(op) => op, )*
                    $( QOp::$uv => &$ut, )*
                }
            }
        }
    };
}

operators! {
    with_data {
        Input(wiring::Input) => Input(wiring::Input),
        Dense(linear::Dense<f64>) => Dense(linear::Dense<i64>),
        Linear(linear::Linear<f64>) => Linear(linear::Linear<i64>),
        AddConst(arithmetic::AddConst<f64>) => AddConst(arithmetic::AddConst<i64>),
        LeakyRelu(piecewise::LeakyRelu<f64>) => LeakyRelu(piecewise::LeakyRelu<i64>),
        PRelu(piecewise::PRelu<f64>) => PRelu(piecewise::PRelu<i64>),
        Clip(piecewise::Clip<f64>) => Clip(piecewise::Clip<i64>),
        MaxGroups(compare::MaxGroups) => MaxGroups(compare::MaxGroups),
        Compare(compare::Compare) => Compare(compare::Compare),
        ArgMax(compare::ArgMax) => ArgMax(compare::ArgMax),
        OneHot(compare::OneHot) => OneHot(compare::OneHot),
        Rounding(arithmetic::Rounding) => Rounding(arithmetic::Rounding),
        Function(lookup::FunctionOp) => Lookup(lookup::Lookup),
        Gather(wiring::Gather) => Gather(wiring::Gather),
        Bilinear(products::Bilinear) => Bilinear(products::Bilinear),
    }
    without_data {
        Add => arithmetic::Add,
        Sub => arithmetic::Sub,
        Mul => arithmetic::Mul,
        Relu => piecewise::Relu,
        Abs => piecewise::Abs,
        Sign => piecewise::Sign,
        Where => compare::Where,
        Reshape => wiring::Reshape,
    }
}

/// Applies `f` to each element of the first argument.
pub(crate) fn map1<T: Copy, R>(args: &[&[T]], f: impl FnMut(T) -> R) -> Vec<R> {
    args[0].iter().copied().map(f).collect()
}

/// Applies `f` to the elements of the first two arguments, pairwise.
pub(crate) fn map2<T: Copy, R>(args: &[&[T]], mut f: impl FnMut(T, T) -> R) -> Vec<R> {
    args[0]
        .iter()
        .zip(args[1])
        .map(|(a, b)| f(*a, *b))
        .collect()
}

/// `round(acc / 2^shift)`, ties toward +infinity: `floor((acc + 2^(shift-1)) / 2^shift)`.
pub fn rescale(acc: i128, shift: u32) -> i128 {
    if shift == 0 {
        return acc;
    }
    (acc + (1i128 << (shift - 1))).div_euclid(1i128 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_rounds_half_up_for_both_signs() {
        assert_eq!(rescale(5, 2), 1); // 1.25
        assert_eq!(rescale(6, 2), 2); // 1.5
        assert_eq!(rescale(-5, 2), -1); // -1.25
        assert_eq!(rescale(-6, 2), -1); // -1.5
        assert_eq!(rescale(-7, 2), -2); // -1.75
    }
}
