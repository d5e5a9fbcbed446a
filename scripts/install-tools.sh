#!/usr/bin/env bash
# Installs the Solidity toolchain into .tools/ (git-ignored): Foundry's forge, anvil and cast
# (npm @foundry-rs/*, the real binaries), solc 0.8.19 (solc-js behind a CLI shim) and snarkjs (test
# powers-of-tau files).
# Idempotent; needs node/npm and the npm registry.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
if [ ! -x "$tools/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" ] || [ ! -d "$tools/node_modules/solc" ] \
  || [ ! -f "$tools/node_modules/snarkjs/build/cli.cjs" ]; then
  echo "installing forge, anvil, cast, solc-js and snarkjs into .tools/ ..." >&2
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
