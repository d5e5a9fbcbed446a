//! Compiling Solidity through solc's standard-JSON interface (works with native solc and with
//! the solc-js shim in `.tools/`).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::{Error, Result};

/// EVM version every contract is compiled for (solc 0.8.19's newest).
pub const EVM_VERSION: &str = "paris";

/// Optimizer runs for contracts compiled with the optimizer.
pub const OPTIMIZER_RUNS: u32 = 200;

/// Whether the optimizer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Optimizer {
    /// Legacy optimizer, [`OPTIMIZER_RUNS`] runs.
    On,
    /// No optimizer: the generated verifier's assembly only fits the stack this way (the
    /// optimizer gives "stack too deep"; via-IR miscompiles it).
    Off,
}

/// A compiled contract.
#[derive(Clone, Debug)]
pub struct CompiledContract {
    /// The ABI as JSON.
    pub abi: Value,
    /// Creation bytecode.
    pub bytecode: Vec<u8>,
    /// Runtime bytecode.
    pub deployed_bytecode: Vec<u8>,
}

/// A Solidity compiler command.
#[derive(Clone, Debug)]
pub struct Solc {
    command: String,
}

impl Solc {
    /// Uses `command` (a path or a name on `PATH`).
    pub fn new(command: impl Into<String>) -> Self {
        Solc {
            command: command.into(),
        }
    }

    /// Compiles `sources` (file name, content) and returns every contract by name. Never via-IR.
    pub fn compile(
        &self,
        sources: &[(&str, &str)],
        optimizer: Optimizer,
    ) -> Result<BTreeMap<String, CompiledContract>> {
        let sources: serde_json::Map<String, Value> = sources
            .iter()
            .map(|(name, content)| (name.to_string(), json!({ "content": content })))
            .collect();
        let input = json!({
            "language": "Solidity",
            "sources": sources,
            "settings": {
                "optimizer": { "enabled": optimizer == Optimizer::On, "runs": OPTIMIZER_RUNS },
                "evmVersion": EVM_VERSION,
                "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } }
            }
        });
        let output = self.run(&input.to_string())?;
        let output: Value = serde_json::from_str(&output)
            .map_err(|e| Error::Solc(format!("unreadable output: {e}")))?;
        let errors: Vec<String> = output["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["severity"] == "error")
            .map(|e| {
                e["formattedMessage"]
                    .as_str()
                    .unwrap_or("unknown error")
                    .to_string()
            })
            .collect();
        if !errors.is_empty() {
            return Err(Error::Solc(errors.join("\n")));
        }
        let mut contracts = BTreeMap::new();
        for file in output["contracts"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            for (name, c) in file.as_object().into_iter().flatten() {
                let decode = |v: &Value| {
                    hex::decode(v.as_str().unwrap_or_default())
                        .map_err(|e| Error::Solc(format!("{name}: bad bytecode: {e}")))
                };
                contracts.insert(
                    name.clone(),
                    CompiledContract {
                        abi: c["abi"].clone(),
                        bytecode: decode(&c["evm"]["bytecode"]["object"])?,
                        deployed_bytecode: decode(&c["evm"]["deployedBytecode"]["object"])?,
                    },
                );
            }
        }
        Ok(contracts)
    }

    fn run(&self, input: &str) -> Result<String> {
        let missing = |source| Error::SolcMissing {
            solc: self.command.clone(),
            source,
        };
        let mut child = Command::new(&self.command)
            .arg("--standard-json")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(missing)?;
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())
            .map_err(missing)?;
        let out = child.wait_with_output().map_err(missing)?;
        if !out.status.success() {
            return Err(Error::Solc(format!(
                "exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        String::from_utf8(out.stdout).map_err(|e| Error::Solc(format!("non-UTF-8 output: {e}")))
    }
}
