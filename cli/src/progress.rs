//! A spinner on stderr for long steps (keygen, proving); silent when stderr is not a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Runs `f` under a spinner labelled `label`; returns its result and the elapsed seconds.
pub(crate) fn with_spinner<T>(label: &str, f: impl FnOnce() -> T) -> (T, f64) {
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("template"));
    bar.set_message(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    let start = Instant::now();
    let out = f();
    let secs = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    tracing::info!("{label}: {secs:.2} s");
    (out, secs)
}
