# The front door. `make help` lists the targets.
PYTHON_BASE ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install demo test test-fast lint train evaluate report race tensorboard bench gpu-check app live clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

# Reinstalls only when pyproject.toml changed (the stamp is older than it).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -c "import cv2, mediapipe, torch, torchvision, lightning, hydra, av, gradio, onnxruntime, playwright; mediapipe.solutions.pose; import tensorboard.default"
	touch $(STAMP)

# The browser test drives Debian's Chromium (headless, through Playwright): installed once, as root or with sudo.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) sh -c 'apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)'

install: $(STAMP) ## Create .venv and install the package with its dev extras (quick when nothing changed)

demo: $(STAMP) ## Run the demo (nearest neighbour) on the embedded synthetic clips; prints the video path
	$(PY) src/demo.py model=nearest $(ARGS)

test: $(STAMP) $(CHROMIUM) ## Run the whole test suite (needs ../shared/data for the real-clip tests; installs Chromium)
	$(PY) -m pytest -q $(ARGS)

test-fast: $(STAMP) ## Run the tests that need neither the real clips nor minutes
	$(PY) -m pytest -q -m "not slow and not real_data" $(ARGS)

lint: $(STAMP) ## Check the code with ruff and the layering with lint-imports (both set in pyproject.toml)
	$(VENV)/bin/ruff check src tests
	cd src && ../$(VENV)/bin/lint-imports ../pyproject.toml

train: $(STAMP) ## Train a model: make train ARGS="model=gan trainer.max_epochs=100"
	$(PY) src/train.py $(ARGS)

evaluate: $(STAMP) ## Evaluate one model on held-out frames: make evaluate ARGS="model=gan"
	$(PY) src/evaluate.py $(ARGS)

report: $(STAMP) ## Table + image grid of every model trained on a target: make report ARGS="data=video data.target_video=T.mp4"
	$(PY) src/report.py $(ARGS)

race: $(STAMP) ## Train each model for the same time on taichi2 and compare them (outputs/race/<time>/race.md)
	$(PY) src/race.py data=video data.target_video=../shared/data/taichi2.mp4 $(ARGS)

bench: $(STAMP) ## Time the hot paths against their baselines (outputs/bench/<time>/bench.json); quick: ARGS=bench=quick
	$(PY) src/bench.py $(ARGS)

gpu-check: $(STAMP) ## On a CUDA GPU: U-Net at 128 and 256 px and the GAN, a few minutes each, then evaluated (gpu_check.md)
	$(PY) src/gpu_check.py $(ARGS)

app: $(STAMP) ## The web page at http://127.0.0.1:7860 (network: ARGS="server_name=0.0.0.0")
	$(PY) src/app.py $(ARGS)

live: $(STAMP) ## Live transfer from a camera or a video: make live ARGS="source=0 model=vanilla_image data=video data.target_video=T.mp4"
	$(PY) src/live.py $(ARGS)

tensorboard: $(STAMP) ## TensorBoard on every run under outputs/, at http://127.0.0.1:6006 (network: ARGS=--bind_all)
	$(VENV)/bin/tensorboard --logdir outputs --host 127.0.0.1 $(ARGS)

clean: ## Remove caches and runs under outputs/ (keeps .venv)
	find outputs -mindepth 1 -not -name .gitkeep -delete
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache
