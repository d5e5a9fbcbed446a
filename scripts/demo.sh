#!/usr/bin/env bash
# The whole zkinfer flow on the bundled credit-risk model, against a local anvil:
# compile → setup (dev SRS) → prove (naming the borrower) → verify → codegen → deploy (with a data
# provider as attester) → the provider attests the borrower's features → a relayer submits the
# proof, credited to the borrower → the lending pool lends to the borrower.
# Run through `make demo` (which installs the tools and builds zkinfer in release first).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$root/.tools/bin:$PATH"
export ZKINFER_SOLC="$root/.tools/bin/solc"
zk="$root/target/release/zkinfer"
ex="$root/examples/credit_risk"
build="$root/demo-build"
port="${DEMO_PORT:-8545}"
rpc="http://127.0.0.1:$port"
# Anvil's default accounts (well-known test keys, never use them on a real chain): the first
# deploys and relays, the second is the data provider (attester), the third the borrower.
key=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
provider_key=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
provider=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
borrower_key=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
me=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval('d'+sys.argv[2]))" "$@"; }

rm -rf "$build" && mkdir -p "$build"
if (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
  echo "port $port is in use; set DEMO_PORT to a free port" >&2
  exit 1
fi
anvil --host 127.0.0.1 --port "$port" --silent > "$build/anvil.log" 2>&1 &
anvil_pid=$!
trap 'kill $anvil_pid 2>/dev/null || true; wait $anvil_pid 2>/dev/null || true; echo "anvil stopped"' EXIT
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done

step "compile the credit-risk MLP (calibrated on 64 borrowers)"
"$zk" -q compile "$ex/model.onnx" --calibration "$ex/calibration.json" -o "$build/circuit"
step "setup: keys with the development SRS (INSECURE, testing only)"
"$zk" -q setup "$build/circuit" --dev-srs
step "prove the score of one borrower: the proof names the borrower ($me) as its subject"
"$zk" -q prove "$build/circuit" --input "$ex/input.json" -o "$build/proof.json" --subject "$me"
echo "float reference (onnxruntime): $(field "$ex/meta.json" "['ort_output']")"
step "verify off-chain"
"$zk" -q verify "$build/circuit" "$build/proof.json"
step "generate the Solidity verifier"
"$zk" -q codegen "$build/circuit" -o "$build/Verifier.sol"
step "deploy verifier + VerifiedInferenceOracle + RiskAdjustedLending on anvil ($rpc); the data provider $provider attests inputs"
"$zk" -q deploy "$build/circuit" --rpc-url "$rpc" --private-key "$key" --attester "$provider" --attestation-max-age 100
deployment="$build/circuit/deployment.json"
oracle=$(field "$deployment" "['oracle']")
lending=$(field "$deployment" "['lending']")
model=$(field "$deployment" "['model_id']")
step "before anyone vouches for the borrower's features, the proof is refused"
if "$zk" -q submit "$build/proof.json" --rpc-url "$rpc" --consumer "$oracle" --private-key "$key"; then
  echo "an unattested proof was accepted: BUG" >&2
  exit 1
fi
step "the data provider attests the borrower's features on chain"
"$zk" -q attest "$build/circuit" --input "$ex/input.json" --subject "$me" --consumer "$oracle" --rpc-url "$rpc" --private-key "$provider_key"
step "a relayer (the deployer's account) submits the borrower's proof: the output is credited to the borrower"
"$zk" -q submit "$build/proof.json" --rpc-url "$rpc" --consumer "$oracle" --private-key "$key"
step "the borrower deposits 10 ETH of collateral; the pool's decision"
cast send -q --rpc-url "$rpc" --private-key "$borrower_key" "$lending" "depositCollateral()" --value 10ether
"$zk" -q read --rpc-url "$rpc" --consumer "$oracle" --model-id "$model" --subject "$me" --lending "$lending"
limit=$(cast call --rpc-url "$rpc" "$lending" "creditLimit(address)(uint256)" "$me" | cut -d' ' -f1)
step "the borrower borrows the full credit limit ($(cast from-wei "$limit") ETH)"
cast send -q --rpc-url "$rpc" --private-key "$borrower_key" "$lending" "borrow(uint256)" "$limit"
echo "debt now $(cast from-wei "$(cast call --rpc-url "$rpc" "$lending" "debt(address)(uint256)" "$me" | cut -d' ' -f1)") ETH"
step "a replayed proof is refused, whoever sends it"
if "$zk" -q submit "$build/proof.json" --rpc-url "$rpc" --consumer "$oracle" --private-key "$borrower_key"; then
  echo "replay was accepted: BUG" >&2
  exit 1
fi
proof_bytes=$(( ($(field "$build/proof.json" "['proof']" | wc -c) - 3) / 2 ))
echo
echo "demo complete: proof $proof_bytes bytes, artifacts in demo-build/"
