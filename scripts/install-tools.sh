#!/usr/bin/env bash
# Installs the Solidity toolchain into .tools/ (git-ignored): Foundry's forge, anvil and cast
# (npm @foundry-rs/*, the real binaries), solc 0.8.19 (solc-js behind a CLI shim), snarkjs (test
# powers-of-tau files) and circomlibjs (the reference Poseidon the commitments are tested against).
# Idempotent; needs node/npm and the npm registry.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
if [ ! -x "$tools/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" ] || [ ! -d "$tools/node_modules/solc" ] \
  || [ ! -f "$tools/node_modules/snarkjs/build/cli.cjs" ] || [ ! -d "$tools/node_modules/circomlibjs" ]; then
  echo "installing forge, anvil, cast, solc-js, snarkjs and circomlibjs into .tools/ ..." >&2
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
mkdir -p "$tools/bin"
for t in forge anvil cast; do
  ln -sf "../node_modules/@foundry-rs/$t-linux-amd64/bin/$t" "$tools/bin/$t"
done
ln -sf ../solc.sh "$tools/bin/solc"
ln -sf ../solc.sh "$tools/bin/solc-0.8.19"
"$tools/bin/solc" --version | grep -q "0.8.19" || { echo "solc shim broken" >&2; exit 1; }
echo "$tools/bin"
