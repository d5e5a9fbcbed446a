#!/usr/bin/env bash
# zkinfer vs EZKL on ../shared/bench-models: installs EZKL 23.0.5 into a git-ignored venv,
# builds zkinfer in release, runs bench/harness.py. A benchmark, not a test: CI does not run it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv-bench"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import ezkl" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "ezkl==23.0.5" onnx onnxruntime numpy
fi
(cd "$root" && cargo build --release -p zkinfer-cli -q)
[ $# -gt 0 ] || rm -rf "$root/bench/out"
"$venv/bin/python" "$root/bench/harness.py" "$@"
