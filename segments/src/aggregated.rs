//! A segmented build's aggregation, under `aggregation/`: keys of the circuit that verifies
//! every segment proof ([`crate::aggregate`]), and the aggregated proof, which is an ordinary
//! proof file. Its `instances` are the model's statement (input words, outputs, subject, as a
//! single circuit's); its `proof` is the accumulator's [`ACCUMULATOR_LIMBS`] words (32 bytes
//! each, big-endian) followed by the halo2 proof. The generated verifier reads them in that
//! order, so `submit` and the consumer contracts treat an aggregated model like any other.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::{FromUniformBytes, PrimeField};
use halo2_base::halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use zkinfer_prover::artifacts::{Artifact, KeysInfo, ProofArtifact, Settings, ARTIFACT_VERSION};
use zkinfer_prover::encoding::{FieldElement, HexBytes, ModelId};
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, SrsChoice};
use zkinfer_prover::srs::{read_srs, write_srs, Srs, SrsSource};
use zkinfer_prover::{keys, Error as ProverError};

use crate::aggregate::{
    accumulator_decides, aggregate, aggregate_node, aggregation_keygen, aggregation_shape,
    node_protocol, poseidon_proof, segment_protocol, verification_size, verify_aggregated,
    AggregationKeys, AggregationShape, SegmentInstances, SegmentProof, ACCUMULATOR_LIMBS,
};
use crate::build::{prove_segments, witness_and_bindings, SegmentedDir, SegmentedSettings};
use crate::tree::{flat_plan, make_nodes, tree_plan, wrap_segments, Child, NodeMaker, NodePlan};
use crate::{Error, Result};

/// The aggregation circuit's rows (`2^k`) unless `setup` is told otherwise. Two segments take 3
/// advice columns at k = 21 (verified on chain for 408k gas) and 6 at k = 20 (506k gas): fewer
/// columns, fewer commitments and openings for the verifier, for a slower proof.
pub const DEFAULT_AGGREGATION_K: u32 = 21;

/// Advice columns above which `setup` suggests more rows: each column costs the on-chain
/// verifier a commitment and its openings.
const AGGREGATION_COLUMNS_HINT: usize = 3;

/// Advice columns of a flat aggregation above which `setup` (unless told an arity) aggregates
/// in a tree of binary nodes instead: each column costs the on-chain verifier about 33k gas and
/// 1.5 KB of code (3 columns: 408k gas; 6: 506k), and a flat aggregation of 5 wide segments
/// took 12 columns, a 35 KB verifier that EIP-170 refuses. Also the width above which a node
/// that verifies a wide segment beside nodes tries that segment under a node of its own.
const TREE_ABOVE_COLUMNS: usize = 4;

/// The arity of the tree `setup` chooses by itself: the root then verifies two proofs, as the
/// cheapest flat aggregation does.
const DEFAULT_ARITY: usize = 2;

/// Rows (`2^k`) of a setup's aggregation circuits: `k` for a tree's inner nodes (verified only
/// by their parents) and for a flat aggregation that lays out narrow at `k` (at most 4 advice
/// columns); `root` for the proof the chain verifies when it is a tree's root or a flat
/// aggregation wider than that. A root with more rows lays out in fewer advice columns, and
/// each column costs the on-chain verifier a commitment and its openings: measured on a root
/// over a node and a segment, 4 columns and 444k gas at k = 21, 2 columns and 382k gas at
/// k = 22, for a root proof about 1.4 times as long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregationDegrees {
    /// A tree's inner nodes' k, and a narrow flat aggregation's.
    pub k: u32,
    /// The k of a tree's root or of a wide flat aggregation, at least `k`.
    pub root: u32,
}

impl AggregationDegrees {
    /// The default shape: the root one row bit above `k` (at most 2^26 rows).
    pub fn new(k: u32) -> Self {
        Self {
            k,
            root: if k < MAX_DEFAULT_ROOT_K { k + 1 } else { k },
        }
    }

    /// Every aggregation circuit at `2^k` rows.
    pub fn same(k: u32) -> Self {
        Self { k, root: k }
    }

    /// The degrees asked for by `k` and `root` (`--aggregation-k`, `--aggregation-root-k`, or
    /// the service's fields); unless told, the `existing` keys' (a setup run again keeps them,
    /// [`AggregationInfo::degrees`]), else 21 and the root one above. A root given alone below
    /// that k takes the k down with it. Existing degrees outside the range setup takes (an
    /// edited `keys.json`) are ignored.
    pub fn choose(existing: Option<Self>, k: Option<u32>, root: Option<u32>) -> Self {
        let takes = MIN_AGGREGATION_K..=MAX_DEFAULT_ROOT_K;
        let existing =
            existing.filter(|e| e.k <= e.root && takes.contains(&e.k) && takes.contains(&e.root));
        let nodes = k.unwrap_or_else(|| existing.map_or(DEFAULT_AGGREGATION_K, |e| e.k));
        let root = root.unwrap_or(match existing {
            Some(e) if k.is_none() => e.root,
            _ => Self::new(nodes).root,
        });
        Self {
            k: if k.is_none() { nodes.min(root) } else { nodes },
            root,
        }
    }

    /// Whether `info`'s root is the one these degrees make for the same segments: a tree's at
    /// `root`; a flat one's at `k` when it is narrow there (or `root` is `k`), or at `root` when
    /// it was laid out at this `k` first and found wide there.
    fn root_made(&self, info: &AggregationInfo) -> bool {
        let (degree, columns) = (info.config.degree, info.config.num_advice);
        if info.tree.is_some() {
            return degree == self.root;
        }
        (degree == self.k && (columns <= TREE_ABOVE_COLUMNS || self.root == self.k))
            || (degree == self.root && self.root > self.k && info.aggregation_k == Some(self.k))
    }
}

/// The highest k [`AggregationDegrees::new`] gives a root (the CLI's and the service's
/// highest aggregation k).
const MAX_DEFAULT_ROOT_K: u32 = 26;

/// The smallest aggregation k `setup` takes (`--aggregation-k`'s range starts there): a record
/// below it was edited.
pub const MIN_AGGREGATION_K: u32 = 12;

/// `aggregation/keys.json`: what the aggregation keys were made for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggregationInfo {
    /// Artifact version.
    pub version: u32,
    /// The segmented build the keys belong to.
    pub model_id: ModelId,
    /// The SRS used (the segments' keys use the same one).
    pub srs: SrsSource,
    /// The circuit's shape (rows, columns, lookup bits).
    pub config: AggregationConfigParams,
    /// Layout break points the prover must reuse.
    pub break_points: MultiPhaseThreadBreakPoints,
    /// Public instances of an aggregated proof: the statement, then the accumulator.
    pub num_instances: usize,
    /// The segments' instance shapes, in order.
    pub shapes: Vec<SegmentInstances>,
    /// The segments' protocols (from their verifying keys), in order.
    pub protocols: Vec<PlonkProtocol<G1Affine>>,
    /// SHA-256 of each segment's verifying key when the aggregation keys were made: keys made
    /// again for a segment make these stale.
    pub segment_vks: Vec<String>,
    /// SHA-256 of the serialized aggregation verifying key.
    pub vk_sha256: String,
    /// The inner nodes when the aggregation is a tree (the fields above are then its root's,
    /// whose children are nodes or segments); `None` for a flat aggregation.
    #[serde(default)]
    pub tree: Option<TreeInfo>,
    /// The [`AggregationDegrees::k`] it was made with: a tree's inner nodes' k, or the k a flat
    /// aggregation was laid out at first (made there when narrow, else at its root's k).
    /// `None` in keys made before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_k: Option<u32>,
}

/// An aggregation tree's inner nodes (the root is the [`AggregationInfo`] itself).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TreeInfo {
    /// At most this many proofs per node.
    pub arity: usize,
    /// The inner nodes of [`tree_plan`]`(segments, arity)` with the `wrapped` segments under
    /// nodes of their own, children before parents (its last node, the root, is not here). Each
    /// is proven with the Poseidon transcript.
    pub nodes: Vec<NodeInfo>,
    /// Segments that a node of the plan verified beside node proofs but that cost it more to
    /// verify than a node (a wide segment left over at the end of a level): each is verified by
    /// a node of its own, whose proof that parent verifies instead ([`wrap_segments`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrapped: Vec<usize>,
}

/// One inner aggregation node's keys: `aggregation/nodes/{index}/`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeInfo {
    /// What it covers and verifies.
    pub plan: NodePlan,
    /// Its circuit.
    #[serde(flatten)]
    pub shape: AggregationShape,
    /// SHA-256 of its serialized verifying key.
    pub vk_sha256: String,
}

impl TreeInfo {
    /// The tree's plan, root included, when the nodes are the plan's for `segments`.
    fn plan(&self, segments: usize) -> Option<Vec<NodePlan>> {
        let mut plan = tree_plan(segments, self.arity)?;
        if !self.wrapped.is_empty() && !wrap_segments(&mut plan, &self.wrapped) {
            return None;
        }
        let (_, inner) = plan.split_last()?;
        let same = inner.len() == self.nodes.len()
            && inner.iter().zip(&self.nodes).all(|(p, n)| *p == n.plan);
        same.then_some(plan)
    }
}

impl Artifact for AggregationInfo {
    fn version(&self) -> u32 {
        self.version
    }
}

impl AggregationInfo {
    /// Instances of the model's statement (before the accumulator).
    pub fn statement_len(&self) -> usize {
        self.num_instances.saturating_sub(ACCUMULATOR_LIMBS)
    }

    /// The root's shape, as the prover lays it out.
    fn shape(&self) -> AggregationShape {
        AggregationShape {
            config: self.config,
            break_points: self.break_points.clone(),
            num_instances: self.num_instances,
            protocols: self.protocols.clone(),
            shapes: self.shapes.clone(),
        }
    }

    /// Its nodes' plan for `segments` segments, root last (one node when flat), or `None` when
    /// its tree is not the plan's (an edited file).
    fn plan(&self, segments: usize) -> Option<Vec<NodePlan>> {
        match &self.tree {
            Some(tree) => tree.plan(segments),
            None => Some(vec![flat_plan(segments)]),
        }
    }

    /// The degrees a setup run again must be given to keep these keys: a tree's nodes' k and
    /// root's; for a flat aggregation, the k it was laid out at and the root it was made at
    /// (when narrow there, its k and the default root above it; when kept wide at its k, that
    /// k for both).
    pub fn degrees(&self) -> AggregationDegrees {
        let degree = self.config.degree;
        match (self.node_k(), self.aggregation_k) {
            (Some(k), _) => AggregationDegrees { k, root: degree },
            (None, Some(k)) if k < degree => AggregationDegrees { k, root: degree },
            _ if self.config.num_advice > TREE_ABOVE_COLUMNS => AggregationDegrees::same(degree),
            _ => AggregationDegrees::new(degree),
        }
    }

    /// The arity of its tree, 0 when flat.
    pub fn arity(&self) -> usize {
        self.tree.as_ref().map_or(0, |t| t.arity)
    }

    /// The k of its tree's inner nodes (one for all, [`check`](Self::check) makes sure), `None`
    /// when flat.
    pub fn node_k(&self) -> Option<u32> {
        self.tree
            .as_ref()
            .and_then(|t| t.nodes.first())
            .map(|n| n.shape.config.degree)
    }

    /// Refuses an info that does not describe an aggregation of `segments` segments (an edited
    /// file), before anything relies on it.
    fn check(&self, segments: usize, path: &Path) -> Result<()> {
        let fits = |shape: &AggregationShape, children: &[Child]| {
            let shapes_match = shape
                .protocols
                .iter()
                .zip(&shape.shapes)
                .all(|(p, s)| p.num_instance == [s.count] && s.is_consistent());
            let kinds = children
                .iter()
                .zip(&shape.shapes)
                .all(|(c, s)| matches!(c, Child::Node(_)) == s.accumulator);
            shapes_match
                && kinds
                && shape.shapes.len() == children.len()
                && shape.protocols.len() == children.len()
                && shape.break_points.len() == 1
                && (12..=28).contains(&shape.config.degree)
        };
        let nodes_fit = self.plan(segments).is_some_and(|plan| {
            let inner = self.tree.as_ref().map_or(&[][..], |t| &t.nodes[..]);
            inner.iter().all(|n| fits(&n.shape, &n.plan.children))
                // One k for the inner nodes (one SRS file), none above the root's.
                && inner.iter().all(|n| {
                    n.shape.config.degree == inner[0].shape.config.degree
                        && n.shape.config.degree <= self.config.degree
                })
                && plan
                    .last()
                    .is_some_and(|root| fits(&self.shape(), &root.children))
        });
        let statement = self
            .shapes
            .first()
            .zip(self.shapes.last())
            .and_then(|(f, l)| {
                // The first proof's input words, the last's outputs, the subject.
                Some(f.input_words + l.subject().checked_sub(l.input_words)? + 1)
            });
        if !nodes_fit
            || self.segment_vks.len() != segments
            || self.num_instances < ACCUMULATOR_LIMBS + 1
            || statement != Some(self.statement_len())
            // The recorded k: a tree's nodes', or a flat root's at most (and one setup takes).
            || self.aggregation_k.is_some_and(|k| {
                !(MIN_AGGREGATION_K..=self.config.degree).contains(&k)
                    || self.node_k().is_some_and(|n| n != k)
            })
        {
            return Err(Error::Build(format!(
                "{}: inconsistent (edited?): run setup again",
                path.display()
            )));
        }
        Ok(())
    }
}

/// The files of a segmented build's aggregation.
impl SegmentedDir {
    /// `aggregation/`.
    pub fn aggregation(&self) -> PathBuf {
        self.root().join("aggregation")
    }

    /// `aggregation/keys.json`.
    pub fn aggregation_info(&self) -> PathBuf {
        self.aggregation().join("keys.json")
    }

    /// Whether `setup` made the aggregation keys.
    pub fn has_aggregation(&self) -> bool {
        self.aggregation_info().exists()
    }

    fn aggregation_file(&self, name: &str) -> PathBuf {
        self.aggregation().join(name)
    }

    /// `aggregation/nodes/kzg.srs`: the inner nodes' SRS, when their k is not the root's.
    fn node_srs(&self) -> PathBuf {
        self.aggregation_nodes().join("kzg.srs")
    }

    /// `aggregation/nodes/`: the inner nodes' keys of an aggregation tree.
    fn aggregation_nodes(&self) -> PathBuf {
        self.aggregation().join("nodes")
    }

    /// Inner aggregation node `j`'s file `name`.
    fn node_file(&self, j: usize, name: &str) -> PathBuf {
        self.aggregation_nodes().join(j.to_string()).join(name)
    }
}

/// A segmented build's plan and its aggregation keys' info (checked: not stale, not edited).
pub fn aggregation_info(dir: &SegmentedDir) -> Result<(SegmentedSettings, AggregationInfo)> {
    let (settings, _) = dir.load()?;
    let info = read_info(dir, &settings)?;
    Ok((settings, info))
}

/// The shape of a segmented build's statement: (input words, outputs) of its first and last
/// segment, as a consumer contract registers them, checked against the aggregation key's.
pub fn statement_shape(
    dir: &SegmentedDir,
    settings: &SegmentedSettings,
    info: &AggregationInfo,
) -> Result<(usize, usize)> {
    let first = segment_settings(dir, settings, 0)?;
    let last = segment_settings(dir, settings, settings.segments.len() - 1)?;
    let shape = (first.num_public_inputs(), last.num_public_outputs());
    if shape.0 + shape.1 + 1 != info.statement_len() {
        return Err(Error::Build(format!(
            "{}: the segments' statement ({} input words, {} outputs, the subject) is not the \
             aggregation key's ({} instances): run setup again",
            dir.root().display(),
            shape.0,
            shape.1,
            info.statement_len()
        )));
    }
    Ok(shape)
}

/// The statement an aggregated proof of an input would carry, computed without proving or keys
/// (see [`statement`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The instances in the proof's order: the first segment's input words (packed inputs or
    /// their commitment), the last segment's outputs (or their commitment), the subject.
    pub words: Vec<Fr>,
    /// How many leading words are input words.
    pub input_words: usize,
}

/// The statement an aggregated proof of `input` would carry: one forward pass of the whole
/// model, then the first and the last segment laid out (not proven). `commitment` and `attest`
/// read a segmented model's input words and commitments from it, as from a single circuit's.
pub fn statement(dir: &SegmentedDir, input: &InputData) -> Result<Statement> {
    let (settings, model) = dir.load()?;
    // The chain salt is used only by boundary commitments, and none is in the statement.
    let (whole, bindings) = witness_and_bindings(&settings, &model, input)?;
    let n = settings.segments.len();
    let lay_out = |i: usize| {
        let entry = &settings.segments[i];
        pipeline::statement_of_witness(&dir.segment(entry), &entry.values(&whole), bindings)
    };
    let head = lay_out(0)?;
    let tail = if n == 1 {
        head.clone()
    } else {
        lay_out(n - 1)?
    };
    let input_words = segment_settings(dir, &settings, 0)?.num_public_inputs();
    let last = segment_settings(dir, &settings, n - 1)?;
    // The last segment's instances as the aggregation circuit reads them: its input words, its
    // outputs, the subject.
    let outputs = last.num_public_inputs()..tail.len().saturating_sub(1);
    let inconsistent = || {
        Error::Build(format!(
            "{}: the segments' settings do not match their circuits' instances or the \
             aggregation key (edited?): compile and run setup again",
            dir.root().display()
        ))
    };
    if outputs.len() != last.num_public_outputs() {
        return Err(inconsistent());
    }
    let (Some(inputs), Some(outputs), Some(subject)) =
        (head.get(..input_words), tail.get(outputs), tail.last())
    else {
        return Err(inconsistent());
    };
    let words: Vec<Fr> = inputs
        .iter()
        .chain(outputs)
        .chain(std::iter::once(subject))
        .copied()
        .collect();
    // With aggregation keys, the statement has their shape (the settings' counts are not part
    // of the build id).
    if dir.has_aggregation() {
        let info = read_info(dir, &settings)?;
        if info.shapes.first().map(|s| s.input_words) != Some(input_words)
            || words.len() != info.statement_len()
        {
            return Err(inconsistent());
        }
    }
    Ok(Statement { words, input_words })
}

/// Segment `i`'s settings, checked to be the plan's.
fn segment_settings(dir: &SegmentedDir, s: &SegmentedSettings, i: usize) -> Result<Settings> {
    let path = dir.segment(&s.segments[i]).settings();
    let settings = Settings::read(&path)?;
    if settings.model_id != s.segments[i].model_id {
        return Err(Error::Build(format!(
            "{}: not the segment the plan names (edited or recompiled?)",
            path.display()
        )));
    }
    Ok(settings)
}

/// How `setup` shapes the aggregation of a segmented build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Flat when two segments, or when one aggregation circuit over all of them stays narrow
    /// (at most 4 advice columns); else a tree of binary nodes.
    Auto,
    /// One aggregation circuit over every segment, however wide.
    Flat,
    /// A tree of nodes verifying at most this many proofs each (2 or more).
    Tree(usize),
}

/// Generates the aggregation keys with the SRS of `choice` (the segments' keys must exist, made
/// with the same SRS): one circuit over every segment, or a tree of them ([`Arity`]), its inner
/// nodes at `2^k.k` rows and its root at `2^k.root`. A flat aggregation takes `2^k.k` rows when
/// it lays out there in at most 4 advice columns, else `2^k.root` (fewer columns, less gas).
/// Does nothing when they are up to date.
pub fn setup_aggregation(
    dir: &SegmentedDir,
    choice: &SrsChoice,
    k: AggregationDegrees,
    arity: Arity,
) -> Result<AggregationInfo> {
    if k.root < k.k {
        return Err(Error::Build(format!(
            "an aggregation root at k = {} (--aggregation-root-k) below its nodes' k = {} \
             (--aggregation-k, or the existing keys'): a root takes at least its nodes' rows \
             (more rows, fewer columns, less gas)",
            k.root, k.k
        )));
    }
    let (settings, _) = dir.load()?;
    let n = settings.segments.len();
    let wanted = choice.source();
    if let Ok(info) = read_info(dir, &settings) {
        let nodes = info.tree.as_ref().map_or(0, |t| t.nodes.len());
        let files = ["pk.bin", "vk.bin", "kzg.srs"]
            .iter()
            .all(|f| dir.aggregation_file(f).exists())
            && (0..nodes).all(|j| {
                ["pk.bin", "vk.bin"]
                    .iter()
                    .all(|f| dir.node_file(j, f).exists())
            });
        let same_arity = match arity {
            Arity::Auto => true,
            Arity::Flat => info.tree.is_none(),
            // (A tree wraps segments only beside nodes: its plan has inner nodes.)
            Arity::Tree(a) => {
                tree_plan(n, a).is_some_and(|p| p.len() > 1) == info.tree.is_some()
                    && info.tree.as_ref().is_none_or(|t| t.arity == a)
            }
        };
        // Keys damaged or replaced since (their fingerprints differ) are made again.
        let root_srs = files
            .then(|| verifying_key(dir, &info).ok())
            .flatten()
            .map(|(srs, _)| srs);
        // So is a nodes' SRS that is not the root's powers.
        let node_k_ok = info.tree.as_ref().is_none_or(|t| {
            t.nodes.iter().all(|n| n.shape.config.degree == k.k)
                && (k.k == k.root
                    || root_srs
                        .as_ref()
                        .is_some_and(|srs| read_node_srs(dir, k.k, srs).is_ok()))
        });
        let root_ok = k.root_made(&info);
        let intact = root_srs.is_some()
            && info.tree.as_ref().is_none_or(|t| {
                t.nodes.iter().enumerate().all(|(j, node)| {
                    let path = dir.node_file(j, "vk.bin");
                    read_aggregation_vk(&path, &node.shape.config)
                        .and_then(|vk| check_fingerprint(&path, &vk, &node.vk_sha256))
                        .is_ok()
                })
            });
        if intact && info.srs == wanted && root_ok && node_k_ok && same_arity {
            tracing::info!("aggregation keys are up to date");
            return Ok(info);
        }
    }
    tracing::info!(k = k.k, "aggregation setup: loading the SRS");
    let (srs, source) = choice.load(k.k as usize)?;
    let (mut protocols, mut shapes, mut segment_vks) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (i, entry) in settings.segments.iter().enumerate() {
        let seg = dir.segment(entry);
        seg.require_keys()?;
        let seg_settings = Settings::read(&seg.settings())?;
        let seg_keys = KeysInfo::read(&seg.keys_info())?;
        if seg_keys.model_id != entry.model_id || seg_settings.model_id != entry.model_id {
            return Err(Error::Build(format!(
                "segment {i}'s build or keys are not the plan's: compile and run setup again"
            )));
        }
        let circuit = &seg_settings.circuit;
        let vk = keys::read_vk(&seg.vk(), circuit)?;
        let seg_srs = read_srs(&seg.srs(), circuit.k)?;
        // One ceremony for all: the accumulator is decided with the aggregation SRS's secret,
        // so segment keys from another SRS would never verify (or, from the development SRS,
        // make the aggregate forgeable while its keys look safe).
        if !same_secret(&seg_srs, &srs) {
            return Err(Error::Build(format!(
                "segment {i}'s keys were made with another SRS than this one: run setup with \
                 the same SRS for the whole build"
            )));
        }
        segment_vks.push(keys::vk_sha256(&vk));
        protocols.push(segment_protocol(&seg_srs, &vk, circuit.num_instances));
        shapes.push(SegmentInstances {
            count: circuit.num_instances,
            input_words: circuit.input_words,
            accumulator: false,
        });
    }
    // A flat aggregation's advice columns at k.k: laid out (no keys) at most once, to choose the
    // arity and then the root's k.
    let mut flat_columns = None;
    let mut flat_width = || -> Result<usize> {
        if let Some(columns) = flat_columns {
            return Ok(columns);
        }
        let columns = aggregation_shape(&srs, k.k, protocols.clone(), &shapes)?
            .config
            .num_advice;
        tracing::info!(
            advice = columns,
            "a flat aggregation of {n} segments at k = {} takes {columns} advice columns",
            k.k
        );
        flat_columns = Some(columns);
        Ok(columns)
    };
    let arity = match arity {
        Arity::Flat => None,
        Arity::Tree(a) => Some(a),
        Arity::Auto if n <= 2 => None,
        // Laying out a flat circuit over many segments would itself take minutes and GiBs;
        // four narrow segments already take about 6 columns.
        Arity::Auto if n >= 4 => Some(DEFAULT_ARITY),
        Arity::Auto => {
            let wide = flat_width()? > TREE_ABOVE_COLUMNS;
            if wide {
                tracing::info!("aggregating in a tree of binary nodes instead");
            }
            wide.then_some(DEFAULT_ARITY)
        }
    };
    // No more segments than the arity (or one segment): flat.
    let mut plan = arity
        .and_then(|a| tree_plan(n, a))
        .unwrap_or_else(|| vec![flat_plan(n)]);
    let tree = plan.len() > 1;
    // The proof the chain verifies takes 2^k.root rows when it is a tree's root, or a flat
    // aggregation too wide at 2^k.k rows (two wide segments: 7 columns at k = 21, 531k gas).
    let raised = k.root > k.k
        && (tree || {
            let wide = flat_width()? > TREE_ABOVE_COLUMNS;
            if wide {
                tracing::info!(
                    "laying the flat aggregation out at k = {} instead (--aggregation-root-k)",
                    k.root
                );
            }
            wide
        });
    // The root's SRS: the same ceremony's, with 2^k.root powers (its first 2^k are the nodes';
    // loaded, not downsized, which would recompute the Lagrange basis with a group FFT).
    // Loaded before the old keys go: a ceremony file too short for it leaves them in place.
    let root_srs = match raised {
        true => {
            tracing::info!(k = k.root, "aggregation setup: the root's SRS");
            let (root_srs, _) = choice.load(k.root as usize).map_err(|e| {
                Error::Build(format!(
                    "the aggregation root at k = {}: {e} (--aggregation-root-k {}, the service's \
                     aggregation_root_k, keeps the root at --aggregation-k, for a wider root and \
                     a costlier verifier)",
                    k.root, k.k
                ))
            })?;
            if !same_ceremony(&srs, &root_srs) {
                return Err(Error::Build(format!(
                    "the SRS at k = {} is not the first powers of the one at k = {}",
                    k.k, k.root
                )));
            }
            Some(root_srs)
        }
        false => None,
    };
    // Old keys would be stale beside the new ones (and a flat setup has no nodes); their record
    // goes first, and the old root proving key before the new one is made (the disk may not
    // hold two).
    for old in [
        dir.aggregation_info(),
        dir.aggregation_nodes(),
        dir.aggregation_file("pk.bin"),
    ] {
        let removed = if old.is_dir() {
            std::fs::remove_dir_all(&old)
        } else {
            std::fs::remove_file(&old)
        };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::Io(old, e)),
            _ => {}
        }
    }
    std::fs::create_dir_all(dir.aggregation()).map_err(|e| Error::Io(dir.aggregation(), e))?;
    let mut maker = KeyMaker {
        srs: &srs,
        root_srs: root_srs.as_ref().unwrap_or(&srs),
        k,
        segments: n,
        dir,
        protocols: &protocols,
        shapes: &shapes,
        made: Vec::new(),
        nodes: Vec::with_capacity(plan.len() - 1),
    };
    let wrapped = make_nodes(&mut plan, &mut maker, TREE_ABOVE_COLUMNS)?;
    let (root, inner) = plan.split_last().expect("a plan has a root");
    tracing::info!("aggregation setup: generating the keys");
    let (child_protocols, child_shapes) = maker.children_of(root);
    let nodes = maker.nodes;
    // (Every plan of more than one node keeps inner nodes: make_nodes only adds some.)
    if tree && root_srs.is_some() {
        write_srs(&srs, &dir.node_srs())?;
    }
    let srs = root_srs.unwrap_or(srs);
    let root_k = if raised { k.root } else { k.k };
    let keys = aggregation_keygen(&srs, root_k, child_protocols, &child_shapes)?;
    if keys.shape.config.num_advice > AGGREGATION_COLUMNS_HINT {
        tracing::warn!(
            "the aggregation circuit takes {} advice columns at k = {root_k}: its verifier costs more \
             gas per column; {} {} would take about half as many{}",
            keys.shape.config.num_advice,
            if !(tree || raised) {
                "--aggregation-k"
            } else {
                "--aggregation-root-k"
            },
            root_k + 1,
            if inner.is_empty() && n > 2 {
                ", and --aggregation-arity 2 makes it a tree whose root verifies two proofs"
            } else {
                ""
            }
        );
    }
    let vk = keys.pk.get_vk();
    keys::write_pk(&keys.pk, &dir.aggregation_file("pk.bin"))?;
    keys::write_vk(vk, &dir.aggregation_file("vk.bin"))?;
    write_srs(&srs, &dir.aggregation_file("kzg.srs"))?;
    let vk_sha256 = keys::vk_sha256(vk);
    let shape = keys.shape;
    let info = AggregationInfo {
        version: ARTIFACT_VERSION,
        model_id: settings.model_id,
        srs: source,
        config: shape.config,
        break_points: shape.break_points,
        num_instances: shape.num_instances,
        shapes: shape.shapes,
        protocols: shape.protocols,
        segment_vks,
        vk_sha256,
        tree: arity.filter(|_| !inner.is_empty()).map(|arity| TreeInfo {
            arity,
            nodes,
            wrapped,
        }),
        aggregation_k: Some(k.k),
    };
    info.write(&dir.aggregation_info())?;
    Ok(info)
}

/// Makes an aggregation tree's inner node keys for [`make_nodes`]: node `j`'s in
/// `aggregation/nodes/{j}/`, its protocol and instance shape for its parent in `made[j]`, its
/// description in `nodes[j]`.
struct KeyMaker<'a> {
    /// The inner nodes' SRS.
    srs: &'a Srs,
    /// The root's (the same when their k is).
    root_srs: &'a Srs,
    k: AggregationDegrees,
    /// The number of segments: the root, alone, spans them all.
    segments: usize,
    dir: &'a SegmentedDir,
    /// The segments' protocols and instance shapes.
    protocols: &'a [PlonkProtocol<G1Affine>],
    shapes: &'a [SegmentInstances],
    made: Vec<(PlonkProtocol<G1Affine>, SegmentInstances)>,
    nodes: Vec<NodeInfo>,
}

impl KeyMaker<'_> {
    /// The protocols and instance shapes of `node`'s children, which its keys are made for.
    fn children_of(
        &self,
        node: &NodePlan,
    ) -> (Vec<PlonkProtocol<G1Affine>>, Vec<SegmentInstances>) {
        node.children
            .iter()
            .map(|c| match *c {
                Child::Segment(i) => (self.protocols[i].clone(), self.shapes[i]),
                Child::Node(m) => self.made[m].clone(),
            })
            .unzip()
    }
}

impl NodeMaker for KeyMaker<'_> {
    type Error = Error;

    fn size(&self, child: &Child) -> usize {
        match *child {
            Child::Segment(i) => verification_size(&self.protocols[i]),
            Child::Node(m) => verification_size(&self.made[m].0),
        }
    }

    fn columns(&self, node: &NodePlan) -> Result<usize> {
        let (protocols, shapes) = self.children_of(node);
        // (Only the root spans every segment: a wrapped segment's node spans one.)
        let (srs, k) = if node.span == [0, self.segments] {
            (self.root_srs, self.k.root)
        } else {
            (self.srs, self.k.k)
        };
        Ok(aggregation_shape(srs, k, protocols, &shapes)?
            .config
            .num_advice)
    }

    fn make(&mut self, j: usize, of: usize, node: &NodePlan) -> Result<()> {
        tracing::info!(
            node = j,
            of,
            segments = ?node.span,
            "aggregation setup: generating an inner node's keys"
        );
        let (child_protocols, child_shapes) = self.children_of(node);
        let keys = aggregation_keygen(self.srs, self.k.k, child_protocols, &child_shapes)?;
        let vk = keys.pk.get_vk();
        let folder = self.dir.node_file(j, "");
        std::fs::create_dir_all(&folder).map_err(|e| Error::Io(folder.clone(), e))?;
        keys::write_pk(&keys.pk, &self.dir.node_file(j, "pk.bin"))?;
        keys::write_vk(vk, &self.dir.node_file(j, "vk.bin"))?;
        let count = keys.shape.num_instances;
        self.made.push((
            node_protocol(self.srs, vk, count),
            SegmentInstances {
                count,
                input_words: child_shapes[0].input_words,
                accumulator: true,
            },
        ));
        self.nodes.push(NodeInfo {
            plan: node.clone(),
            vk_sha256: keys::vk_sha256(vk),
            shape: keys.shape,
        });
        Ok(())
    }

    fn unmake(&mut self, j: usize) -> Result<()> {
        // Node j's keys are made next, in its folder; no stale key stays beside them.
        for m in j..self.made.len() {
            let folder = self.dir.node_file(m, "");
            std::fs::remove_dir_all(&folder).map_err(|e| Error::Io(folder, e))?;
        }
        self.made.truncate(j);
        self.nodes.truncate(j);
        Ok(())
    }
}

/// The aggregation keys' info, SRS and verifying key, checked against the build and the
/// fingerprint `setup` recorded.
pub fn aggregation_verifying_key(
    dir: &SegmentedDir,
) -> Result<(AggregationInfo, Srs, VerifyingKey<G1Affine>)> {
    let (_, info) = aggregation_info(dir)?;
    let (srs, vk) = verifying_key(dir, &info)?;
    Ok((info, srs, vk))
}

/// The aggregation SRS and verifying key `info` describes, the key checked against its
/// fingerprint.
fn verifying_key(
    dir: &SegmentedDir,
    info: &AggregationInfo,
) -> Result<(Srs, VerifyingKey<G1Affine>)> {
    let path = dir.aggregation_file("vk.bin");
    let vk = read_aggregation_vk(&path, &info.config)?;
    check_fingerprint(&path, &vk, &info.vk_sha256)?;
    let srs = read_srs(
        &dir.aggregation_file("kzg.srs"),
        info.config.degree as usize,
    )?;
    Ok((srs, vk))
}

/// Whether `small` is the first powers of `big`'s ceremony: the same `g` prefix, the same `g2`
/// and `s_g2` (with which every accumulator is decided).
fn same_ceremony(small: &Srs, big: &Srs) -> bool {
    let n = small.get_g().len();
    small.k() <= big.k() && big.get_g().get(..n) == Some(small.get_g()) && same_secret(small, big)
}

/// Whether two SRSs share the generator, `g2` and `s_g2` (the secret every accumulator is
/// decided with), whatever their sizes.
fn same_secret(a: &Srs, b: &Srs) -> bool {
    a.get_g()[0] == b.get_g()[0] && a.g2() == b.g2() && a.s_g2() == b.s_g2()
}

/// The inner nodes' SRS at `2^k` (`aggregation/nodes/kzg.srs`), checked to be the first powers
/// of the root's.
fn read_node_srs(dir: &SegmentedDir, k: u32, root: &Srs) -> Result<Srs> {
    let path = dir.node_srs();
    let srs = read_srs(&path, k as usize)?;
    if !same_ceremony(&srs, root) {
        return Err(Error::Build(format!(
            "{}: not the first powers of the aggregation SRS (replaced?): run setup again",
            path.display()
        )));
    }
    Ok(srs)
}

/// An aggregation circuit's verifying key of this shape.
fn read_aggregation_vk(
    path: &Path,
    config: &AggregationConfigParams,
) -> Result<VerifyingKey<G1Affine>> {
    read_key(path, "verifying key", |r| {
        VerifyingKey::read::<_, AggregationCircuit>(r, SerdeFormat::RawBytes, *config)
    })
}

/// An aggregation circuit's proving key of this shape, checked against the fingerprint `setup`
/// recorded for its verifying key.
fn read_aggregation_pk(
    path: &Path,
    config: &AggregationConfigParams,
    vk_sha256: &str,
) -> Result<ProvingKey<G1Affine>> {
    let pk = read_key(path, "proving key", |r| {
        ProvingKey::<G1Affine>::read::<_, AggregationCircuit>(r, SerdeFormat::RawBytes, *config)
    })?;
    check_fingerprint(path, pk.get_vk(), vk_sha256)?;
    Ok(pk)
}

/// Refuses a key (read from `path`) whose verifying key is not the one `setup` made.
fn check_fingerprint(path: &Path, vk: &VerifyingKey<G1Affine>, vk_sha256: &str) -> Result<()> {
    if keys::vk_sha256(vk) != vk_sha256 {
        return Err(Error::Build(format!(
            "{}: not the key setup made (its fingerprint differs): run setup again",
            path.display()
        )));
    }
    Ok(())
}

/// The fingerprints of the segments' verifying keys as `setup` recorded them now.
fn current_segment_vks(dir: &SegmentedDir, settings: &SegmentedSettings) -> Result<Vec<String>> {
    settings
        .segments
        .iter()
        .map(|entry| {
            let seg = dir.segment(entry);
            let info = KeysInfo::read(&seg.keys_info())?;
            if info.model_id != entry.model_id {
                return Err(Error::Build(format!(
                    "{}: keys of another model",
                    seg.keys_info().display()
                )));
            }
            Ok(info.vk_sha256)
        })
        .collect()
}

fn read_info(dir: &SegmentedDir, settings: &SegmentedSettings) -> Result<AggregationInfo> {
    if !dir.has_aggregation() {
        return Err(Error::Build(format!(
            "{}: no aggregation keys (run `zkinfer setup` on it without --no-aggregation)",
            dir.root().display()
        )));
    }
    let info = AggregationInfo::read(&dir.aggregation_info())?;
    info.check(settings.segments.len(), &dir.aggregation_info())?;
    let stale = current_segment_vks(dir, settings).map_or(true, |vks| vks != info.segment_vks);
    if info.model_id != settings.model_id || stale {
        return Err(Error::Build(format!(
            "{}: made for another build or for other segment keys (stale): run setup again",
            dir.aggregation_info().display()
        )));
    }
    Ok(info)
}

fn read_key<T>(
    path: &Path,
    which: &'static str,
    read: impl FnOnce(&mut BufReader<File>) -> std::io::Result<T>,
) -> Result<T> {
    let file = File::open(path).map_err(|e| Error::Io(path.into(), e))?;
    read(&mut BufReader::new(file)).map_err(|e| {
        Error::Prover(ProverError::UnreadableKey {
            path: path.into(),
            which,
            reason: e.to_string(),
        })
    })
}

/// An aggregated proof file and where its time went.
#[derive(Clone, Debug)]
pub struct AggregatedProof {
    /// The proof file.
    pub artifact: ProofArtifact,
    /// Seconds proving the segments (witness included).
    pub segments_seconds: f64,
    /// Seconds aggregating them (keys loaded, in-circuit verification, the final proof).
    pub aggregation_seconds: f64,
}

/// Proves every segment (Poseidon transcript, `jobs` at a time), then aggregates them into one
/// proof file ([`module docs`](self)). `done(i, n)` after each segment.
pub fn prove_aggregated(
    dir: &SegmentedDir,
    input: &InputData,
    jobs: usize,
    done: &(dyn Fn(usize, usize) + Sync),
) -> Result<AggregatedProof> {
    let (settings, model) = dir.load()?;
    read_info(dir, &settings)?;
    let start = std::time::Instant::now();
    let segments = prove_segments(
        dir,
        (&settings, &model),
        input,
        (jobs, done),
        &|srs, pk, c, i| poseidon_proof(srs, pk, c, i),
    )?;
    drop(model);
    let segments_seconds = start.elapsed().as_secs_f64();
    let mut proved = aggregate_proofs(dir, segments)?;
    proved.segments_seconds = segments_seconds;
    Ok(proved)
}

/// Proves segment `index` alone for aggregation (Poseidon transcript), as a worker of a
/// distributed proof does: the whole model's witness is computed again here, and the boundary
/// commitments take their salt from `chain_seed`, which every segment of one proof must share
/// (a fresh random one per proof: it hides the activations crossing the boundaries).
pub fn prove_segment(
    dir: &SegmentedDir,
    input: &InputData,
    chain_seed: &[u8; 64],
    index: usize,
) -> Result<ProofArtifact> {
    let (settings, model) = dir.load()?;
    read_info(dir, &settings)?;
    let entry = settings.segments.get(index).ok_or_else(|| {
        Error::Build(format!(
            "segment {index} of a build with {} segments",
            settings.segments.len()
        ))
    })?;
    let (whole, mut bindings) = witness_and_bindings(&settings, &model, input)?;
    drop(model);
    bindings.chain_salt = Fr::from_uniform_bytes(chain_seed);
    tracing::info!(
        segment = index,
        of = settings.segments.len(),
        k = entry.plan.k,
        "proving segment"
    );
    Ok(pipeline::prove_witness_with(
        &dir.segment(entry),
        &entry.values(&whole),
        bindings,
        &|srs, pk, c, i| poseidon_proof(srs, pk, c, i),
    )?)
}

/// Aggregates the segment proofs of one input (in segment order, each from [`prove_segment`]
/// or [`prove_aggregated`]'s first step) into one proof file, which is verified natively before
/// it is returned: segment proofs of another build, of another input, made with other keys, in
/// another order or with unchained boundaries are refused.
pub fn aggregate_proofs(
    dir: &SegmentedDir,
    segments: Vec<ProofArtifact>,
) -> Result<AggregatedProof> {
    let settings = SegmentedSettings::read(&dir.settings())?;
    let info = read_info(dir, &settings)?;
    if segments.len() != settings.segments.len() {
        return Err(Error::Build(format!(
            "{} segment proofs for a build of {} segments",
            segments.len(),
            settings.segments.len()
        )));
    }
    for (i, (proof, entry)) in segments.iter().zip(&settings.segments).enumerate() {
        if proof.model_id != entry.model_id {
            return Err(Error::Build(format!(
                "segment proof {i} is for model {}, segment {i} of this build is {}",
                proof.model_id, entry.model_id
            )));
        }
    }
    let start = std::time::Instant::now();
    tracing::info!(segments = segments.len(), "aggregating");
    let srs = read_srs(
        &dir.aggregation_file("kzg.srs"),
        info.config.degree as usize,
    )?;
    let first = segment_settings(dir, &settings, 0)?;
    let output_data = segments
        .last()
        .map(|p| p.output_data.clone())
        .unwrap_or_default();
    let mut leaves: Vec<Option<SegmentProof>> = segments
        .into_iter()
        .map(|p| {
            Some(SegmentProof {
                instances: p.instances.iter().map(|f| f.0).collect(),
                proof: p.proof.0,
            })
        })
        .collect();
    let dev_srs = info.srs == SrsSource::DevInsecure;
    let statement_len = info.statement_len();
    // An aggregation tree: its inner nodes, children before parents, each proven with the
    // Poseidon transcript for its parent to verify.
    let plan = info.plan(settings.segments.len()).ok_or_else(|| {
        Error::Build("the aggregation tree is not the plan's (edited?): run setup again".into())
    })?;
    let (root, _) = plan.split_last().expect("a plan has a root");
    let mut made: Vec<Option<SegmentProof>> = Vec::new();
    let mut take = |node: &NodePlan, made: &mut Vec<Option<SegmentProof>>| {
        node.children
            .iter()
            .map(|c| match *c {
                Child::Segment(i) => leaves[i].take(),
                Child::Node(m) => made[m].take(),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::Build("a proof is used twice in the aggregation tree".into()))
    };
    let nodes = info.tree.as_ref().map_or(&[][..], |t| &t.nodes[..]);
    // The inner nodes' SRS, when their k is not the root's (setup makes them all one k).
    let node_srs = match info.node_k().filter(|k| *k != info.config.degree) {
        Some(k) => Some(read_node_srs(dir, k, &srs)?),
        None => None,
    };
    for (j, node) in nodes.iter().enumerate() {
        let params = node_srs.as_ref().unwrap_or(&srs);
        let [a, b] = node.plan.span;
        tracing::info!(node = j, of = nodes.len(), "aggregating segments {a}..{b}");
        let keys = AggregationKeys {
            pk: read_aggregation_pk(
                &dir.node_file(j, "pk.bin"),
                &node.shape.config,
                &node.vk_sha256,
            )?,
            shape: node.shape.clone(),
        };
        let proof = aggregate_node(params, &keys, take(&node.plan, &mut made)?)?;
        // A node's accumulator is decided only at the root: say here which one went wrong.
        if !accumulator_decides(params, &proof.instances) {
            return Err(Error::Build(format!(
                "aggregation node {j} (segments {a}..{b}): its proofs do not verify (are the \
                 segment keys and the aggregation keys from one setup?)"
            )));
        }
        made.push(Some(proof));
    }
    let proofs = take(root, &mut made)?;
    let keys = AggregationKeys {
        pk: read_aggregation_pk(
            &dir.aggregation_file("pk.bin"),
            &info.config,
            &info.vk_sha256,
        )?,
        shape: info.shape(),
    };
    let (proof, instances) = aggregate(&srs, &keys, proofs)?;
    // A proof that would not verify (stale keys, a broken chain) is an error here, not a file.
    if !verify_aggregated(&srs, keys.pk.get_vk(), &proof, &instances) {
        return Err(Error::Build(
            "the aggregated proof does not verify with its own key (are the segment keys and \
             the aggregation keys from one setup?)"
                .into(),
        ));
    }
    if instances.len() != statement_len + ACCUMULATOR_LIMBS {
        return Err(Error::Build(format!(
            "{} aggregated instances, the key expects {}",
            instances.len(),
            statement_len + ACCUMULATOR_LIMBS
        )));
    }
    let (statement, accumulator) = instances.split_at(statement_len);
    let mut bytes: Vec<u8> = accumulator.iter().flat_map(be_word).collect();
    bytes.extend(proof);
    let artifact = ProofArtifact {
        version: ARTIFACT_VERSION,
        model_id: settings.model_id,
        proof: HexBytes(bytes),
        instances: statement.iter().copied().map(FieldElement).collect(),
        num_inputs: first.num_public_inputs(),
        scale: settings.quantization.scale,
        output_data,
        dev_srs,
    };
    Ok(AggregatedProof {
        artifact,
        segments_seconds: 0.0,
        aggregation_seconds: start.elapsed().as_secs_f64(),
    })
}

/// A field element as the 32-byte big-endian word a verifier reads.
fn be_word(f: &Fr) -> [u8; 32] {
    let mut b = f.to_repr();
    b.reverse();
    b
}

/// Why an aggregated proof file is rejected, or `None` when it verifies: the aggregated proof
/// with its accumulator's pairing, and `output_data` equal to the proven outputs.
pub fn verify_aggregated_proof(
    dir: &SegmentedDir,
    artifact: &ProofArtifact,
) -> Result<Option<String>> {
    let (settings, _) = dir.load()?;
    if artifact.model_id != settings.model_id {
        return Ok(Some(format!(
            "the proof is for model {}, this build is {}",
            artifact.model_id, settings.model_id
        )));
    }
    let info = read_info(dir, &settings)?;
    let (srs, vk) = verifying_key(dir, &info)?;
    if artifact.instances.len() != info.statement_len() {
        return Ok(Some(format!(
            "{} instances; this model's statement has {}",
            artifact.instances.len(),
            info.statement_len()
        )));
    }
    let words = ACCUMULATOR_LIMBS * 32;
    let Some((accumulator, proof)) = artifact.proof.0.split_at_checked(words) else {
        return Ok(Some(format!(
            "the proof is shorter than its {ACCUMULATOR_LIMBS} accumulator words"
        )));
    };
    let mut instances: Vec<Fr> = artifact.instances.iter().map(|f| f.0).collect();
    for word in accumulator.chunks(32) {
        let mut repr = <Fr as PrimeField>::Repr::default();
        repr.copy_from_slice(word);
        repr.reverse();
        match Option::<Fr>::from(Fr::from_repr(repr)) {
            Some(f) => instances.push(f),
            None => return Ok(Some("an accumulator word is not a field element".into())),
        }
    }
    if !verify_aggregated(&srs, &vk, proof, &instances) {
        return Ok(Some("the aggregated proof does not verify".into()));
    }
    // The proven outputs in the last segment's layout (its input is one commitment).
    let first = segment_settings(dir, &settings, 0)?;
    let last = segment_settings(dir, &settings, settings.segments.len() - 1)?;
    let mut layout = vec![Fr::zero(); last.num_public_inputs()];
    let Some(proven) = instances.get(first.num_public_inputs()..info.statement_len()) else {
        return Err(Error::Build(
            "the first segment's input words do not fit the statement (edited?)".into(),
        ));
    };
    layout.extend_from_slice(proven);
    pipeline::check_output_data(&last, &artifact.output_data, &layout)?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys' info of a root at `degree` with `columns` advice columns, made for `aggregation_k`,
    /// a tree with one inner node at `node_k` or flat.
    fn made(
        degree: u32,
        columns: usize,
        aggregation_k: Option<u32>,
        node_k: Option<u32>,
    ) -> AggregationInfo {
        let config = |degree, num_advice| AggregationConfigParams {
            degree,
            num_advice,
            num_lookup_advice: 1,
            num_fixed: 1,
            lookup_bits: degree as usize - 1,
        };
        AggregationInfo {
            version: ARTIFACT_VERSION,
            model_id: ModelId([0; 32]),
            srs: SrsSource::DevInsecure,
            config: config(degree, columns),
            break_points: Vec::new(),
            num_instances: 0,
            shapes: Vec::new(),
            protocols: Vec::new(),
            segment_vks: Vec::new(),
            vk_sha256: String::new(),
            tree: node_k.map(|k| TreeInfo {
                arity: 2,
                nodes: vec![NodeInfo {
                    plan: NodePlan {
                        span: [0, 2],
                        children: vec![Child::Segment(0), Child::Segment(1)],
                    },
                    shape: AggregationShape {
                        config: config(k, 4),
                        break_points: Vec::new(),
                        num_instances: 0,
                        protocols: Vec::new(),
                        shapes: Vec::new(),
                    },
                    vk_sha256: String::new(),
                }],
                wrapped: Vec::new(),
            }),
            aggregation_k,
        }
    }

    fn degrees(k: u32, root: u32) -> AggregationDegrees {
        AggregationDegrees { k, root }
    }

    #[test]
    fn chosen_degrees_default_keep_existing_keys_and_follow_the_flags() {
        // What AggregationInfo::degrees gives for keys on disk: a tree (nodes 21, root 22), a
        // flat aggregation narrow at 20, one made at 20 after it was wide at 19, one kept wide
        // at 20 (--aggregation-root-k 20).
        let tree = Some(degrees(21, 22));
        let flat = Some(degrees(20, 21));
        let raised = Some(degrees(19, 20));
        let kept_wide = Some(degrees(20, 20));
        // Nothing on disk: 21, the root at 22.
        assert_eq!(
            AggregationDegrees::choose(None, None, None),
            degrees(21, 22)
        );
        // Run again without flags: the existing keys' degrees.
        for existing in [tree, flat, raised, kept_wide] {
            assert_eq!(
                AggregationDegrees::choose(existing, None, None),
                existing.unwrap()
            );
        }
        // --aggregation-k alone: the root one above it.
        assert_eq!(
            AggregationDegrees::choose(tree, Some(20), None),
            degrees(20, 21)
        );
        assert_eq!(
            AggregationDegrees::choose(kept_wide, Some(20), None),
            degrees(20, 21)
        );
        // --aggregation-root-k alone: the nodes keep theirs, or follow it down.
        assert_eq!(
            AggregationDegrees::choose(tree, None, Some(23)),
            degrees(21, 23)
        );
        assert_eq!(
            AggregationDegrees::choose(tree, None, Some(20)),
            degrees(20, 20)
        );
        assert_eq!(
            AggregationDegrees::choose(flat, None, Some(19)),
            degrees(19, 19)
        );
        // Both: as told (setup refuses a root below its nodes).
        assert_eq!(
            AggregationDegrees::choose(None, Some(21), Some(21)),
            degrees(21, 21)
        );
        // Existing degrees setup would not take (an edited keys.json) are ignored.
        for edited in [degrees(3, 23), degrees(21, 40), degrees(22, 21)] {
            assert_eq!(
                AggregationDegrees::choose(Some(edited), None, Some(23)),
                degrees(21, 23)
            );
        }
    }

    #[test]
    fn a_flat_root_is_up_to_date_where_a_fresh_setup_would_make_it() {
        let asked = AggregationDegrees { k: 21, root: 22 };
        // Narrow at k: made there, whatever the root's k.
        assert!(asked.root_made(&made(21, 3, Some(21), None)));
        assert!(asked.root_made(&made(21, 4, None, None)));
        // Wide at k: made at the root's k instead, so one at k is stale...
        assert!(!asked.root_made(&made(21, 7, Some(21), None)));
        // ...unless the root's k is k (--aggregation-root-k equal to --aggregation-k).
        assert!(AggregationDegrees::same(21).root_made(&made(21, 7, Some(21), None)));
        // At the root's k: only when laid out at this k first (found wide there).
        assert!(asked.root_made(&made(22, 4, Some(21), None)));
        assert!(!asked.root_made(&made(22, 2, Some(22), None)));
        assert!(!asked.root_made(&made(22, 4, None, None)));
        assert!(!asked.root_made(&made(23, 2, Some(21), None)));
        // A tree's root: at the root's k (its nodes' k is checked beside).
        assert!(asked.root_made(&made(22, 2, Some(21), Some(21))));
        assert!(!asked.root_made(&made(21, 4, Some(21), Some(21))));
    }

    #[test]
    fn existing_keys_give_the_degrees_that_keep_them() {
        for (info, kept) in [
            // A tree: its nodes' k and its root's.
            (
                made(22, 2, Some(21), Some(21)),
                AggregationDegrees { k: 21, root: 22 },
            ),
            // Flat, raised from 21 to 22.
            (
                made(22, 4, Some(21), None),
                AggregationDegrees { k: 21, root: 22 },
            ),
            // Flat and narrow at 21.
            (made(21, 3, Some(21), None), AggregationDegrees::new(21)),
            // Flat, kept wide at 20 (the root's k asked equal to k).
            (made(20, 6, Some(20), None), AggregationDegrees::same(20)),
            // Made before the k was recorded: as a flat root at its degree.
            (made(20, 6, None, None), AggregationDegrees::same(20)),
        ] {
            assert_eq!(info.degrees(), kept, "{:?}", info.config);
            assert!(kept.root_made(&info), "{:?}", info.config);
        }
    }

    #[test]
    fn a_root_below_its_nodes_k_is_refused_before_anything_is_read() {
        // No build at all: the degrees are refused first, with both named.
        let dir = SegmentedDir::new("/nonexistent/zkinfer-build");
        let k = AggregationDegrees { k: 21, root: 20 };
        let err = setup_aggregation(&dir, &SrsChoice::Dev, k, Arity::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("root at k = 20 (--aggregation-root-k) below its nodes' k = 21"),
            "{err}"
        );
        // The default shape passes it.
        assert_eq!(AggregationDegrees::new(21).root, 22);
        assert_eq!(AggregationDegrees::new(26).root, 26);
        assert_eq!(AggregationDegrees::new(27).root, 27);
        // The same degrees pass that check, and fail on the missing build instead.
        let err = setup_aggregation(
            &dir,
            &SrsChoice::Dev,
            AggregationDegrees::same(21),
            Arity::Auto,
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("below its nodes'"), "{err}");
    }
}
