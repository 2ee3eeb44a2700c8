# Arlow: developer commands. Every target sets itself up, so on a fresh clone `make demo` and `make test` suffice.
.PHONY: setup tree fixup fix-repo style quality check-repo test test-model test-project test-install docs demo bench bench-quick gpu-bundle gpu-check upstream-patch clean

VENV ?= .venv
PYTHON ?= python3
TORCH_SPEC ?= torch==2.13.0
PY := $(abspath $(VENV))/bin/python
TREE := build/integrated
STAMP := $(VENV)/.arlow-setup
PYTEST_WORKERS ?= 2
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

# pytest over $(1), one torch thread per worker unless set; exit code 5 ("no tests ran") is a failure, not a pass.
# CI=true unless set, as on a CI machine: transformers' logger then propagates to the root logger (`propagate = is_ci`
# in its utils/logging.py), so a test behaves here as it does in CI, live-logged warnings included.
define run_pytest
rc=0; CI=$${CI:-true} OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider -q -rs $(1) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests ran in $(1)"; fi; exit $$rc
endef

CODE_DIRS := src tests utils examples benchmark setup.py
CHECKS := $(sort $(wildcard utils/check_*.py))

setup: $(STAMP) tree

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Installs torch (unless one is already there), the development tools, then the integrated tree as an editable install.
$(STAMP): $(VENV)/bin/python requirements-dev.txt utils/integrated_tree.py
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) utils/integrated_tree.py build
	$(PY) -m pip install --quiet -e $(TREE)
	touch $(STAMP)

tree: $(VENV)/bin/python
	@$(PY) utils/integrated_tree.py build > /dev/null

style: setup
	$(PY) -m ruff check $(CODE_DIRS) --fix
	$(PY) -m ruff format $(CODE_DIRS)

quality: setup
	$(PY) -m ruff check $(CODE_DIRS)
	$(PY) -m ruff format --check $(CODE_DIRS)

check-repo: quality
	$(PY) utils/integrated_tree.py check
	@set -e; for check in $(CHECKS); do $(PY) $$check; done
	$(PY) -m mlinter src/transformers/models/arlow tests/models/arlow
# Upstream's own checks on a copy of an upstream checkout with the patch applied, only when one is named.
	@if [ -n "$$TRANSFORMERS_UPSTREAM_CHECKOUT" ]; then $(PY) utils/run_upstream_checks.py; \
	else echo "run_upstream_checks: skipped (set TRANSFORMERS_UPSTREAM_CHECKOUT to run upstream's checks)"; fi

# Every check's fix mode (upstream's `make fix-repo`), each run even when an earlier one still reports a problem; the fix
# and the check of each share one rule, so on a clean clone nothing changes (tests/repo_utils/test_checks.py).
fix-repo:
	@rc=0; for check in $(CHECKS); do $(PY) $$check --fix_and_overwrite || rc=1; done; exit $$rc

fixup: style
	-$(MAKE) fix-repo
	$(MAKE) check-repo

test: check-repo test-model test-project test-install

# Upstream's suites and Arlow's tests, inside the integrated tree (rootdir and pytest config are upstream's).
test-model: setup
	cd $(TREE) && $(call run_pytest,tests/models/arlow tests/standins)

# The project's own tests: tooling, consistency checks, examples, benchmarks smoke test.
test-project: setup
	$(call run_pytest,tests/repo_utils examples)

# `pip install .` into a clean virtual environment holding only torch, then imports, Auto classes, uninstall; in the
# same environment, the Llama export loaded by the plain transformers release from PyPI (one script for both).
test-install: $(VENV)/bin/python
	$(PY) utils/verify_user_install.py --torch-spec "$(TORCH_SPEC)"

docs: setup
	$(PY) utils/build_docs.py

demo: setup
	$(PY) examples/pytorch/language-modeling/run_demo.py

bench: setup
	$(PY) benchmark/run_benchmarks.py

bench-quick: setup
	$(PY) benchmark/run_benchmarks.py --quick

# The GPU machine has no network: `make gpu-bundle` (here, with PyPI) writes build/gpu-bundle/ (the pinned sdist and the
# wheels its image lacks); carried there, `make gpu-check` runs offline with its python3 (GPU_PYTHON), no `make setup`,
# and rewrites its report in OUT after every step. Without CUDA it runs what the CPU can (the rehearsal).
GPU_PYTHON ?= python3
OUT ?= build/gpu-report
gpu-bundle:
	$(PYTHON) utils/gpu_check.py bundle

gpu-check:
	$(GPU_PYTHON) utils/gpu_check.py run --out $(OUT)

upstream-patch: setup
	$(PY) utils/integrated_tree.py patch

clean:
	rm -rf build dist $(VENV)
