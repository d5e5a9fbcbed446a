# zkinfer — `make demo` runs the whole flow on the bundled example; `make test` runs every test.
SHELL := /bin/bash
TOOLS := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)
export ZKINFER_SOLC := $(TOOLS)/solc

.PHONY: tools s3-server build demo test test-rust test-forge test-python test-fuzz lint ci bench bench-gas bench-frontier bench-profile bench-scale bench-service ops-table

tools:
	@bash scripts/install-tools.sh >/dev/null

build:
	cargo build --release --workspace

demo: tools build
	bash scripts/demo.sh

test: tools test-rust test-forge test-python test-fuzz

# The service's S3 test talks to moto's S3 server (PyPI), in its own venv.
S3ENV := $(CURDIR)/.venv-s3
s3-server:
	@[ -x $(S3ENV)/bin/moto_server ] || (python3 -m venv $(S3ENV) && $(S3ENV)/bin/pip install -q --disable-pip-version-check "moto[server]==5.2.5")

test-rust: s3-server
	cargo test --release --workspace

test-forge:
	forge test

# The Python package (python/, PyO3 + maturin) in a venv, built on the same target dir, and its
# pytest suite (which also runs examples/python/credit_sklearn.py against anvil).
PYENV := $(CURDIR)/.venv-py
test-python:
	python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install -q --disable-pip-version-check maturin pytest numpy onnx scikit-learn skl2onnx
	$(PYENV)/bin/pip install -q --disable-pip-version-check ./python
	$(PYENV)/bin/pytest -q python/tests

# cargo-fuzz targets, FUZZ_SECONDS (default 30) each, from the checked-in seeds and regressions
test-fuzz:
	bash scripts/fuzz.sh

lint: tools
	cargo fmt --all --check
	cargo fmt --manifest-path tests/fuzz/Cargo.toml --check
	cargo clippy --release --workspace --all-targets -- -D warnings
	forge fmt --check

ci: test lint

# zkinfer vs EZKL side by side, then the small models' layout frontier (not part of CI)
bench: tools
	bash bench/vs_ezkl.sh
	.venv-bench/bin/python bench/frontier.py

# each layout family of the small models: prove time (EZKL beside) and verify gas on anvil
# (bench/frontier.md; not CI)
bench-frontier: tools
	@.venv-bench/bin/python -c "import ezkl" 2>/dev/null || (python3 -m venv .venv-bench && .venv-bench/bin/pip install -q "ezkl==23.0.5" onnx onnxruntime numpy)
	cargo build --release -q -p zkinfer-cli
	.venv-bench/bin/python bench/frontier.py

# where the small models' proving time goes, by phase, under perf (bench/profile.md; not CI)
bench-profile:
	cargo build --release -q -p zkinfer-cli
	python3 bench/profile.py

# every op fixture's k, worst error vs onnxruntime and advice cells per output (bench/ops.md)
ops-table:
	bash scripts/ops-table.sh

# verifier gas on anvil, both verifiers, beside EZKL's anchored figures (not part of CI)
bench-gas: tools
	python3 bench/gas.py

# the service under load on loopback, embedded and with Redis workers (bench/service.md; not CI)
bench-service:
	cargo build --release -p zkinfer-cli
	python3 bench/service.py

# models larger than one circuit: segments + aggregation, beside EZKL (bench/scale.md; hours, not CI)
bench-scale: tools
	@[ -x .venv-bench/bin/python ] || (python3 -m venv .venv-bench && .venv-bench/bin/pip install -q "ezkl==23.0.5" onnx onnxruntime numpy)
	cargo build --release -q -p zkinfer-cli
	.venv-bench/bin/python bench/scale.py
