//! Resource limits: what proving a circuit will take, estimated at compile time, so that a model
//! too large for the machine is refused with numbers instead of being killed mid-proof.
//!
//! The memory model is empirical: the prover keeps each column as a few polynomials over the
//! `2^k` rows and their extended domain. Measured peak RSS while proving the bench models
//! (`bench/results.json`) was 296–374 bytes per row and column over a ~15 MiB base; the estimate
//! takes [`BYTES_PER_CELL`] and [`BASE_BYTES`], which overstates those by 10–35%.

use serde::{Deserialize, Serialize};

use crate::chips::MAX_DOT_WIDTH;
use crate::circuit::{multiply_accumulates, CircuitParams, BLINDING_ROWS, MAX_ADVICE_COLUMNS};
use crate::quantize::{QOp, QuantizedModel};
use crate::{Error, Result};

/// Peak prover memory per row and column, in bytes.
pub const BYTES_PER_CELL: u64 = 384;
/// Prover memory beside the columns (code, SRS handling, buffers), in bytes.
pub const BASE_BYTES: u64 = 32 << 20;

/// What proving a circuit shape will take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceEstimate {
    /// log2 of the rows.
    pub k: usize,
    /// Columns of every kind (advice, fixed, selector, table, instance).
    pub columns: usize,
    /// Estimated peak memory of `setup` and `prove`, in bytes.
    pub proving_bytes: u64,
}

impl ResourceEstimate {
    /// The estimate for `rows = 2^k` and `columns`.
    pub fn new(k: usize, columns: usize) -> Self {
        let cells = (columns as u64).saturating_mul(1u64.checked_shl(k as u32).unwrap_or(u64::MAX));
        ResourceEstimate {
            k,
            columns,
            proving_bytes: BASE_BYTES.saturating_add(cells.saturating_mul(BYTES_PER_CELL)),
        }
    }

    /// The estimate for a planned circuit.
    pub fn of(params: &CircuitParams) -> Self {
        let advice: usize = params.base.num_advice_per_phase.iter().sum();
        let lookup_advice: usize = params.base.num_lookup_advice_per_phase.iter().sum();
        // A gate selector per advice column, the constants column, halo2-base's range table.
        let mut fixed =
            advice + params.base.num_fixed + usize::from(params.base.lookup_bits.is_some());
        // Function lookups: three copied advice columns each, a three-column table.
        let functions = 3 * params.lookup_columns + if params.table_rows > 0 { 3 } else { 0 };
        if let Some(f) = params.fused {
            // Row tag and table (tag, tag·x), with functions also the next-row flag and outputs.
            fixed += if f.functions { 5 } else { 3 };
            // Multiply-accumulate chains: their weight column.
            fixed += usize::from(f.mac_chain);
        }
        // Dot products: the input and the running sums (advice), the selector and the weights.
        let dot = params.dot.map_or(0, |d| 2 * (d.width + 1));
        let instance = params.base.num_instance_columns;
        Self::new(
            params.k,
            advice + lookup_advice + fixed + functions + dot + instance,
        )
    }

    /// A lower bound for `model` before any layout: every tensor element takes a cell and every
    /// multiply-accumulate `(w + 1) / w` (the widest dot-product region), spread over the most
    /// advice columns any layout has. Refusing on this bound avoids laying out (in memory) a
    /// circuit that could never be proven.
    pub fn lower_bound(model: &QuantizedModel) -> Self {
        let mut cells: u64 = 0;
        for node in &model.nodes {
            cells = cells.saturating_add(node.shape.iter().product::<usize>() as u64);
        }
        let width = MAX_DOT_WIDTH as u64;
        let macs = multiply_accumulates(model) as u64;
        cells = cells.saturating_add(macs.saturating_mul(width + 1) / width);
        // A convolution's (any sparse linear map's) terms: each an inner-product step of three
        // advice cells (input, weight, running sum), or two in a multiply-accumulate chain, which
        // only one-column layouts take (far above this bound's rows). Without them a CNN's bound was its tensors
        // alone, and the segment planner laid out whole models it could have refused.
        cells = cells.saturating_add(linear_terms(model).saturating_mul(3));
        // A dot-product region's input and sums beside one gate column, or the gate columns.
        let columns = MAX_ADVICE_COLUMNS.max(MAX_DOT_WIDTH + 2) as u64;
        let rows = cells / columns + BLINDING_ROWS as u64;
        let k = 64 - rows.max(1).leading_zeros() as usize;
        // The widest layout: its advice columns, a selector each, a table and the instance.
        Self::new(k, 2 * MAX_ADVICE_COLUMNS + 3)
    }

    /// Fails with [`Error::TooLarge`] when the estimate (of a planned circuit) exceeds `limit`.
    pub fn check(&self, limit: &MemoryLimit) -> Result<()> {
        self.check_as(limit, "about")
    }

    /// [`check`](Self::check) for a [`lower_bound`](Self::lower_bound).
    pub fn check_bound(&self, limit: &MemoryLimit) -> Result<()> {
        self.check_as(limit, "at least")
    }

    fn check_as(&self, limit: &MemoryLimit, qualifier: &'static str) -> Result<()> {
        if self.proving_bytes <= limit.bytes {
            return Ok(());
        }
        Err(Error::TooLarge {
            k: self.k,
            columns: self.columns,
            needed_mib: self.proving_bytes >> 20,
            qualifier,
            limit_mib: limit.bytes >> 20,
            limit_source: limit.source,
        })
    }
}

/// How much memory proving may take, and where that figure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    /// Bytes.
    pub bytes: u64,
    /// `"available on this machine"` or `"allowed by --max-memory"`.
    pub source: &'static str,
}

impl MemoryLimit {
    /// A limit the user set.
    pub fn given(bytes: u64) -> Self {
        MemoryLimit {
            bytes,
            source: "allowed by --max-memory",
        }
    }

    /// The memory available now (`MemAvailable` of `/proc/meminfo`); `None` where unknown.
    pub fn available() -> Option<Self> {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let kib: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(MemoryLimit {
            bytes: kib.saturating_mul(1024),
            source: "available on this machine",
        })
    }
}

/// Parses a size such as `512MiB`, `8GiB`, `8G` or `1000000` (bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: u64 = number.parse().ok()?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    number.checked_mul(1u64 << shift)
}

/// The terms of `model`'s sparse linear maps (convolutions and other `Linear` nodes).
pub fn linear_terms(model: &QuantizedModel) -> u64 {
    model
        .nodes
        .iter()
        .map(|n| match &n.op {
            QOp::Linear(l) => l.terms.iter().map(|t| t.len() as u64).sum(),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size(" 2 gib "), Some(2 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("5 parsecs"), None);
        assert_eq!(parse_size("99999999999999TiB"), None);
    }

    #[test]
    fn the_estimate_grows_with_rows_and_columns_and_never_overflows() {
        let a = ResourceEstimate::new(14, 6);
        assert!(ResourceEstimate::new(15, 6).proving_bytes > a.proving_bytes);
        assert!(ResourceEstimate::new(14, 7).proving_bytes > a.proving_bytes);
        assert_eq!(
            ResourceEstimate::new(200, usize::MAX).proving_bytes,
            u64::MAX
        );
    }

    #[test]
    fn the_limit_refuses_with_the_numbers() {
        let e = ResourceEstimate::new(20, 10);
        assert!(e.check(&MemoryLimit::given(e.proving_bytes)).is_ok());
        let msg = e
            .check(&MemoryLimit::given(e.proving_bytes - 1))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("2^20 rows") && msg.contains("10 columns"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("about {} MiB", e.proving_bytes >> 20)),
            "{msg}"
        );
        assert!(msg.contains("--max-memory"), "{msg}");
    }

    #[test]
    fn available_memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let limit = MemoryLimit::available().expect("MemAvailable");
            assert!(limit.bytes > 1 << 20);
        }
    }
}
