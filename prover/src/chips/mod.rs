//! Chips: the gadgets operators are built from (multiply-accumulate, rescale, ReLU, selections and
//! comparisons, the dot-product region, multiply-accumulate chains and the rescales that end them,
//! function lookups). Leaf
//! module: chips know nothing of models or operators.

pub mod chained_rescale;
pub mod dense;
pub mod dot;
pub mod lookup;
pub mod mac;
pub mod pack;
pub mod relu;
pub mod rescale;
pub mod select;
#[cfg(test)]
pub(crate) mod testing;

pub use chained_rescale::{ChainedRescaleChip, RescaleWitness};
pub use dense::DenseChip;
pub use dot::{DotProducts, DotShape, MAX_DOT_WIDTH};
pub use lookup::{FunctionLookups, LOOKUP_WIDTH};
pub use mac::{MacChain, MacConfig};
pub use relu::{Rectified, ReluChip};
pub use rescale::{RescaleChip, Rescaled};
pub use select::{magnitude_bits, SelectChip};
