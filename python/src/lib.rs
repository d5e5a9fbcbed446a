//! `zkinfer._zkinfer`: the native half of the `zkinfer` Python package. One entry point runs a
//! `zkinfer` command in-process (the CLI's own code, so Python and the command line cannot
//! drift) with the GIL released, and returns its JSON outcome; the Python half
//! (`python/zkinfer/__init__.py`) builds the arguments and maps error kinds to exception classes.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    _zkinfer,
    ZkinferError,
    PyException,
    "A zkinfer command failed: `args` is (kind, message)."
);

/// Runs `zkinfer ARGS…` and returns `(exit_code, json_text)`; raises `ZkinferError(kind,
/// message)` when the command fails.
#[pyfunction]
fn run(py: Python<'_>, args: Vec<String>) -> PyResult<(i32, String)> {
    // A panic is a bug, reported as kind `internal` rather than unwinding into Python (this
    // relies on the release profile unwinding: never set `panic = "abort"`).
    let outcome = py.allow_threads(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| zkinfer_cli::run(&args)))
    });
    match outcome {
        Ok(Ok(done)) => Ok((done.exit_code, done.json.to_string())),
        Ok(Err(failure)) => Err(ZkinferError::new_err((failure.kind, failure.message))),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic without a message".into());
            Err(ZkinferError::new_err((
                "internal",
                format!("zkinfer panicked (a bug): {message}"),
            )))
        }
    }
}

/// Sends zkinfer's logs to stderr at `level` (`warn` by default; `ZKINFER_LOG` overrides).
#[pyfunction]
#[pyo3(signature = (level = "warn"))]
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZKINFER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // A second call (or a host that set a subscriber) keeps the first.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// The native module: `run`, `init_logging` and the `ZkinferError` they raise.
#[pymodule]
fn _zkinfer(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(init_logging, m)?)?;
    m.add("ZkinferError", m.py().get_type::<ZkinferError>())?;
    Ok(())
}
