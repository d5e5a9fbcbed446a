//! `DenseChip`: multiply-accumulate of computed values against weights fixed in the circuit.

use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context, QuantumCell};

use crate::fixed::to_field;

/// Computes `bias + Σ x_k · w_k` with the weights as circuit constants, so the verifying key
/// commits to them. Zero weights cost nothing.
#[derive(Clone, Copy, Debug)]
pub struct DenseChip<'a> {
    gate: &'a GateChip<Fr>,
}

impl<'a> DenseChip<'a> {
    /// A chip over the given gate.
    pub fn new(gate: &'a GateChip<Fr>) -> Self {
        DenseChip { gate }
    }

    /// `bias + Σ x · w` over explicit `(cell, weight)` terms.
    pub fn accumulate_terms(
        &self,
        ctx: &mut Context<Fr>,
        terms: impl IntoIterator<Item = (AssignedValue<Fr>, i64)>,
        bias: i64,
    ) -> AssignedValue<Fr> {
        let terms: Vec<_> = terms.into_iter().filter(|(_, w)| *w != 0).collect();
        if terms.is_empty() {
            return ctx.load_constant(to_field(bias.into()));
        }
        // The gate starts the running sum from the first `a` when the first `b` is one.
        let a = std::iter::once(QuantumCell::Constant(to_field(bias.into())))
            .chain(terms.iter().map(|(x, _)| QuantumCell::Existing(*x)));
        let b = std::iter::once(QuantumCell::Constant(Fr::one())).chain(
            terms
                .iter()
                .map(|(_, w)| QuantumCell::Constant(to_field((*w).into()))),
        );
        self.gate.inner_product(ctx, a, b)
    }

    /// `bias + Σ x · w` with the weights and bias in witness cells (hashed parameters): every
    /// term is kept, zero or not, since the weights are the prover's.
    pub fn accumulate_cells(
        &self,
        ctx: &mut Context<Fr>,
        terms: impl IntoIterator<Item = (AssignedValue<Fr>, AssignedValue<Fr>)>,
        bias: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        let (xs, ws): (Vec<_>, Vec<_>) = terms.into_iter().unzip();
        let a = std::iter::once(QuantumCell::Existing(bias))
            .chain(xs.into_iter().map(QuantumCell::Existing));
        let b = std::iter::once(QuantumCell::Constant(Fr::one()))
            .chain(ws.into_iter().map(QuantumCell::Existing));
        self.gate.inner_product(ctx, a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::testing::check;
    use halo2_base::gates::RangeInstructions;

    fn run(x: &[i128], w: &[i64], bias: i64, tamper: Option<i128>) -> bool {
        check(8, |ctx, range| {
            let x: Vec<_> = x.iter().map(|v| ctx.load_witness(to_field(*v))).collect();
            let terms = x.iter().copied().zip(w.iter().copied());
            let acc = DenseChip::new(range.gate()).accumulate_terms(ctx, terms, bias);
            let expected: i128 = x
                .iter()
                .zip(w)
                .map(|(x, w)| crate::fixed::from_field(x.value()).unwrap() * *w as i128)
                .sum::<i128>()
                + bias as i128;
            assert_eq!(crate::fixed::from_field(acc.value()), Some(expected));
            if let Some(v) = tamper {
                let offset = acc.cell.unwrap().offset;
                ctx.advice[offset] = to_field(v).into();
            }
            vec![acc]
        })
    }

    #[test]
    fn honest_accumulator_is_accepted() {
        assert!(run(&[3, -4, 5], &[2, 0, -7], 11, None));
        assert!(run(&[3, -4], &[0, 0], -9, None));
    }

    #[test]
    fn wrong_accumulator_is_rejected() {
        // honest: 3*2 + 5*(-7) + 11 = -18
        assert!(!run(&[3, -4, 5], &[2, 0, -7], 11, Some(-17)));
        assert!(!run(&[3, -4, 5], &[2, 0, -7], 11, Some(18)));
    }
}
