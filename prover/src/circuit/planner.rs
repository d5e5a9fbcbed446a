//! The planner: chooses the circuit's size and width by laying the model out (with placeholder
//! values) at growing domain sizes, fused or separate, with or without a dot-product region.

use std::sync::Arc;

use halo2_base::gates::circuit::{
    builder::BaseCircuitBuilder, BaseCircuitParams, CircuitBuilderStage,
};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

use super::synthesis::{placeholder_values, synthesize, Bindings};
use super::{
    function_table, CircuitParams, FusedLookup, ModelCircuit, BLINDING_ROWS, MAX_K, MIN_K,
};
use crate::chips::{DotProducts, DotShape, LOOKUP_WIDTH, MAX_DOT_WIDTH};
use crate::privacy::ParamVisibility;
use crate::quantize::{QOp, QuantizedModel};
use crate::{Error, Result};

/// A planning builder: halo2-base's range table of `k - 1` bits, or none in the fused layout.
fn builder(stage: CircuitBuilderStage, k: usize, fused: bool) -> BaseCircuitBuilder<Fr> {
    let b = BaseCircuitBuilder::from_stage(stage)
        .use_k(k)
        .use_instance_columns(1);
    if fused {
        b
    } else {
        b.use_lookup_bits(k - 1)
    }
}

/// Range bits of the fused table at `2^k` rows: the largest that leaves room for `other` rows
/// (functions, constants) and one all-zero row, at most `k - 1`.
fn fused_bits(k: usize, other: usize) -> Option<usize> {
    let free = (1usize << k).checked_sub(BLINDING_ROWS + other + 1)?;
    let bits = (free.checked_ilog2()? as usize).min(k - 1);
    (bits >= MIN_FUSED_BITS).then_some(bits)
}

/// Smallest range-table width of the fused layout (narrower tables cost many limbs).
const MIN_FUSED_BITS: usize = 8;

/// Chooses the circuit size and width, with a `k-1`-bit range table.
///
/// A model that fits one gate column takes the fused layout (range checks, constants and
/// functions in one lookup on that column, with the range table narrowed to make room).
///
/// Among layouts with at most `max_columns` advice columns it takes the smallest domain, unless a
/// single column fits in at most 2^[`NARROW_MAX_K`] rows (or in no more rows than the widest
/// layout, as when a function table fixes the domain): then one column, because every column
/// costs the on-chain verifier an advice and a σ commitment, a selector and their openings
/// (≈ 20–25k gas each), while proving such a domain stays well under a second.
///
/// At each domain size it tries, in order: one gate column; one gate column with
/// multiply-accumulate chains (two cells a term instead of three, and rescales on the chains,
/// a fixed column more, see [`crate::chips::mac`]; below [`MIN_CHAIN_K`] the plain column one
/// size up first); one gate column beside the narrowest
/// dot-product region of `w + 1 ≤ max_columns` columns that fits (dense layers with fixed
/// weights); `max_columns` gate columns with halo2-base's range lookup.
pub fn plan(model: &QuantizedModel, max_columns: usize) -> Result<CircuitParams> {
    plan_as(model, max_columns, LayoutChoice::Auto)
}

/// A layout family the planner can be held to (`zkinfer compile --layout`): one point of the
/// trade-off between proving time (fewer rows) and on-chain verification gas (fewer
/// commitments) that [`plan`] otherwise chooses by rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutChoice {
    /// [`plan`]'s rule.
    #[default]
    Auto,
    /// One gate column, halo2-base's inner products (three cells a multiply-accumulate).
    Plain,
    /// One gate column with multiply-accumulate chains and rescales on them (two cells a
    /// multiply-accumulate, one fixed column more).
    Chain,
    /// One gate column beside the narrowest dot-product region that fits (dense layers with
    /// constant weights only).
    Dot,
    /// Up to `max_columns` gate columns with halo2-base's separate range lookup.
    Columns,
}

impl LayoutChoice {
    /// Every choice, [`LayoutChoice::Auto`] first.
    pub const ALL: [LayoutChoice; 5] = [
        LayoutChoice::Auto,
        LayoutChoice::Plain,
        LayoutChoice::Chain,
        LayoutChoice::Dot,
        LayoutChoice::Columns,
    ];

    /// The name `--layout` takes.
    pub fn name(self) -> &'static str {
        match self {
            LayoutChoice::Auto => "auto",
            LayoutChoice::Plain => "plain",
            LayoutChoice::Chain => "chain",
            LayoutChoice::Dot => "dot",
            LayoutChoice::Columns => "columns",
        }
    }

    /// Whether this choice admits the single-column fused layout (chained or not).
    fn admits_fused(self, chain: bool) -> bool {
        match self {
            LayoutChoice::Auto => true,
            LayoutChoice::Plain => !chain,
            LayoutChoice::Chain => chain,
            LayoutChoice::Dot | LayoutChoice::Columns => false,
        }
    }
}

/// [`plan`] held to one layout family: the smallest domain at which `choice` fits (for
/// [`LayoutChoice::Auto`], exactly [`plan`]).
pub fn plan_as(
    model: &QuantizedModel,
    max_columns: usize,
    choice: LayoutChoice,
) -> Result<CircuitParams> {
    if choice != LayoutChoice::Auto {
        if choice == LayoutChoice::Dot && !dot_applies(model) {
            let reason = if model.privacy.params == ParamVisibility::Hashed {
                "its weights are hashed witnesses (--param-visibility hashed), and a dot-product \
                 region holds constant weights only"
            } else {
                "the model has no dense layer (Gemm, MatMul with constant weights)"
            };
            return Err(Error::LayoutDoesNotApply {
                layout: choice.name(),
                reason: reason.into(),
            });
        }
        if choice == LayoutChoice::Dot && max_columns < 2 {
            return Err(Error::LayoutDoesNotApply {
                layout: choice.name(),
                reason: "a dot-product region needs --max-columns 2 or more".into(),
            });
        }
        return plan_with_columns(model, max_columns, choice).map_err(|e| match e {
            Error::DoesNotFit { max_k } => Error::LayoutDoesNotApply {
                layout: choice.name(),
                reason: format!(
                    "it does not fit in 2^{max_k} rows (try --layout auto or columns, a larger \
                     --max-columns, or --segments)"
                ),
            },
            other => other,
        });
    }
    let widest = plan_with_columns(model, max_columns, choice)?;
    if widest.base.num_advice_per_phase[0] > 1 || widest.dot.is_some() {
        if let Ok(narrow) = plan_with_columns(model, 1, choice) {
            if narrow.k <= widest.k.max(NARROW_MAX_K) {
                return Ok(narrow);
            }
        }
    }
    Ok(widest)
}

/// Largest domain (log2 rows) for which [`plan`] prefers a single advice column.
pub const NARROW_MAX_K: usize = 14;

/// Smallest domain (log2 rows) at which [`plan`] takes multiply-accumulate chains when the plain
/// single-column layout fits one size up: below it a proof takes about 0.1 s either way, while
/// the chains' weight column costs every on-chain verification a commitment and its opening
/// (mlp_tiny: 313.5k gas chained at 2^9 rows against 306k plain at 2^10).
pub const MIN_CHAIN_K: usize = 10;

/// The smallest domain whose layout needs at most `max_columns` advice columns, among the
/// families `choice` admits.
fn plan_with_columns(
    model: &QuantizedModel,
    max_columns: usize,
    choice: LayoutChoice,
) -> Result<CircuitParams> {
    let max_columns = max_columns.max(1);
    let values = placeholder_values(model)?;
    let macs = multiply_accumulates(model);
    let table = Arc::new(function_table(model));
    let dot_widths: Vec<usize> = if dot_applies(model) {
        (1..=MAX_DOT_WIDTH.min(max_columns - 1)).collect()
    } else {
        Vec::new()
    };
    let mac_rows = match dot_widths.last() {
        Some(w) => macs / w,
        None => 2 * macs / max_columns,
    };
    let lower = mac_rows.max(table.len() + BLINDING_ROWS).max(1).ilog2() as usize;
    for k in lower.max(MIN_K)..=MAX_K {
        if table.len() + BLINDING_ROWS > 1 << k {
            continue;
        }
        let usable = (1usize << k) - BLINDING_ROWS;
        // One gate column with the multiply-accumulates in it: halo2-base's inner products
        // (three cells each), else chains (two cells each, a fixed column more).
        for (cells_per_mac, chain) in [(3, false), (2, true)] {
            if !choice.admits_fused(chain) || cells_per_mac * macs > usable {
                continue;
            }
            if let Some(p) = try_fused_layout(model, &values, &table, k, None, chain) {
                if p.base.num_advice_per_phase[0] == 1 {
                    if chain && k < MIN_CHAIN_K && choice == LayoutChoice::Auto {
                        let plain = try_fused_layout(model, &values, &table, k + 1, None, false);
                        if let Some(plain) = plain.filter(|p| p.base.num_advice_per_phase[0] == 1) {
                            return Ok(plain);
                        }
                    }
                    return Ok(p);
                }
            }
        }
        // One gate column beside the narrowest dot-product region that fits.
        let dot_widths = match choice {
            LayoutChoice::Auto | LayoutChoice::Dot => &dot_widths[..],
            _ => &[],
        };
        if let Some(&width) = dot_widths.iter().find(|w| dot_rows(model, **w) <= usable) {
            let dot = Some(DotShape { width });
            if let Some(p) = try_fused_layout(model, &values, &table, k, dot, false) {
                if p.base.num_advice_per_phase[0] == 1 && p.dot_rows <= usable {
                    return Ok(p);
                }
            }
        }
        if matches!(choice, LayoutChoice::Auto | LayoutChoice::Columns) {
            let (p, _) = try_layout(model, &values, &table, k, None, None);
            if p.base.num_advice_per_phase[0] <= max_columns {
                return Ok(p);
            }
        }
    }
    Err(Error::DoesNotFit { max_k: MAX_K })
}

/// Whether the dense layers can take a dot-product region: they have some, with constant
/// weights (hashed weights are witness cells and stay in halo2-base's inner products).
fn dot_applies(model: &QuantizedModel) -> bool {
    model.privacy.params != ParamVisibility::Hashed
        && model.nodes.iter().any(|n| matches!(n.op, QOp::Dense(_)))
}

/// Rows the dense layers take in a dot-product region of `width` accumulators.
fn dot_rows(model: &QuantizedModel, width: usize) -> usize {
    sum_over_dense(model, |rows, _, inputs, outputs| {
        rows * DotProducts::rows_for(outputs, inputs, width)
    })
}

/// Multiply-accumulates of the dense layers (nonzero weights × input rows).
pub fn multiply_accumulates(model: &QuantizedModel) -> usize {
    sum_over_dense(model, |rows, weights, _, _| {
        weights.iter().filter(|w| **w != 0).count() * rows
    })
}

/// The sum over the dense layers of `f(input rows, weights, in_features, out_features)`.
fn sum_over_dense(
    model: &QuantizedModel,
    f: impl Fn(usize, &[i64], usize, usize) -> usize,
) -> usize {
    model
        .nodes
        .iter()
        .map(|n| match &n.op {
            QOp::Dense(d) => {
                let (weights, in_features, out_features) =
                    (&d.weights, &d.in_features, &d.out_features);
                let rows = n.shape.iter().product::<usize>() / out_features.max(&1);
                f(rows, weights, *in_features, *out_features)
            }
            _ => 0,
        })
        .sum()
}

/// The fused layout at `2^k` rows (with multiply-accumulate chains when `mac_chain`) with the
/// widest range table that leaves room for the function and constant entries; `None` when none
/// fits.
pub(super) fn try_fused_layout(
    model: &QuantizedModel,
    values: &[Vec<i128>],
    table: &Arc<Vec<[Fr; LOOKUP_WIDTH]>>,
    k: usize,
    dot: Option<DotShape>,
    mac_chain: bool,
) -> Option<CircuitParams> {
    // The constants are known after a layout; narrower range tables add a few (limb bases).
    let mut other = table.len();
    for _ in 0..3 {
        let fused = FusedLookup {
            lookup_bits: fused_bits(k, other)?,
            functions: !table.is_empty(),
            mac_chain,
            chained_rescale: mac_chain,
        };
        let (p, rows) = try_layout(model, values, table, k, Some(fused), dot);
        if rows + 1 + BLINDING_ROWS <= 1 << k {
            return Some(p);
        }
        other = rows - (1 << fused.lookup_bits);
    }
    None
}

/// halo2-base's `calculate_params(Some(BLINDING_ROWS))`: the same parameters, set on the
/// builder, without its sort of every constant by `Fr::cmp` (see
/// [`super::model_circuit::sorted_distinct`]), which dominated a large model's layout.
pub(super) fn layout_params(builder: &mut BaseCircuitBuilder<Fr>) -> BaseCircuitParams {
    let k = builder.config_params.k;
    let max_rows = (1usize << k) - BLINDING_ROWS;
    let total_fixed = builder.core().copy_manager.lock().map_or(0, |m| {
        super::model_circuit::sorted_distinct(m.constant_equalities.iter().map(|(v, _)| *v)).len()
    });
    let params = BaseCircuitParams {
        k,
        num_advice_per_phase: builder
            .core()
            .phase_manager
            .iter()
            .map(|pm| pm.total_advice().div_ceil(max_rows))
            .collect(),
        num_fixed: total_fixed.div_ceil(1 << k),
        num_lookup_advice_per_phase: builder
            .lookup_manager()
            .iter()
            .map(|lm| lm.total_rows().div_ceil(max_rows))
            .collect(),
        lookup_bits: builder.lookup_bits(),
        num_instance_columns: builder.config_params.num_instance_columns,
    };
    builder.config_params = params.clone();
    params
}

/// Lays out `model` at `2^k` rows (fused, or separate; with or without a dot-product region)
/// and reports its shape, with the rows of the fused table (0 when separate).
pub(super) fn try_layout(
    model: &QuantizedModel,
    values: &[Vec<i128>],
    table: &Arc<Vec<[Fr; LOOKUP_WIDTH]>>,
    k: usize,
    fused: Option<FusedLookup>,
    dot: Option<DotShape>,
) -> (CircuitParams, usize) {
    let b = builder(CircuitBuilderStage::Keygen, k, fused.is_some());
    let mut c = ModelCircuit::new(b, table.clone(), 0, fused, dot);
    let synthesis = synthesize(&mut c, model, values, Bindings::default());
    let base = layout_params(&mut c.builder);
    let advice_cells = c
        .builder
        .core()
        .phase_manager
        .first()
        .map_or(0, |pm| pm.total_advice());
    let range_rows = c.range_chip().lookup_manager()[0].total_rows();
    let function_rows = c.lookups.len();
    let fixed_cells = c.distinct_constants().len();
    let narrow_rows = c.narrow_rows();
    let dot_rows = c.dot.as_ref().map_or(0, DotProducts::rows);
    // Planning circuits are never synthesized; clear them so they drop quietly.
    c.clear();
    let usable = (1usize << k) - BLINDING_ROWS;
    let (lookup_columns, fused_rows) = match fused {
        // The fused table: range, function, constant and narrow range entries.
        Some(f) => (
            0,
            (1 << f.lookup_bits) + table.len() + fixed_cells + narrow_rows,
        ),
        None => (function_rows.div_ceil(usable), 0),
    };
    let params = CircuitParams {
        k,
        base,
        advice_cells,
        lookup_cells: range_rows,
        fixed_cells,
        num_instances: synthesis.instances.len(),
        input_words: synthesis.input_words,
        node_costs: synthesis.costs,
        lookup_columns,
        table_rows: table.len(),
        fused,
        dot,
        dot_rows,
    };
    (params, fused_rows)
}
