//! Progress on stderr for long steps (keygen, proving): a bar with a percentage over the
//! step's phases and the current phase's name; silent when stderr is not a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use zkinfer_prover::pipeline::Phase;

/// Runs `f` under a progress bar labelled `label`; `f` reports its [`Phase`]s through the
/// callback it is given. Returns `f`'s result and the elapsed seconds.
pub(crate) fn with_phases<T>(label: &str, f: impl FnOnce(&mut dyn FnMut(Phase)) -> T) -> (T, f64) {
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:24}] {percent:>3}% {msg} {elapsed}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    let start = Instant::now();
    let out = f(&mut |phase: Phase| {
        bar.set_length(phase.of as u64);
        bar.set_position(phase.step.saturating_sub(1) as u64);
        bar.set_message(phase.name);
        tracing::debug!(step = phase.step, of = phase.of, "{label}: {}", phase.name);
    });
    let secs = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    tracing::info!("{label}: {secs:.2} s");
    (out, secs)
}
