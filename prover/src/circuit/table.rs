//! The function table: `(tag, x, f(x))` for every table function of the model, over its domain.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

use crate::chips::LOOKUP_WIDTH;
use crate::fixed::to_field;
use crate::functions::table_value;
use crate::quantize::{QOp, QuantizedModel};

/// The rows of the function table of `model`: for each tag, every input of its
/// [`Lookup::table_domain`](crate::ops::lookup::Lookup::table_domain) where the function is defined.
pub fn function_table(model: &QuantizedModel) -> Vec<[Fr; LOOKUP_WIDTH]> {
    let mut seen = std::collections::BTreeMap::new();
    for n in &model.nodes {
        if let QOp::Lookup(l) = &n.op {
            seen.entry(l.tag).or_insert(*l);
        }
    }
    let mut rows = Vec::new();
    for (tag, l) in seen {
        let (lo, hi) = l.table_domain();
        for x in lo..=hi {
            if let Some(y) = table_value(l.func, x, l.shift, model.config.scale.0) {
                rows.push([Fr::from(tag), to_field(x), to_field(y)]);
            }
        }
    }
    rows
}
