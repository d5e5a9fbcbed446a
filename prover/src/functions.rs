//! Univariate nonlinear functions proven by table lookup (Sigmoid, Tanh, Exp, ...).
//!
//! A function node first rescales its input to the table's resolution, then looks up
//! `(tag, x, f(x))` in a fixed table whose domain comes from calibration.

use serde::{Deserialize, Serialize};

/// A nonlinear element-wise function.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Function {
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `e^x`.
    Exp,
    /// The error function.
    Erf,
    /// `x · Φ(x)` (exact GELU).
    Gelu,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `√x` (defined for `x >= 0`).
    Sqrt,
    /// `1 / √x` (defined for `x > 0`).
    Rsqrt,
    /// `sin(x)`.
    Sin,
    /// `cos(x)`.
    Cos,
    /// `ln(x)` (defined for `x > 0`).
    Log,
    /// `1 / x` (defined for `x ≠ 0`).
    Reciprocal,
    /// `max(0, min(1, alpha·x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f64,
        /// Offset.
        beta: f64,
    },
    /// `x` for `x >= 0`, else `alpha · (e^x - 1)`.
    Elu {
        /// Scale of the negative part.
        alpha: f64,
    },
    /// GELU's tanh approximation: `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`
    /// (ONNX `Gelu` with `approximate = "tanh"`).
    GeluTanh,
    /// `x · max(0, min(1, x/6 + 1/2))`.
    HardSwish,
    /// `gamma · x` for `x > 0`, else `gamma · alpha · (e^x - 1)`.
    Selu {
        /// Scale of the negative part.
        alpha: f64,
        /// Overall scale.
        gamma: f64,
    },
    /// `max(0, x) + min(0, alpha · (e^(x/alpha) - 1))`.
    Celu {
        /// Shape of the negative part.
        alpha: f64,
    },
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x · tanh(ln(1 + e^x))`.
    Mish,
    /// `x` for `x > alpha`, else 0.
    ThresholdedRelu {
        /// The threshold.
        alpha: f64,
    },
}

impl Function {
    /// `f(x)`, or `None` outside the function's domain.
    pub fn eval(self, x: f64) -> Option<f64> {
        let y = match self {
            Function::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Function::Tanh => x.tanh(),
            Function::Exp => x.exp(),
            Function::Erf => erf(x),
            Function::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            Function::Softplus => softplus(x),
            Function::Sqrt if x >= 0.0 => x.sqrt(),
            Function::Rsqrt if x > 0.0 => 1.0 / x.sqrt(),
            Function::Sin => x.sin(),
            Function::Cos => x.cos(),
            Function::Log if x > 0.0 => x.ln(),
            Function::Reciprocal if x != 0.0 => 1.0 / x,
            Function::HardSigmoid { alpha, beta } => (alpha * x + beta).clamp(0.0, 1.0),
            Function::Elu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Function::GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Function::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Function::Selu { alpha, gamma } => {
                if x > 0.0 {
                    gamma * x
                } else {
                    gamma * alpha * x.exp_m1()
                }
            }
            Function::Celu { alpha } => x.max(0.0) + (alpha * (x / alpha).exp_m1()).min(0.0),
            Function::Softsign => x / (1.0 + x.abs()),
            Function::Mish => x * softplus(x).tanh(),
            Function::ThresholdedRelu { alpha } => {
                if x > alpha {
                    x
                } else {
                    0.0
                }
            }
            Function::Sqrt | Function::Rsqrt | Function::Log | Function::Reciprocal => return None,
        };
        y.is_finite().then_some(y)
    }

    /// The ONNX op type name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Sigmoid => "Sigmoid",
            Function::Tanh => "Tanh",
            Function::Exp => "Exp",
            Function::Erf => "Erf",
            Function::Gelu => "Gelu",
            Function::Softplus => "Softplus",
            Function::Sqrt => "Sqrt",
            Function::Rsqrt => "Rsqrt",
            Function::Sin => "Sin",
            Function::Cos => "Cos",
            Function::Log => "Log",
            Function::Reciprocal => "Reciprocal",
            Function::HardSigmoid { .. } => "HardSigmoid",
            Function::Elu { .. } => "Elu",
            Function::GeluTanh => "Gelu",
            Function::HardSwish => "HardSwish",
            Function::Selu { .. } => "Selu",
            Function::Celu { .. } => "Celu",
            Function::Softsign => "Softsign",
            Function::Mish => "Mish",
            Function::ThresholdedRelu { .. } => "ThresholdedRelu",
        }
    }
}

/// `ln(1 + e^x)`, without overflow for large `x`.
fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

/// The error function (Abramowitz–Stegun 7.1.26 refined by one Newton-free series switch;
/// absolute error < 2e-7, far below fixed-point resolution).
pub fn erf(x: f64) -> f64 {
    if x.abs() < 2.0 {
        // Maclaurin series, converges quickly for |x| < 2.
        let mut sum = x;
        let mut term = x;
        let x2 = x * x;
        for n in 1..60 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 {
                break;
            }
        }
        return sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    // Continued fraction for erfc, accurate for |x| >= 2.
    let z = x.abs();
    let mut f = 0.0;
    for n in (1..60).rev() {
        f = (n as f64 / 2.0) / (z + f);
    }
    let erfc = (-z * z).exp() / std::f64::consts::PI.sqrt() / (z + f);
    (1.0 - erfc).copysign(x)
}

/// The table value for table input `x_t` (the node input divided by `2^shift`), at activation
/// scale `scale`: `round(f(x_t · 2^shift / 2^scale) · 2^scale)`; `None` outside the domain.
pub fn table_value(func: Function, x_t: i128, shift: u32, scale: u32) -> Option<i128> {
    let x = x_t as f64 * (shift as f64).exp2() / (scale as f64).exp2();
    let y = func.eval(x)? * (scale as f64).exp2();
    (y.abs() < 2f64.powi(100)).then(|| y.round() as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_activations_match_known_values() {
        let selu = Function::Selu {
            alpha: 1.673_263_242_354_377_3,
            gamma: 1.050_700_987_355_480_5,
        };
        for (f, x, want) in [
            (Function::HardSwish, 3.0, 3.0),
            (Function::HardSwish, -3.0, 0.0),
            (Function::HardSwish, 1.0, 2.0 / 3.0),
            (Function::Softsign, 1.0, 0.5),
            (Function::Softsign, -3.0, -0.75),
            (Function::ThresholdedRelu { alpha: 0.4 }, 0.3, 0.0),
            (Function::ThresholdedRelu { alpha: 0.4 }, 0.5, 0.5),
            (selu, 2.0, 2.101_401_974_710_961),
            (selu, -1.0, -1.111_330_737_812_562_6),
            (
                Function::Celu { alpha: 0.5 },
                -1.0,
                -0.432_332_358_381_693_6,
            ),
            (Function::Celu { alpha: 0.5 }, 2.0, 2.0),
            (Function::Mish, 1.0, 0.865_098_388_267_310_3),
            (Function::GeluTanh, 1.0, 0.841_191_990_607_477_2),
            (Function::GeluTanh, -2.0, -0.045_402_305_912_823_1),
        ] {
            let y = f.eval(x).unwrap();
            assert!((y - want).abs() < 1e-9, "{f:?}({x}) = {y} vs {want}");
        }
    }

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.5, 0.999_593_047_982_555),
            (-1.5, -0.966_105_146_475_310_7),
        ] {
            assert!(
                (erf(x) - want).abs() < 1e-9,
                "erf({x}) = {} vs {want}",
                erf(x)
            );
        }
    }

    #[test]
    fn domains_are_respected() {
        assert_eq!(Function::Sqrt.eval(-1.0), None);
        assert_eq!(Function::Log.eval(0.0), None);
        assert_eq!(Function::Reciprocal.eval(0.0), None);
        assert_eq!(Function::Sigmoid.eval(0.0), Some(0.5));
        assert!((Function::Gelu.eval(1.0).unwrap() - 0.841_344_746).abs() < 1e-8);
    }
}
