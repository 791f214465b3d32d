# Two commands on a fresh Debian machine: `make run` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SUDO_E := $(if $(SUDO),sudo -E,)
export DEBIAN_FRONTEND := noninteractive

RUN_DEBS := libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 \
	libxcb-render-util0 libxcb-image0 fonts-dejavu-core xvfb xauth dbus gnome-keyring
DIST_DEBS := binutils lintian nsis
TEST_DEBS := $(RUN_DEBS) $(DIST_DEBS) postfix dovecot-core dovecot-imapd dovecot-lmtpd swaks libnet-ssleay-perl openssl curl stunnel4 kcat

.PHONY: ui run test lint typecheck bench soak clean deps-run deps-test screenshots compile dist smoke-dist

$(VENV)/.stamp-debs-run:
	@missing=$$(for p in $(RUN_DEBS); do dpkg -s $$p >/dev/null 2>&1 || printf ' %s' $$p; done); \
	if ! $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null; then missing="$$missing python3-venv python3-pip"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO_E) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

$(VENV)/.stamp-debs-test: $(VENV)/.stamp-debs-run
	@missing=$$(for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || printf ' %s' $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO_E) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# Node.js runs the tests' OAuth authorization server (npm oidc-provider); Debian's own if none.
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO_E) apt-get install -y -qq --no-install-recommends nodejs npm; }
	@# The packaged services are not used: tests start their own on loopback ports.
	@-$(SUDO) systemctl disable --now postfix dovecot >/dev/null 2>&1 || true
	@touch $@

$(VENV)/.stamp-py: pyproject.toml | $(VENV)/.stamp-debs-run
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,webview]'
	@touch $@

# Byte-compile the package as a wheel install would (an editable install does not, and some
# environments set PYTHONDONTWRITEBYTECODE): start-up then reads .pyc instead of compiling.
compile: $(VENV)/.stamp-py ui
	@$(PY) -m compileall -q desktop

# The Qt Designer forms (ui/*.ui) compiled to desktop/gui/forms/ui_*.py; tests/unit/test_forms.py
# fails if a compiled form is not what pyside6-uic makes of its .ui today.
UI_FORMS := $(patsubst ui/%.ui,desktop/gui/forms/ui_%.py,$(wildcard ui/*.ui))
ui: $(UI_FORMS)
desktop/gui/forms/ui_%.py: ui/%.ui | $(VENV)/.stamp-py
	$(VENV)/bin/pyside6-uic $< -o $@

deps-run: $(VENV)/.stamp-debs-run $(VENV)/.stamp-py compile
OAUTH_SERVER := tests/servers/oidc-provider
$(OAUTH_SERVER)/node_modules/.package-lock.json: $(OAUTH_SERVER)/package-lock.json | $(VENV)/.stamp-debs-test
	cd $(OAUTH_SERVER) && npm ci --no-audit --no-fund --loglevel=error

deps-test: $(VENV)/.stamp-debs-test $(VENV)/.stamp-py compile $(OAUTH_SERVER)/node_modules/.package-lock.json

run: deps-run
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(VENV)/bin/connector-desk; \
	else echo "No display found: starting on a virtual screen (xvfb-run)."; xvfb-run -a $(VENV)/bin/connector-desk; fi

lint: deps-run
	$(VENV)/bin/ruff check desktop tests bench
typecheck: deps-run
	$(VENV)/bin/mypy

test: deps-test lint typecheck
	$(PY) tests/run_suite.py
	@echo "The GUI tests once more (a crash that strikes now and then shows here too; make soak runs them 30 times):"
	$(PY) tests/run_suite.py tests/gui -q -p no:cacheprovider
	$(MAKE) --no-print-directory smoke-dist

# The installers (packaging/README.md): the PyInstaller one-folder bundle in dist/connector-desk and
# the .deb beside it, checked with lintian. Windows and macOS builds run on their own runners
# (.github/workflows/release.yml).
dist: deps-test
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/connector-desk.spec
	$(PY) packaging/linux/build_deb.py dist/connector-desk dist

# The frozen build as administrators meet it: bundle and .deb (--version, --smoke, a real keychain
# round trip, a connector check), install and purge; and the Windows installer definition compiles.
smoke-dist: dist
	$(PY) packaging/smoke_test.py dist

bench: deps-test
	$(PY) tests/run_suite.py --bench
	$(PY) bench/bench_cli.py --record

# The GUI tests 30 times in a row with faulthandler on; crashes (must be 0) and the slowest run go to bench/RESULTS.md.
soak: deps-test
	$(PY) bench/soak.py 30

clean:
	rm -rf $(VENV) build dist *.egg-info $(OAUTH_SERVER)/node_modules .pytest_cache .mypy_cache .ruff_cache

# Regenerate the README's screenshots from the GUI tests (real Postfix + Dovecot behind them).
screenshots: deps-test
	CONNECTOR_DESK_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) tests/run_suite.py tests/gui -q
