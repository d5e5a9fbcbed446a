//! `zkinfer`: verifiable ML inference on an EVM chain, from the command line.
//!
//! Logs go to stderr through `tracing`; with `--json` each subcommand prints one JSON object
//! on stdout.
//!
//! Exit codes:
//! - 0: success (for `verify`, a valid proof); `--help` and `--version` print as clap does;
//! - 1: an error, or (for `verify`) an invalid proof;
//! - 2: a model with an unsupported operator;
//! - 64: a usage error (unknown command or flag, missing or malformed argument): sysexits'
//!   `EX_USAGE`.
//!
//! An error is printed on stderr as `error: <message>`. With `--json` (anywhere on the command
//! line, even one that does not parse) it is also printed on stdout as one JSON object
//! `{"error": "<message>", "kind": "<kind>"}`, with `kind` one of (see `error_kind`):
//! `usage`, `unsupported_operator` (exit 2), `invalid_model`, `invalid_input`, `io`, `build`,
//! `model_mismatch`, `malformed_proof`, `output_mismatch`, `srs`, `resources`, `codegen`,
//! `chain`, or `error` for anything else.

mod chain;
mod cli;
mod commands;
pub mod contracts;
mod onchain;
mod progress;
mod segmented;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Exit status of a usage error (sysexits' `EX_USAGE`).
const EXIT_USAGE: i32 = 64;

/// Exit status of a model with an unsupported operator.
const EXIT_UNSUPPORTED: i32 = 2;

/// What a command run in-process with [`run`] produced: its JSON (what `--json` prints) and its
/// exit status (`verify` and `verify-evm` give 1 for an invalid proof).
#[derive(Debug)]
pub struct Finished {
    /// The command's JSON outcome.
    pub json: serde_json::Value,
    /// The exit status the binary would give.
    pub exit_code: i32,
}

/// A command that failed: the `kind` of its `--json` error and its message.
#[derive(Debug)]
pub struct Failure {
    /// Machine-readable kind (`usage`, `unsupported_operator`, `invalid_input`, …).
    pub kind: &'static str,
    /// The message, with its causes.
    pub message: String,
}

/// Runs one `zkinfer` command in-process, `args` as on the command line without the program
/// name (for the Python package). Nothing is printed on stdout; logs go where the caller's
/// `tracing` subscriber sends them.
pub fn run(args: &[String]) -> Result<Finished, Failure> {
    let argv = std::iter::once("zkinfer".to_string()).chain(args.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let message = e
                .to_string()
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            // `--help` and `--version` are answers, not failures.
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                return Ok(Finished {
                    json: serde_json::json!({ "text": message }),
                    exit_code: 0,
                });
            }
            return Err(Failure {
                kind: "usage",
                message,
            });
        }
    };
    let chain_command = talks_to_chain(&cli.command);
    match commands::dispatch(cli) {
        Ok(outcome) => Ok(Finished {
            json: outcome.json,
            exit_code: outcome.exit_code,
        }),
        Err(err) => Err(Failure {
            kind: error_kind(&err, chain_command),
            message: format!("{err:#}"),
        }),
    }
}

/// The `zkinfer` binary: parses the command line, runs the command, prints and exits.
pub fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => usage_error(&err),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZKINFER_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if cli.quiet { "warn" } else { "info" })
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        // No colour codes into files and pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let json = cli.json;
    let chain_command = talks_to_chain(&cli.command);
    match commands::dispatch(cli) {
        Ok(outcome) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&outcome.json).expect("json")
                );
            } else if !outcome.text.is_empty() {
                println!("{}", outcome.text);
            }
            std::process::exit(outcome.exit_code);
        }
        Err(err) => {
            let kind = error_kind(&err, chain_command);
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "error": format!("{err:#}"), "kind": kind })
                );
            }
            eprintln!("error: {err:#}");
            std::process::exit(exit_code(kind));
        }
    }
}

/// Reports a command line that clap refused: `--help` and `--version` print as clap does (exit
/// 0); anything else prints clap's message on stderr (and, with `--json` among the raw
/// arguments, `{"error": …, "kind": "usage"}` on stdout) and exits with [`EXIT_USAGE`].
fn usage_error(err: &clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        err.exit();
    }
    if std::env::args_os().any(|a| a == "--json") {
        let message = err.to_string();
        let message = message.trim();
        let message = message.strip_prefix("error: ").unwrap_or(message);
        println!(
            "{}",
            serde_json::json!({ "error": message, "kind": "usage" })
        );
    }
    // Nothing more to do if stderr is gone.
    let _ = err.print();
    std::process::exit(EXIT_USAGE);
}

/// Whether a command talks to a chain: its unclassified errors are of kind `chain`.
fn talks_to_chain(command: &Command) -> bool {
    match command {
        Command::Deploy(_)
        | Command::Submit(_)
        | Command::Read(_)
        | Command::Attest(_)
        | Command::VerifyEvm(_) => true,
        Command::Commitment(a) => a.consumer.is_some(),
        _ => false,
    }
}

/// The machine-readable kind of an error (the `kind` of `--json` errors): the first error in the
/// chain that zkinfer knows decides it; otherwise `chain` for a command that talks to a chain
/// (`talks_to_chain`), else `error`.
fn error_kind(err: &anyhow::Error, talks_to_chain: bool) -> &'static str {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<zkinfer_prover::Error>() {
            return prover_kind(e);
        }
        if let Some(e) = cause.downcast_ref::<zkinfer_codegen::Error>() {
            return match e {
                zkinfer_codegen::Error::Prover(e) => prover_kind(e),
                zkinfer_codegen::Error::Io { .. } => "io",
                _ => "codegen",
            };
        }
        if cause.is::<std::io::Error>() {
            return "io";
        }
        if cause.is::<alloy::contract::Error>()
            || cause.is::<alloy::transports::TransportError>()
            || cause.is::<alloy::providers::PendingTransactionError>()
        {
            return "chain";
        }
    }
    if talks_to_chain {
        "chain"
    } else {
        "error"
    }
}

/// The kind of a prover error.
fn prover_kind(e: &zkinfer_prover::Error) -> &'static str {
    use zkinfer_prover::Error as E;
    match e {
        E::Unsupported { .. } => "unsupported_operator",
        E::MalformedOnnx { .. } | E::InvalidNode { .. } | E::Reference(_) => "invalid_model",
        E::InvalidInput(_)
        | E::Json { .. }
        | E::Version { .. }
        | E::OutOfRange { .. }
        | E::OutsideDomain { .. }
        | E::MissingSalt { .. } => "invalid_input",
        E::Io { .. } | E::OutputPath { .. } => "io",
        E::NotCompiled { .. }
        | E::NoKeys { .. }
        | E::KeysForAnotherModel
        | E::Keygen { .. }
        | E::UnreadableKey { .. }
        | E::DoesNotFit { .. }
        | E::BuildDirInUse { .. } => "build",
        E::ModelMismatch { .. } => "model_mismatch",
        E::MalformedProof(_) => "malformed_proof",
        E::OutputDataMismatch { .. } => "output_mismatch",
        E::Srs(_) => "srs",
        E::TooLarge { .. } => "resources",
        _ => "error",
    }
}

/// The exit status of an error of `kind`.
fn exit_code(kind: &str) -> i32 {
    if kind == "unsupported_operator" {
        EXIT_UNSUPPORTED
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn errors_have_stable_kinds_and_exit_codes() {
        let unsupported = anyhow::Error::from(zkinfer_prover::Error::Unsupported {
            op: "TreeEnsembleRegressor".into(),
            node: "trees".into(),
        })
        .context("compiling");
        assert_eq!(error_kind(&unsupported, false), "unsupported_operator");
        assert_eq!(exit_code(error_kind(&unsupported, false)), 2);

        let srs = anyhow::Error::from(zkinfer_codegen::Error::Prover(zkinfer_prover::Error::Srs(
            "bad".into(),
        )));
        assert_eq!(error_kind(&srs, false), "srs");
        assert_eq!(exit_code("srs"), 1);

        let io: anyhow::Result<()> = Err(std::io::Error::other("disk full")).context("writing");
        assert_eq!(error_kind(&io.unwrap_err(), true), "io");

        let plain = anyhow::anyhow!("something else");
        assert_eq!(error_kind(&plain, false), "error");
        assert_eq!(error_kind(&plain, true), "chain");
    }
}
