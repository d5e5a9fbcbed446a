//! Nonlinear element-wise functions proven by table lookup ([`crate::functions::Function`]:
//! Sigmoid, Tanh, Exp, Erf, Gelu's parts, Softplus, Sqrt, Log, ...): the float op
//! [`FunctionOp`] becomes [`Lookup`], `y = table(round(x / 2^shift))`, its input rescaled so that
//! the table has at most `2^table_bits` entries.

use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::QuantumCell::Constant;
use halo2_base::{AssignedValue, Context};
use serde::{Deserialize, Serialize};

use super::{rescale, Forwarding, Layout, Operator, QOp, QuantizedOperator, Quantizing, Result};
use crate::chips::{FunctionLookups, RescaleChip};
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
            reachable_only: true,
            mirror: None,
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
    /// The table holds only the inputs an honest witness can reach ([`Lookup::table_domain`]);
    /// `false` in models compiled before it did (their keys hold the whole domain).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reachable_only: bool,
    /// `Some(c)`: `f(−x) = c − f(x)` at every input of the domain, exactly in fixed point
    /// ([`Lookup::symmetry`]; `c = 0` for an odd function), and the table holds the inputs
    /// `0..=hi` only, half the rows; a negative input is looked up through its absolute value
    /// ([`mirrored_look_up`]). Chosen at quantization where the rows saved outweigh the cells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<i64>,
}

/// Advice cells a mirrored lookup adds per element: the sign bit, then five gates of four cells
/// (its bit check, `s·x`, `|x|`, `c − 2f(a)` and the output).
pub const MIRROR_CELLS: usize = 21;

impl Lookup {
    /// The inputs a lookup may take (after its rescale), `lo..=hi`.
    ///
    /// Every node's value lies in `[-2^bits, 2^bits)` (checked by [`crate::quantize::QuantizedModel::forward`];
    /// a linear producer also range-checks it in the circuit), so with `shift = bits + 2 −
    /// table_bits > 0` the rounded input `round(x / 2^shift)` lies in `[-2^(domain_bits − 1),
    /// 2^(domain_bits − 1)]`: half of `[-2^domain_bits, 2^domain_bits)`, which the rescale's range
    /// check keeps (its top value `2^(domain_bits − 1)` needs the extra bit). The rest of the
    /// domain is unreachable, and a table of it would only cost rows (2^14 of them instead of
    /// 2^13 + 1 at the default `table_bits`, a k more for a sigmoid model). Without a shift the
    /// input is the node's value itself: the whole `[-2^domain_bits, 2^domain_bits)`.
    pub fn input_domain(&self) -> (i128, i128) {
        let half = 1i128 << self.domain_bits;
        if self.reachable_only && self.shift > 0 {
            (-(half >> 1), half >> 1)
        } else {
            (-half, half - 1)
        }
    }

    /// The table's inputs, `lo..=hi`: the [`input_domain`](Self::input_domain), or its
    /// non-negative half when mirrored.
    pub fn table_domain(&self) -> (i128, i128) {
        let (lo, hi) = self.input_domain();
        if self.mirror.is_some() {
            (0, hi)
        } else {
            (lo, hi)
        }
    }

    /// `Some(c)` when the fixed-point function satisfies `f(−x) = c − f(x)` at every input of a
    /// domain symmetric about 0 (`c = 2·f(0)`): sigmoid (`c = 2^scale`), tanh, erf, sin, softsign
    /// (`c = 0`). Checked on the table's own integer values, so a mirrored lookup gives exactly
    /// the value [`QuantizedOperator::forward`] computes, rounding included.
    pub fn symmetry(&self, scale: u32) -> Option<i64> {
        let (lo, hi) = self.input_domain();
        if lo != -hi || hi == 0 {
            return None;
        }
        let f = |x| table_value(self.func, x, self.shift, scale);
        let c = 2 * f(0)?;
        let mirrored = (1..=hi).all(|x| f(x).zip(f(-x)).is_some_and(|(a, b)| a + b == c));
        mirrored.then(|| i64::try_from(c).ok()).flatten()
    }
}

/// `y = f(x)` through the non-negative half of `f`'s table, for `f(−x) = c − f(x)`.
///
/// With a sign bit `s` (`1` for `x < 0`), `a = x·(1 − 2s)` is looked up as `(tag, a, f(a))` and
/// `y = f(a) + s·(c − 2·f(a))`. A wrong sign makes `a = −|x|`, which is no table input unless
/// `x = 0`, where both signs give `f(0) = c/2`, the right value; a sign that is no bit is refused
/// by its bit constraint. `sign` and `half` are the witness values of `s` and `f(a)`.
pub fn mirrored_look_up(
    ctx: &mut Context<Fr>,
    gate: &impl GateInstructions<Fr>,
    lookups: &mut FunctionLookups,
    (tag, c): (u64, i64),
    x: AssignedValue<Fr>,
    (sign, half): (Fr, Fr),
) -> AssignedValue<Fr> {
    let s = ctx.load_witness(sign);
    gate.assert_bit(ctx, s);
    let sx = gate.mul(ctx, s, x);
    let a = gate.mul_add(ctx, sx, Constant(-Fr::from(2)), x);
    let f_a = lookups.look_up(ctx, tag, a, half);
    let reflected = gate.mul_add(
        ctx,
        f_a,
        Constant(-Fr::from(2)),
        Constant(to_field(c.into())),
    );
    gate.mul_add(ctx, s, reflected, f_a)
}

impl QuantizedOperator for Lookup {
    fn forward(&self, args: &[&[i128]], f: &Forwarding) -> Result<Vec<i128>> {
        let (lo, hi) = self.input_domain();
        args[0]
            .iter()
            .map(|x| {
                let t = rescale(*x, self.shift);
                // Off the table the lookup has no row: no proof, so an error naming the node.
                let y = (lo..=hi)
                    .contains(&t)
                    .then(|| table_value(self.func, t, self.shift, f.scale.0))
                    .flatten();
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
                let f = |v| to_field(table_value(self.func, v, self.shift, l.scale).unwrap_or(0));
                match self.mirror {
                    None => l.recorders.lookups.look_up(l.ctx, self.tag, x_t, f(v)),
                    Some(c) => mirrored_look_up(
                        l.ctx,
                        l.range.gate(),
                        l.recorders.lookups,
                        (self.tag, c),
                        x_t,
                        (Fr::from(u64::from(v < 0)), f(v.abs())),
                    ),
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantize::QuantizationConfig;

    fn quantized(in_bits: u32, table_bits: u32) -> Lookup {
        let q = Quantizing {
            config: QuantizationConfig {
                table_bits,
                ..QuantizationConfig::default()
            },
            input_bits: &[in_bits],
        };
        match (FunctionOp {
            func: Function::Sigmoid,
        })
        .quantize(&q)
        {
            QOp::Lookup(l) => l,
            other => panic!("{other:?}"),
        }
    }

    /// Every value a node of `in_bits` bits can hold rounds into the table's domain, and both
    /// of its ends are reached: no row is missing, none is dead.
    #[test]
    fn the_table_domain_is_exactly_what_rounded_inputs_reach() {
        for (in_bits, table_bits) in [(4, 8), (8, 8), (9, 8), (12, 8), (13, 10), (7, 4), (3, 4)] {
            let l = quantized(in_bits, table_bits);
            let (lo, hi) = l.table_domain();
            let bound = 1i128 << in_bits;
            let reached = (-bound..bound).map(|x| rescale(x, l.shift));
            let (min, max) = reached.fold((i128::MAX, i128::MIN), |(a, b), v| (a.min(v), b.max(v)));
            assert_eq!(
                (min, max),
                (lo, hi),
                "in_bits {in_bits}, table_bits {table_bits}: {l:?}"
            );
            assert!(
                hi - lo < 1 << table_bits,
                "{l:?}: more than 2^{table_bits} entries"
            );
        }
    }

    /// Sigmoid is `c − f` mirrored with `c = 2^scale`, tanh and erf are odd, exp is neither;
    /// a domain that is not symmetric about 0 (an older model's) is never mirrored.
    #[test]
    fn symmetric_functions_are_found_exactly() {
        let with = |func, l: Lookup| Lookup { func, ..l };
        let l = quantized(12, 10);
        assert_eq!(with(Function::Sigmoid, l).symmetry(13), Some(1 << 13));
        assert_eq!(with(Function::Tanh, l).symmetry(13), Some(0));
        assert_eq!(with(Function::Erf, l).symmetry(10), Some(0));
        assert_eq!(with(Function::Exp, l).symmetry(13), None);
        let whole = Lookup {
            reachable_only: false,
            ..l
        };
        assert_eq!(whole.symmetry(13), None);
        let mirrored = Lookup {
            mirror: Some(1 << 13),
            ..l
        };
        assert_eq!(mirrored.table_domain(), (0, l.input_domain().1));
    }

    /// A model file written before `reachable_only` existed reads back with the whole domain,
    /// the table its keys were made with.
    #[test]
    fn an_older_model_keeps_its_whole_table() {
        let old = r#"{"func":"Sigmoid","shift":3,"domain_bits":6,"tag":1}"#;
        let l: Lookup = serde_json::from_str(old).unwrap();
        assert!(!l.reachable_only);
        // It writes back byte for byte: its model id (a hash of the model file) is unchanged.
        assert_eq!(serde_json::to_string(&l).unwrap(), old);
        assert_eq!(l.table_domain(), (-64, 63));
        assert_eq!(quantized(9, 8).table_domain(), (-64, 64));
    }
}
