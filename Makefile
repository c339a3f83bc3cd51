# trustlaunch: a thin wrapper over Meson + Ninja.
#   make deps   install build and test dependencies (apt-get, sudo when not root; npm ci of
#               tests/node, the independent TDX verifier tests/cli/tdx_dcapqvl.sh runs and
#               playwright-core, tests/cli/fleet_page.sh's driver of Debian's chromium)
#   make        build (build/)
#   make test   unit + CLI suites, in the gcc build, then the same under ASan+UBSan;
#               ends "N passed, N failed, N skipped" (a skip fails unless tests/skips.allowed names it)
#   make test-pg  the store's suites with tld's state in PostgreSQL (suite pg: each test
#               starts its own server, tests/lib/pg.sh), both builds; TL_TEST_STORE=pg make test
#               runs them after unit + CLI
#   make e2e    the end-to-end suite (QEMU + OVMF + swtpm boots under TCG), once, gcc build
#   make demo   the main job on the embedded default
#   make install  tl, tld, tl-agent, the image recipe, tld.service, tld.conf and the bash
#               completion under PREFIX (default /usr/local), into DESTDIR when given
#   make fixtures  Debian's signed shim, grub and kernels (scripts/fixtures.sh)
#   make fuzz   build the libFuzzer targets (clang); make fuzz-run runs each for FUZZ_SECONDS
#   make bench  benchmarks (bench/)
#   make format clang-format every C file
#   make deps-graph  the file-level import graph of src/ and lib/ from the build's objects
#               (scripts/deps.py); fails on a circle tests/circles.allowed does not list

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
VECTORS    ?= $(abspath ../shared/vectors)
FIXTURES   ?= $(abspath fixtures)
FUZZ_SECONDS ?= 30

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# prometheus: only its promtool (tests/cli/metrics_cli.sh checks GET /metrics with
# `promtool check metrics`); nothing here starts or needs the Prometheus server.
# chromium: headless, driven by playwright-core (tests/node) in tests/cli/fleet_page.sh.
DEB_PACKAGES := build-essential meson ninja-build pkg-config clang llvm libclang-rt-14-dev sqlite3 \
	libssl-dev openssl libjansson-dev libyaml-dev libcmocka-dev libtss2-dev \
	tpm2-tools pesign sbsigntool osslsigncode ovmf efitools qemu-system-x86 qemu-utils mtools dosfstools fdisk cpio swtpm swtpm-tools \
	softhsm2 libp11-kit-dev cryptsetup-bin \
	libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev postgresql libpq-dev haproxy grub-pc-bin seabios \
	python3 python3-yaml jq jp xz-utils zstd curl nodejs openssh-client prometheus chromium

.PHONY: all deps deps-graph build install test test-pg e2e unit asan fuzz fuzz-run demo bench format fixtures image clean

all: build

deps: $(BUILD)/.deps-stamp

$(BUILD)/.deps-stamp: Makefile tests/node/package-lock.json
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done; \
		command -v kubectl >/dev/null || echo kubernetes-client; \
		command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi
	@stale=$$(for m in @phala/dcap-qvl playwright-core; do \
		want=$$(node -p "require('./tests/node/package.json').dependencies['$$m']"); \
		have=$$(node -p "require('./tests/node/node_modules/$$m/package.json').version" 2>/dev/null); \
		[ "$$have" = "$$want" ] || echo "$$m $$want"; done); \
	[ -z "$$stale" ] || { echo "npm ci in tests/node:" $$stale "(the TDX cross-check's verifier, the fleet page's browser test)"; \
		npm ci --prefix tests/node --no-audit --no-fund --loglevel=error; }
	@mkdir -p $(BUILD) && touch $@

# The shim, grub and kernel OVMF measured in the vectors (from ../shared, or
# the archive while it has them), and the signed kernels (+ modules) Debian
# serves today with their module-signing certificate: unpacked, not installed.
fixtures: deps
	@bash scripts/fixtures.sh $(FIXTURES) >/dev/null

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) -Dvectors=$(VECTORS) -Dfixtures=$(FIXTURES)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Meson's install: bin/{tl,tld,tl-agent}, share/trustlaunch (the image recipe, found
# by tl from its own bin directory), lib/systemd/system/tld.service,
# etc/trustlaunch/tld.conf, share/bash-completion/completions/tl. The fixtures too:
# the installed tl builds its first node image from them (tl was built knowing
# where they are; without them it fetches its own into TL_HOME/fixtures).
PREFIX ?= /usr/local
install: build fixtures
	meson configure $(BUILD) -Dprefix=$(PREFIX) -Dsysconfdir=$(if $(filter /usr,$(PREFIX)),/etc,etc) >/dev/null
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild --quiet $(if $(DESTDIR),--destdir $(DESTDIR))

$(ASAN_BUILD)/build.ninja: | deps
	CC=clang meson setup $(ASAN_BUILD) -Dvectors=$(VECTORS) -Dfixtures=$(FIXTURES) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

test: build asan fixtures
	@bash tests/run.sh --suite unit --suite cli $(if $(filter pg,$(TL_TEST_STORE)),--suite pg) \
		$(BUILD) $(ASAN_BUILD)

test-pg: build asan fixtures
	@bash tests/run.sh --suite pg $(BUILD) $(ASAN_BUILD)

# ASan adds nothing to a firmware boot: the VM suites run once, gcc build.
e2e: build fixtures
	@bash tests/run.sh --suite e2e $(BUILD)

$(FUZZ_BUILD)/build.ninja: | deps
	CC=clang meson setup $(FUZZ_BUILD) -Dvectors=$(VECTORS) -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

fuzz-run: fuzz
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(VECTORS) $(FUZZ_SECONDS)

demo: build fixtures
	@bash scripts/demo.sh $(BUILD) $(VECTORS) $(FIXTURES)

# The node image (docs/image.md): disk.raw + manifest.json in $(BUILD)/image.
image: build fixtures
	$(BUILD)/src/tl/tl image build -o $(BUILD)/image --fixtures $(FIXTURES)

bench: build fixtures
	@bash bench/eventlog.sh $(BUILD) $(VECTORS)
	@bash bench/authenticode.sh $(BUILD) $(FIXTURES)
	@bash bench/cli.sh $(BUILD) $(FIXTURES) $(VECTORS)
	@bash bench/vtpm.sh $(BUILD)
	@bash bench/node.sh $(BUILD) $(FIXTURES)
	@bash bench/attest.sh $(BUILD)
	@bash bench/release.sh $(BUILD)
	@bash bench/tee.sh $(BUILD) $(VECTORS)
	@bash bench/pool.sh $(BUILD) $(FIXTURES)
	@bash bench/tee_tdx.sh $(BUILD) $(VECTORS)

# Who uses whom, file by file, read from the objects with nm: each circle with
# the symbols that tie it; exit 1 on a circle not in tests/circles.allowed.
deps-graph: build
	@python3 scripts/deps.py --build $(BUILD) --allowed tests/circles.allowed

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
