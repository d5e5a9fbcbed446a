//! Nonlinear element-wise functions proven by table lookup ([`crate::functions::Function`]:
//! Sigmoid, Tanh, Exp, Erf, Gelu's parts, Softplus, Sqrt, Log, ...): the float op
//! [`FunctionOp`] becomes [`Lookup`], `y = table(round(x / 2^shift))`, its input rescaled so that
//! the table has at most `2^table_bits` entries.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::AssignedValue;
use serde::{Deserialize, Serialize};

use super::{rescale, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result};
use crate::chips::RescaleChip;
use crate::fixed::{from_field, to_field};
use crate::functions::{table_value, Function};
use crate::Error;

/// A nonlinear element-wise function (float).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionOp {
    /// Which function.
    pub func: Function,
}

impl Operator for FunctionOp {
    fn eval(&self, args: &[&[f64]]) -> Vec<f64> {
        super::map1(args, |x| self.func.eval(x).unwrap_or(f64::NAN))
    }

    /// The input's bound decides the rescale: a wider input is shifted down until the domain
    /// fits the table. The tag is set once the whole model is quantized (nodes with the same
    /// function, shift and domain share one table).
    fn quantize(&self, q: &Quantizing) -> QOp {
        let in_bits = q.input_bits.first().copied().unwrap_or(1);
        let shift = (in_bits + 2).saturating_sub(q.config.table_bits);
        let domain_bits = if shift == 0 {
            in_bits
        } else {
            in_bits - shift + 1
        };
        QOp::Lookup(Lookup {
            func: self.func,
            shift,
            domain_bits,
            tag: 0,
        })
    }

    fn num_params(&self) -> usize {
        0
    }
}

/// `y = table(round(x / 2^shift))`: a lookup in the table of `func` tagged `tag`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lookup {
    /// The function.
    pub func: Function,
    /// Input rescale before the lookup.
    pub shift: u32,
    /// Table inputs lie in `[-2^domain_bits, 2^domain_bits)`.
    pub domain_bits: u32,
    /// Table tag (1-based; shared by nodes with the same function, shift and domain).
    pub tag: u64,
}

impl QuantizedOperator for Lookup {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        args[0]
            .iter()
            .map(|x| {
                let y = table_value(self.func, rescale(*x, self.shift), self.shift, f.scale.0);
                // Unchecked runs (layout placeholders) take 0 off the domain.
                y.or((!f.check).then_some(0))
                    .ok_or_else(|| Error::OutsideDomain {
                        node: f.node(),
                        func: self.func.name(),
                        x: f.scale.dequantize(*x),
                    })
            })
            .collect()
    }

    fn lay_out(&self, l: &mut Layout, args: &[&[AssignedValue<Fr>]]) -> Vec<AssignedValue<Fr>> {
        let rescaler = RescaleChip::new(l.range);
        args[0]
            .iter()
            .map(|x| {
                let x_t = if self.shift == 0 {
                    *x
                } else {
                    rescaler
                        .rescale(l.ctx, *x, self.shift, self.domain_bits)
                        .output
                };
                // Off the domain (keygen placeholders, or a dishonest input) any y fails the lookup.
                let v = from_field(x_t.value()).unwrap_or(0);
                let y = table_value(self.func, v, self.shift, l.scale).unwrap_or(0);
                l.recorders
                    .lookups
                    .look_up(l.ctx, self.tag, x_t, to_field(y))
            })
            .collect()
    }

    fn params(&self) -> Vec<Vec<i64>> {
        vec![]
    }

    fn lookups_per_element(&self) -> usize {
        1
    }
}
