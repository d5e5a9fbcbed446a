//! The model circuit: halo2-base's gates and range table, plus one fixed table of
//! `(tag, x, f(x))` rows for the model's nonlinear functions, looked up from advice columns.
//!
//! Unused lookup rows hold `(0, 0, 0)`, which matches the table's unused (zero) rows; every
//! real row has `tag >= 1`, and the tag cell of a lookup is a circuit constant, so a lookup
//! with tag `t` can only match the rows of function `t`.

use std::sync::Arc;

use halo2_base::gates::circuit::{builder::BaseCircuitBuilder, BaseCircuitParams, BaseConfig};
use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Fixed};
use halo2_base::halo2_proofs::poly::Rotation;
use halo2_base::virtual_region::lookups::LookupAnyManager;
use halo2_base::virtual_region::manager::VirtualRegionManager;
use serde::{Deserialize, Serialize};

use crate::fixed::to_field;
use crate::functions::table_value;
use crate::quantize::{QOp, QuantizedModel};

/// Columns of one lookup: tag, input, output.
pub const LOOKUP_WIDTH: usize = 3;

/// Shape parameters of [`ModelCircuit`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModelCircuitParams {
    /// halo2-base's parameters.
    pub base: BaseCircuitParams,
    /// Advice column triples for function lookups (0 when the model has none).
    pub lookup_columns: usize,
}

/// The constraint system of a model circuit.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    base: BaseConfig<Fr>,
    lookup_advice: Vec<[Column<Advice>; LOOKUP_WIDTH]>,
    table: [Column<Fixed>; LOOKUP_WIDTH],
}

/// A model's circuit: the halo2-base builder plus function lookups.
pub struct ModelCircuit {
    /// Gates, range checks, constants, instances.
    pub builder: BaseCircuitBuilder<Fr>,
    /// Cells `(tag, x, y)` to look up in the function table.
    pub lookups: LookupAnyManager<Fr, LOOKUP_WIDTH>,
    /// The function table rows.
    pub table: Arc<Vec<[Fr; LOOKUP_WIDTH]>>,
    /// Lookup column triples.
    pub lookup_columns: usize,
}

impl ModelCircuit {
    /// Wraps a builder; the lookups share its copy-constraint manager.
    pub fn new(
        mut builder: BaseCircuitBuilder<Fr>,
        table: Arc<Vec<[Fr; LOOKUP_WIDTH]>>,
        lookup_columns: usize,
    ) -> Self {
        let witness_gen_only = builder.witness_gen_only();
        let copy_manager = builder.main(0).copy_manager.clone();
        let lookups = LookupAnyManager::new(witness_gen_only, copy_manager);
        ModelCircuit {
            builder,
            lookups,
            table,
            lookup_columns,
        }
    }
}

/// The rows of the function table of `model`: for each tag, every input of its domain where
/// the function is defined.
pub fn function_table(model: &QuantizedModel) -> Vec<[Fr; LOOKUP_WIDTH]> {
    let mut seen = std::collections::BTreeMap::new();
    for n in &model.nodes {
        if let QOp::Lookup {
            func,
            shift,
            domain_bits,
            tag,
        } = &n.op
        {
            seen.entry(*tag).or_insert((*func, *shift, *domain_bits));
        }
    }
    let mut rows = Vec::new();
    for (tag, (func, shift, domain_bits)) in seen {
        let half = 1i128 << domain_bits;
        for x in -half..half {
            if let Some(y) = table_value(func, x, shift, model.config.scale.0) {
                rows.push([Fr::from(tag), to_field(x), to_field(y)]);
            }
        }
    }
    rows
}

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ModelCircuitParams;

    fn params(&self) -> Self::Params {
        ModelCircuitParams {
            base: self.builder.config_params.clone(),
            lookup_columns: self.lookup_columns,
        }
    }

    fn without_witnesses(&self) -> Self {
        unimplemented!("build the circuit with `keygen_circuit`")
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        params: Self::Params,
    ) -> Self::Config {
        let base = BaseConfig::configure(meta, params.base);
        let table = [
            meta.fixed_column(),
            meta.fixed_column(),
            meta.fixed_column(),
        ];
        let lookup_advice = (0..params.lookup_columns)
            .map(|_| {
                let cols = [
                    meta.advice_column(),
                    meta.advice_column(),
                    meta.advice_column(),
                ];
                for c in cols {
                    meta.enable_equality(c);
                }
                meta.lookup_any("function table", |m| {
                    cols.iter()
                        .zip(table)
                        .map(|(a, t)| {
                            (
                                m.query_advice(*a, Rotation::cur()),
                                m.query_fixed(t, Rotation::cur()),
                            )
                        })
                        .collect()
                });
                cols
            })
            .collect();
        ModelConfig {
            base,
            lookup_advice,
            table,
        }
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("configured with params")
    }

    fn synthesize(
        &self,
        config: Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        Circuit::synthesize(
            &self.builder,
            config.base.clone(),
            layouter.namespace(|| "model"),
        )?;
        if self.lookup_columns == 0 {
            return Ok(());
        }
        layouter.assign_region(
            || "function table",
            |mut region| {
                for (row, entry) in self.table.iter().enumerate() {
                    for (col, value) in config.table.iter().zip(entry) {
                        region.assign_fixed(*col, row, *value);
                    }
                }
                self.lookups.assign_raw(&config.lookup_advice, &mut region);
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::gates::circuit::CircuitBuilderStage;
    use halo2_base::halo2_proofs::dev::MockProver;

    /// A circuit with a table of `(1, x, x²)` for x in -8..8 and `(2, x, -x)`, looking up the
    /// given `(tag, x, y)` triples (tags as constants, as the model layout does).
    fn run(lookups: &[(u64, i128, i128)]) -> bool {
        let k = 8;
        let builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
            .use_k(k)
            .use_lookup_bits(k - 1)
            .use_instance_columns(1);
        let mut table = Vec::new();
        for x in -8i128..8 {
            table.push([Fr::from(1), to_field(x), to_field(x * x)]);
            table.push([Fr::from(2), to_field(x), to_field(-x)]);
        }
        let mut circuit = ModelCircuit::new(builder, Arc::new(table), 1);
        {
            let ctx = circuit.builder.main(0);
            for (tag, x, y) in lookups {
                let tag = ctx.load_constant(Fr::from(*tag));
                let x = ctx.load_witness(to_field(*x));
                let y = ctx.load_witness(to_field(*y));
                circuit.lookups.add_lookup(ctx.tag(), [tag, x, y]);
            }
        }
        circuit.builder.assigned_instances = vec![vec![]];
        circuit
            .builder
            .calculate_params(Some(super::super::BLINDING_ROWS));
        MockProver::run(k as u32, &circuit, vec![vec![]])
            .unwrap()
            .verify()
            .is_ok()
    }

    #[test]
    fn honest_lookups_are_accepted() {
        assert!(run(&[(1, 3, 9), (1, -8, 64), (2, 5, -5), (1, 0, 0)]));
    }

    #[test]
    fn a_wrong_output_is_rejected() {
        assert!(!run(&[(1, 3, 10)]));
        assert!(!run(&[(1, 3, -9)]));
    }

    #[test]
    fn another_functions_row_is_rejected() {
        // (2, 3, -3) is a row, but of function 2: a lookup tagged 1 cannot use it.
        assert!(!run(&[(1, 3, -3)]));
        assert!(!run(&[(2, 3, 9)]));
    }

    #[test]
    fn inputs_outside_the_domain_and_untagged_rows_are_rejected() {
        assert!(!run(&[(1, 8, 64)]));
        assert!(!run(&[(3, 1, 1)]));
        // The all-zero padding row must not serve as a real entry: (0, 0, 0) with tag 1 needs (1, 0, 0).
        assert!(!run(&[(2, 0, 1)]));
    }
}
