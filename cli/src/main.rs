//! `zkinfer`: verifiable ML inference on an EVM chain, from the command line.
//!
//! Logs go to stderr through `tracing`; with `--json` each subcommand prints one JSON object
//! on stdout. Exit codes: 0 success (or a valid proof), 1 failure (or an invalid proof),
//! 2 a model with an unsupported operator.

mod chain;
mod cli;
mod commands;
mod contracts;
mod progress;

use clap::Parser;

use crate::cli::Cli;

fn main() {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZKINFER_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if cli.quiet { "warn" } else { "info" })
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let json = cli.json;
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
            let code = exit_code(&err);
            if json {
                println!("{}", serde_json::json!({ "error": format!("{err:#}") }));
            }
            eprintln!("error: {err:#}");
            std::process::exit(code);
        }
    }
}

fn exit_code(err: &anyhow::Error) -> i32 {
    let unsupported = err.chain().any(|e| {
        matches!(
            e.downcast_ref::<zkinfer_prover::Error>(),
            Some(zkinfer_prover::Error::Unsupported { .. })
        )
    });
    if unsupported {
        2
    } else {
        1
    }
}
