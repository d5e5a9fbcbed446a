//! Segment proving: a model too large for one circuit is split at node boundaries into
//! segments, each its own circuit with its own keys. The activations crossing a boundary are
//! bound by a salted Poseidon commitment that is a public instance of both neighbours (see
//! [`zkinfer_prover::privacy::Visibility::Chained`]); the model's own inputs and outputs keep
//! their chosen visibility on the first and last segment. The integer forward pass of the whole
//! model gives every segment's witness, so segments prove independently (in parallel, within a
//! memory limit), and a segmented proof verifies when every segment proof verifies with its own
//! key and the commitments chain.
//!
//! The prover does not depend on this crate.

pub mod aggregate;
mod aggregated;
mod build;
mod error;
pub mod plan;
pub mod split;
pub mod tree;

pub use aggregated::{
    aggregate_proofs, aggregation_info, aggregation_verifying_key, prove_aggregated, prove_segment,
    setup_aggregation, statement, statement_shape, verify_aggregated_proof, AggregatedProof,
    AggregationDegrees, AggregationInfo, Arity, NodeInfo, Statement, TreeInfo,
    DEFAULT_AGGREGATION_K, MIN_AGGREGATION_K,
};
pub use build::{
    compile_segmented, prove, setup, verify, SegmentEntry, SegmentedDir, SegmentedProof,
    SegmentedSettings,
};
pub use error::{Error, Result};
pub use plan::{plan_segments, Goal, PlannedSegment, SegmentSummary};
pub use split::{split, Segment};
