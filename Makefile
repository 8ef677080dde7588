# motcua: two commands on a fresh Debian 12 / Ubuntu machine with Python 3.11.
#   make demo   installs what is missing (apt, .venv, the package) and runs the demo
#   make test   the same installs plus test dependencies, then the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Debian packages: broker, barcode library, voice, fonts that cover Vietnamese, serial ptys, headless screens.
APT_RUNTIME := mosquitto mosquitto-clients libzbar0 espeak-ng sox fonts-noto-core fonts-dejavu-core socat libmtdev1 libusb-1.0-0 rsync
# postgresql: the province tests run a throwaway cluster (initdb in a temp dir, as an unprivileged user)
# poppler-utils: pdftotext reads back the PDF report in the reports tests; faketime: tests run with the clock moved
APT_TEST := xvfb xauth chromium systemd cage postgresql poppler-utils faketime curl
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
DURATION ?= 60
# mediapipe with --no-deps: its wheel metadata wants jax, jaxlib, opencv-contrib and sounddevice (not used by face
# lookup, and opencv-contrib would fight opencv-python-headless); what it needs to import comes from the face extra.
FACE_NODEPS := mediapipe==0.10.14
# Real photos for the face tests (obama*.jpg, biden.jpg) from the face_recognition sdist on PyPI, in a cache outside git
FACE_CACHE ?= $(HOME)/.cache/motcua/face
FACE_SDIST := face_recognition==1.3.0
# what mypy --strict checks (pyproject's overrides list the same modules as strict)
MYPY_PATHS := contracts queue_server/domain firmware_bridge/protocol queue_server/app queue_server/adapters queue_server/web \
  runtime kiosk/presenters kiosk/device_health.py firmware_bridge/bridge.py firmware_bridge/config.py \
  firmware_bridge/sim/watch.py devices/health.py demo province devices/face

.PHONY: demo test deps test-deps apt apt-test venv bench lint clean face-images

demo: deps
	$(VENV)/bin/motcua demo --duration $(DURATION)

# lint first (seconds), so the suite's own summary is the last line CI reads
test: test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy $(MYPY_PATHS)
	MOTCUA_FACE_CACHE=$(FACE_CACHE) $(PY) -m pytest -q

deps: apt venv $(VENV)/.deps-runtime
test-deps: apt apt-test venv $(VENV)/.deps-test face-images

apt:
	@missing=""; for p in $(APT_RUNTIME); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; fi

apt-test:
	@missing=""; for p in $(APT_TEST); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; fi

venv: $(PY)
$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "motcua needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip

$(VENV)/.deps-runtime: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[hub,kiosk,bridge,face]'
	$(PIP) install -q --no-deps '$(FACE_NODEPS)'
	touch $@

$(VENV)/.deps-test: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[hub,kiosk,bridge,province,face,dev]'
	$(PIP) install -q --no-deps '$(FACE_NODEPS)'
	touch $(VENV)/.deps-runtime $@

# the face tests' photos: downloaded once by pip (a registry client) into the cache, never committed
face-images: $(FACE_CACHE)/.ok
$(FACE_CACHE)/.ok: | $(PY)
	mkdir -p $(FACE_CACHE)
	$(PIP) download -q '$(FACE_SDIST)' --no-deps --no-binary :all: -d $(FACE_CACHE)
	tar -xzf $(FACE_CACHE)/face_recognition-1.3.0.tar.gz -C $(FACE_CACHE) --strip-components=3 --wildcards '*/tests/test_images/*.jpg'
	touch $@

bench: deps
	$(PY) bench/hub.py

lint: test-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy $(MYPY_PATHS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache var test-artifacts
