//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Verifiable ML inference: ONNX → halo2 KZG proof → Solidity verifier → EVM.
#[derive(Debug, Parser)]
#[command(name = "zkinfer", version, about)]
pub(crate) struct Cli {
    /// Print one machine-readable JSON object on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Only warnings and errors on stderr (`ZKINFER_LOG` overrides, e.g. `ZKINFER_LOG=debug`).
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Import an ONNX model, calibrate fixed-point scales and lay out the circuit.
    Compile(CompileArgs),
    /// Generate the proving and verifying keys.
    Setup(SetupArgs),
    /// Compute the witness for an input and prove it.
    Prove(ProveArgs),
    /// Verify a proof off-chain; the exit code gives the verdict (0 valid, 1 invalid).
    Verify(VerifyArgs),
    /// Generate the Solidity verifier (with its ABI and bytecode).
    Codegen(CodegenArgs),
    /// Deploy the verifier, the oracle (registering the model) and the lending pool.
    Deploy(DeployArgs),
    /// Send a proof to the oracle in a transaction.
    Submit(SubmitArgs),
    /// Read a verified output (and the lending pool's decision) from the chain.
    Read(ReadArgs),
    /// Print the salted Poseidon commitments of an input (and its outputs) for hashed visibility.
    Commitment(CommitmentArgs),
    /// As a data provider (an attester the oracle's owner granted), vouch on chain for a
    /// subject's input: the hash of the input words its proof will carry.
    Attest(AttestArgs),
    /// One shot: compile (calibrating on the input), dev setup, prove and verify.
    Run(RunArgs),
    /// Verify a proof file with a deployed verifier (an `eth_call`, nothing sent): valid or
    /// invalid with the decoded reason; the exit code gives the verdict (0 valid, 1 invalid).
    VerifyEvm(VerifyEvmArgs),
    /// Print the exact calldata of a proof for the oracle's `submitInference`, the reusable
    /// verifier's `verifyProof` or the model-specific verifier, for any client.
    EncodeCalldata(EncodeCalldataArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Run the prover service: an HTTP API (builds, proofs, health, metrics, OpenAPI) over
    /// durable SQLite jobs run by embedded workers (or, with --queue, by `zkinfer worker`
    /// processes through Redis), until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// Prove jobs of a `zkinfer serve --queue redis://...` server, on any machine that shares
    /// its data directory (--store), one at a time, until Ctrl-C or SIGTERM.
    Worker(WorkerArgs),
}

/// Quantization target.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Target {
    /// Scales 2^13, function tables of 2^14 entries (default).
    Accuracy,
    /// Scales 2^10, function tables of 2^11 entries: smaller circuits, less accuracy.
    Resources,
}

#[derive(Debug, Args)]
pub(crate) struct QuantArgs {
    /// Quantization target; `--scale` overrides its activation/weight scale.
    #[arg(long, value_enum, default_value = "accuracy")]
    pub(crate) target: Target,
    /// Fixed-point scale exponent of activations (values × 2^scale).
    #[arg(long)]
    pub(crate) scale: Option<u32>,
    /// Fixed-point scale exponent of weights (default: the target's).
    #[arg(long)]
    pub(crate) weight_scale: Option<u32>,
    /// Largest function lookup table, in bits (default: the target's; 2 to 24).
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=24))]
    pub(crate) table_bits: Option<u32>,
    /// Safety margin over calibrated ranges, in bits (1 = twice the largest value seen).
    #[arg(long, default_value_t = 1)]
    pub(crate) margin_bits: u32,
    /// Advice columns allowed before the circuit grows to more rows: more columns prove faster
    /// but make the proof, the verifier's gas and its bytecode larger.
    #[arg(long, default_value_t = 4)]
    pub(crate) max_columns: usize,
    /// Hold the planner to one layout family instead of its rule (one circuit, not segments):
    /// `plain` and `chain` take one gate column (chains: fewer rows, one commitment more),
    /// `dot` a dot-product region beside it (dense layers with fixed weights, --max-columns 2 or
    /// more), `columns` up to --max-columns gate columns. Fewer rows prove faster; fewer columns
    /// verify for less gas (`make bench-frontier` measures both). The accuracy target's scale
    /// search still runs (give --scale to compare layouts at one scale).
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) layout: LayoutArg,
    /// Memory that setup and proving may take (e.g. 8GiB): a circuit estimated above it is
    /// refused at compile. Default: the memory available now.
    #[arg(long)]
    pub(crate) max_memory: Option<String>,
    /// Who sees the inputs: public instances (packed), private (witness only), or hashed (one
    /// public instance: the salted Poseidon commitment; the salt comes with the input file).
    #[arg(long, value_enum, default_value = "public")]
    pub(crate) input_visibility: VisibilityArg,
    /// Who sees the outputs (same choices; hashed or private outputs stay out of proof files).
    #[arg(long, value_enum, default_value = "public")]
    pub(crate) output_visibility: VisibilityArg,
    /// Parameters: `fixed` (circuit constants the verifying key commits to) or `hashed` (private
    /// witnesses; every proof carries their salted Poseidon commitment, printed by `compile`).
    #[arg(long, value_enum, default_value = "fixed")]
    pub(crate) param_visibility: ParamVisibilityArg,
    /// The model owner's salt for hashed parameters, 0x hex (default: random, kept in model.json).
    #[arg(long)]
    pub(crate) param_salt: Option<String>,
}

/// A layout family for `compile --layout` (see [`zkinfer_prover::circuit::LayoutChoice`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LayoutArg {
    /// The planner's rule: the smallest domain, one column where it costs little.
    Auto,
    /// One gate column, halo2-base's inner products.
    Plain,
    /// One gate column with multiply-accumulate chains.
    Chain,
    /// One gate column beside a dot-product region.
    Dot,
    /// Up to --max-columns gate columns.
    Columns,
}

impl From<LayoutArg> for zkinfer_prover::circuit::LayoutChoice {
    fn from(v: LayoutArg) -> Self {
        match v {
            LayoutArg::Auto => Self::Auto,
            LayoutArg::Plain => Self::Plain,
            LayoutArg::Chain => Self::Chain,
            LayoutArg::Dot => Self::Dot,
            LayoutArg::Columns => Self::Columns,
        }
    }
}

/// Visibility of the parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ParamVisibilityArg {
    /// Circuit constants.
    Fixed,
    /// Private witnesses with a public commitment.
    Hashed,
}

impl From<ParamVisibilityArg> for zkinfer_prover::commitment::ParamVisibility {
    fn from(v: ParamVisibilityArg) -> Self {
        match v {
            ParamVisibilityArg::Fixed => Self::Fixed,
            ParamVisibilityArg::Hashed => Self::Hashed,
        }
    }
}

/// Visibility of a group of values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum VisibilityArg {
    /// Public instances.
    Public,
    /// Witness only.
    Private,
    /// A salted Poseidon commitment as the one public instance.
    Hashed,
}

impl From<VisibilityArg> for zkinfer_prover::commitment::Visibility {
    fn from(v: VisibilityArg) -> Self {
        match v {
            VisibilityArg::Public => Self::Public,
            VisibilityArg::Private => Self::Private,
            VisibilityArg::Hashed => Self::Hashed,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    /// The ONNX model.
    pub(crate) model: PathBuf,
    /// Calibration samples in EZKL's input format (several samples back to back allowed).
    #[arg(long)]
    pub(crate) calibration: PathBuf,
    /// Build directory to write.
    #[arg(short, long)]
    pub(crate) out: PathBuf,
    /// Replace another model's build in the directory: its keys, verifier, deployment and proof
    /// files are deleted (without it, compile refuses; a build of the same model keeps its keys).
    #[arg(long)]
    pub(crate) force: bool,
    /// Split the model into this many segments, balanced by estimated cost: each its own
    /// circuit and keys, neighbours bound by a Poseidon commitment of the values between them.
    #[arg(long, conflicts_with = "max_k")]
    pub(crate) segments: Option<usize>,
    /// Split the model into as few segments as keep each circuit within 2^K rows (and within
    /// --max-memory).
    #[arg(long)]
    pub(crate) max_k: Option<usize>,
    #[command(flatten)]
    pub(crate) quant: QuantArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    /// Build directory from `compile`.
    pub(crate) build_dir: PathBuf,
    /// A ceremony SRS with at least 2^k powers: a snarkjs powers-of-tau file (`.ptau`, BN254, e.g.
    /// the Perpetual Powers of Tau; its powers are checked with a pairing) or a halo2 KZG params file.
    #[arg(long, conflicts_with = "dev_srs")]
    pub(crate) srs: Option<PathBuf>,
    /// Use a development SRS from a public seed: INSECURE, for testing only.
    #[arg(long)]
    pub(crate) dev_srs: bool,
    /// A segmented build: rows (2^k) of the aggregation circuits that verify the segment proofs
    /// (more rows, fewer columns): a tree's inner nodes, or the one circuit of a flat
    /// aggregation that lays out there in at most 4 advice columns (else it takes
    /// --aggregation-root-k). [default: the existing aggregation keys' k, else 21]
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(zkinfer_segments::MIN_AGGREGATION_K)..=26), conflicts_with = "no_aggregation")]
    pub(crate) aggregation_k: Option<u32>,
    /// A segmented build: rows (2^k) of the root, the one proof the chain verifies, at least
    /// --aggregation-k: a tree's root, or a flat aggregation wider than 4 advice columns at
    /// --aggregation-k. More rows make it narrower and its verifier cheaper (measured: 4 advice
    /// columns and 444k gas at k 21, 2 and 382k at k 22), for a slower last step; a tree's
    /// inner nodes keep --aggregation-k. Given alone below the existing --aggregation-k, it
    /// takes that k down with it. [default: the existing keys' (a setup run again keeps them)
    /// when --aggregation-k is not given, else --aggregation-k + 1, at most 26]
    #[arg(long, value_parser = clap::value_parser!(u32).range(i64::from(zkinfer_segments::MIN_AGGREGATION_K)..=26), conflicts_with = "no_aggregation")]
    pub(crate) aggregation_root_k: Option<u32>,
    /// A segmented build: aggregate in a tree whose nodes each verify at most this many proofs
    /// (2 to 8), or 1 for one flat aggregation of every segment. A tree keeps the on-chain
    /// verifier the size of a 2-segment aggregation however many segments there are, for one
    /// more proof per node. [default: flat when a flat aggregation takes at most 4 advice
    /// columns, else 2]
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=8), conflicts_with = "no_aggregation")]
    pub(crate) aggregation_arity: Option<u8>,
    /// A segmented build: skip the aggregation keys. Its proofs are then one proof per segment,
    /// verified off-chain only (`verify`); `codegen`, `deploy` and `submit` need aggregation.
    #[arg(long)]
    pub(crate) no_aggregation: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// Build directory with keys.
    pub(crate) build_dir: PathBuf,
    /// Input in EZKL's format: {"input_data": [[...]]}.
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Proof file to write.
    #[arg(short, long)]
    pub(crate) out: PathBuf,
    /// The account the proof is about (0x address): the consumer contract credits the verified
    /// output to it, whoever submits. Overrides a `"subject"` in the input file.
    #[arg(long)]
    pub(crate) subject: Option<String>,
    /// A segmented build: segments proved at once (each holds its proving key in memory).
    #[arg(long, default_value_t = 1)]
    pub(crate) jobs: usize,
    /// Also write the proven outputs to FILE (owner-only): {"output_data": [[...]]}, with the
    /// salt that opens their commitment when they are hashed. A proof file carries public
    /// outputs only: this is how the owner of hashed or private outputs reads them. Keep it
    /// private: with hashed inputs, the same salt opens the input commitment too.
    #[arg(long, value_name = "FILE")]
    pub(crate) outputs: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Build directory with keys.
    pub(crate) build_dir: PathBuf,
    /// Proof file from `prove`.
    pub(crate) proof: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SolcArgs {
    /// Solidity compiler (0.8.19, native or the solc-js shim), standard-JSON capable.
    #[arg(long, env = "ZKINFER_SOLC", default_value = "solc")]
    pub(crate) solc: String,
}

#[derive(Debug, Args)]
pub(crate) struct CodegenArgs {
    /// Build directory with keys.
    pub(crate) build_dir: PathBuf,
    /// Solidity file to write; `.abi.json` and `.bin` are written beside it (with `--verifier
    /// reusable`, the shared verifier; the model's key goes to `<stem>.key.sol`).
    #[arg(short, long)]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) verifier: VerifierArgs,
    #[command(flatten)]
    pub(crate) solc: SolcArgs,
}

/// Which verifier contract to generate or deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum VerifierChoice {
    /// A model-specific verifier from snark-verifier (hardened): the differential reference,
    /// 20–45k gas cheaper, but its bytecode grows with the circuit.
    SnarkVerifier,
    /// One shared `ReusableHalo2Verifier` for all models plus a verifying key contract per model:
    /// 4.5 KB of bytecode whatever the circuit, custom errors on every rejection.
    Reusable,
}

#[derive(Debug, Args)]
pub(crate) struct VerifierArgs {
    /// Verifier contract kind [default: reusable]. A segmented build's aggregated proof is
    /// checked by its own generated verifier (snark-verifier), which also checks the accumulator.
    #[arg(long = "verifier", value_enum)]
    pub(crate) choice: Option<VerifierChoice>,
}

impl VerifierArgs {
    /// The kind chosen, or the default.
    pub(crate) fn kind(&self) -> VerifierChoice {
        self.choice.unwrap_or(VerifierChoice::Reusable)
    }
}

/// Default of `--receipt-timeout`, in seconds.
pub(crate) const DEFAULT_RECEIPT_TIMEOUT_S: u64 = 300;

#[derive(Debug, Args)]
pub(crate) struct ChainArgs {
    /// JSON-RPC endpoint (default: `ETH_RPC_URL`, as Foundry's tools).
    #[arg(long, env = "ETH_RPC_URL")]
    pub(crate) rpc_url: String,
    /// Hex private key of the sending account.
    #[arg(long, env = "ZKINFER_PRIVATE_KEY", hide_env_values = true)]
    pub(crate) private_key: Option<String>,
    /// An encrypted JSON keystore of the sending account (as `cast wallet import` writes),
    /// instead of --private-key.
    #[arg(
        long,
        env = "ETH_KEYSTORE",
        conflicts_with = "private_key",
        requires = "password_file"
    )]
    pub(crate) keystore: Option<PathBuf>,
    /// A file holding the keystore's password (its trailing newline is ignored).
    #[arg(long, env = "ETH_PASSWORD", requires = "keystore")]
    pub(crate) password_file: Option<PathBuf>,
    /// Seconds to wait for a sent transaction's receipt before giving up (the transaction may
    /// still be mined: the error names it).
    #[arg(long, default_value_t = DEFAULT_RECEIPT_TIMEOUT_S)]
    pub(crate) receipt_timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// Build directory with keys.
    pub(crate) build_dir: PathBuf,
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    #[command(flatten)]
    pub(crate) solc: SolcArgs,
    #[command(flatten)]
    pub(crate) verifier: VerifierArgs,
    /// An already deployed `ReusableHalo2Verifier` to use instead of deploying one (reusable verifier).
    #[arg(long)]
    pub(crate) reusable_verifier: Option<String>,
    /// ETH to seed the lending pool with.
    #[arg(long, default_value_t = 10)]
    pub(crate) fund_eth: u64,
    /// Blocks after which a verified score is stale for the lending pool.
    #[arg(long, default_value_t = 1000)]
    pub(crate) max_score_age: u64,
    /// Deploy only the verifier (and, with the reusable kind, the model's key contract): no
    /// oracle, no lending pool. `deployment.json` then names just those.
    #[arg(long, conflicts_with_all = ["attester", "fund_eth"])]
    pub(crate) verifier_only: bool,
    /// Deploy keys made with `--dev-srs` (anyone can forge their proofs) on a chain other than
    /// a local one (chain id 31337). Refused without it.
    #[arg(long)]
    pub(crate) allow_dev_srs: bool,
    /// Require attested inputs: grant this data provider the attester role; proofs are then
    /// accepted only for inputs it attested for their subject (repeatable).
    #[arg(long)]
    pub(crate) attester: Vec<String>,
    /// With --attester: attestations older than this many blocks are refused (and the lending
    /// pool measures a score's age from its attestation).
    #[arg(long, default_value_t = 1000, requires = "attester")]
    pub(crate) attestation_max_age: u64,
}

#[derive(Debug, Args)]
pub(crate) struct SubmitArgs {
    /// Proof file from `prove` (never modified).
    pub(crate) proof: PathBuf,
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// Address of the VerifiedInferenceOracle.
    #[arg(
        long,
        required_unless_present = "deployment",
        conflicts_with = "deployment"
    )]
    pub(crate) consumer: Option<String>,
    /// The `deployment.json` that `deploy` wrote (BUILD/deployment.json): the oracle is taken
    /// from it.
    #[arg(long)]
    pub(crate) deployment: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CommitmentArgs {
    /// Build directory from `compile`.
    pub(crate) build_dir: PathBuf,
    /// Input in EZKL's format, with the owner's `"salt"` (0x hex field element).
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Also register the input commitment with this VerifiedInferenceOracle (needs --rpc-url).
    #[arg(long, requires = "rpc_url")]
    pub(crate) consumer: Option<String>,
    /// JSON-RPC endpoint for --consumer (default: `ETH_RPC_URL`).
    #[arg(long, env = "ETH_RPC_URL")]
    pub(crate) rpc_url: Option<String>,
    /// Hex private key of the data owner's account.
    #[arg(long, env = "ZKINFER_PRIVATE_KEY", hide_env_values = true)]
    pub(crate) private_key: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AttestArgs {
    /// Build directory from `compile`.
    pub(crate) build_dir: PathBuf,
    /// The subject's input in EZKL's format (with its `"salt"` when inputs are hashed).
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// The account the input belongs to (0x address).
    #[arg(long)]
    pub(crate) subject: String,
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// Address of the VerifiedInferenceOracle.
    #[arg(long)]
    pub(crate) consumer: String,
}

#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// JSON-RPC endpoint (default: `ETH_RPC_URL`).
    #[arg(long, env = "ETH_RPC_URL")]
    pub(crate) rpc_url: String,
    /// Address of the VerifiedInferenceOracle.
    #[arg(
        long,
        required_unless_present = "deployment",
        conflicts_with = "deployment"
    )]
    pub(crate) consumer: Option<String>,
    /// The model id (bytes32).
    #[arg(
        long,
        required_unless_present = "deployment",
        conflicts_with = "deployment"
    )]
    pub(crate) model_id: Option<String>,
    /// The `deployment.json` that `deploy` wrote: oracle, model id and lending pool from it.
    #[arg(long)]
    pub(crate) deployment: Option<PathBuf>,
    /// Whose inference to read.
    #[arg(long)]
    pub(crate) subject: String,
    /// A RiskAdjustedLending pool to ask for the subject's LTV and credit limit.
    #[arg(long)]
    pub(crate) lending: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The ONNX model.
    pub(crate) model: PathBuf,
    /// Input in EZKL's format (also used for calibration).
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Result file: {"output_data": [[...]], ...}.
    #[arg(short, long)]
    pub(crate) out: PathBuf,
    /// Build directory to keep (default: a temporary one, removed afterwards).
    #[arg(long)]
    pub(crate) build_dir: Option<PathBuf>,
    /// Replace another model's build in --build-dir (see `compile --force`).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) quant: QuantArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyEvmArgs {
    /// Proof file from `prove`.
    pub(crate) proof: PathBuf,
    /// JSON-RPC endpoint (default: `ETH_RPC_URL`).
    #[arg(long, env = "ETH_RPC_URL")]
    pub(crate) rpc_url: String,
    /// The `deployment.json` that `deploy` wrote: the verifier (and key) from it.
    #[arg(long, required_unless_present = "verifier", conflicts_with_all = ["verifier", "key"])]
    pub(crate) deployment: Option<PathBuf>,
    /// A deployed verifier: the model-specific contract, or the reusable `ReusableHalo2Verifier` with
    /// `--key`.
    #[arg(long)]
    pub(crate) verifier: Option<String>,
    /// The model's verifying key contract, for the reusable verifier.
    #[arg(long, requires = "verifier")]
    pub(crate) key: Option<String>,
}

/// What `encode-calldata` encodes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CalldataTarget {
    /// `VerifiedInferenceOracle.submitInference(modelId, proof, instances)`.
    Oracle,
    /// `ReusableHalo2Verifier.verifyProof(key, proof, instances)` (needs `--key`).
    Reusable,
    /// The model-specific verifier's raw calldata: the instances, then the proof.
    SnarkVerifier,
}

#[derive(Debug, Args)]
pub(crate) struct EncodeCalldataArgs {
    /// Proof file from `prove`.
    pub(crate) proof: PathBuf,
    /// The contract the calldata is for.
    #[arg(long = "for", value_enum, default_value = "oracle")]
    pub(crate) target: CalldataTarget,
    /// The model's verifying key contract (with `--for reusable`).
    #[arg(long, required_if_eq("target", "reusable"))]
    pub(crate) key: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where the jobs database, uploads, builds and proofs are kept (a restart resumes them).
    #[arg(long, default_value = "zkinfer-data")]
    pub(crate) data_dir: PathBuf,
    /// Address to listen on; anything but loopback needs API keys.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// API keys, one per line (stored hashed, compared in constant time); or ZKINFER_API_KEYS
    /// (comma-separated). Without keys the server listens on loopback only.
    #[arg(long, value_name = "FILE")]
    pub(crate) api_keys: Option<PathBuf>,
    /// A ceremony SRS for every build's keys (see `setup --srs`).
    #[arg(long, conflicts_with = "dev_srs")]
    pub(crate) srs: Option<PathBuf>,
    /// Make every build's keys with the development SRS: INSECURE, for testing only.
    #[arg(long)]
    pub(crate) dev_srs: bool,
    /// Jobs run at once (proofs also wait for their estimated memory); with --queue, start
    /// `zkinfer worker` processes instead.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64), conflicts_with = "queue")]
    pub(crate) workers: u16,
    /// Jobs one API key may have queued or running (429 with Retry-After beyond).
    #[arg(long, default_value_t = 32)]
    pub(crate) max_queued_per_key: usize,
    /// Jobs queued or running in all (503 with Retry-After beyond).
    #[arg(long, default_value_t = 256)]
    pub(crate) max_queue: usize,
    /// Largest request body (a model upload), e.g. 256MiB.
    #[arg(long, default_value = "256MiB")]
    pub(crate) max_body: String,
    /// Runs of a job before it fails for good (a run cut short by a crash counts).
    #[arg(long, default_value_t = 3)]
    pub(crate) max_attempts: u32,
    /// Send jobs to `zkinfer worker` processes through this Redis (redis://HOST:PORT) instead
    /// of proving them here; the data directory must be shared with the workers.
    #[arg(long, value_name = "URL")]
    pub(crate) queue: Option<String>,
    /// With --queue: seconds a worker may go without renewing a job's lease (it renews every
    /// third of it) before another worker takes the job over.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), requires = "queue")]
    pub(crate) lease: u64,
    /// Send proofs requested with `?submit=true` to this VerifiedInferenceOracle once they are
    /// done (the `oracle` of BUILD/deployment.json), from the account of ZKINFER_PRIVATE_KEY
    /// (an environment variable, never a flag) or of --keystore with --password-file.
    #[arg(long, value_name = "ADDRESS")]
    pub(crate) oracle: Option<String>,
    /// With --queue: an object store the workers share with this server instead of the data
    /// directory (`s3://BUCKET/PREFIX`, or `file:///…`; credentials and endpoint from AWS_*
    /// variables, e.g. AWS_ENDPOINT and AWS_ALLOW_HTTP for an S3-compatible server).
    #[arg(long, value_name = "URL", requires = "queue")]
    pub(crate) store: Option<String>,
    /// With --oracle: the JSON-RPC endpoint (default: ETH_RPC_URL).
    #[arg(long, value_name = "URL")]
    pub(crate) rpc_url: Option<String>,
    /// With --oracle: an encrypted JSON keystore of the submitting account (default:
    /// ETH_KEYSTORE).
    #[arg(long)]
    pub(crate) keystore: Option<PathBuf>,
    /// The file holding the keystore's password (default: ETH_PASSWORD).
    #[arg(long)]
    pub(crate) password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// The server's Redis (redis://HOST:PORT), as given to `zkinfer serve --queue`. The lease,
    /// the attempts and the SRS of build keys are the server's.
    #[arg(long, value_name = "URL")]
    pub(crate) queue: String,
    /// The server's data directory, shared with this machine (uploads in, builds and proofs
    /// out); or the object store the server was given (`--store s3://BUCKET/PREFIX`, credentials
    /// from AWS_* variables), with --cache.
    #[arg(long, value_name = "DIR|URL")]
    pub(crate) store: String,
    /// With an object store: this worker's local copy, one per worker (builds and their keys
    /// are fetched once and kept here; proofs' files are dropped after each job). [default:
    /// zkinfer-cache]
    #[arg(long, value_name = "DIR")]
    pub(crate) cache: Option<PathBuf>,
    /// This worker's name among the workers (default: host name and process id).
    #[arg(long)]
    pub(crate) name: Option<String>,
}
