# sergeant for Swift: thin wrappers over swift build / swift test.
#   make demo      the seed example end to end (producer -> sergeant-host -> worker plugin)
#   make test      every test, against a private redis-server the tests start themselves
#   make examples  build every worker plugin under Plugins-Examples/ (and the Swift test fixtures: one
#                  build in Tests/Plugins; the consumer example in its own directory, as a user would);
#                  make examples-each builds each example in its own directory
#   make vectors   rewrite the Python sergeant task vectors under Tests/Fixtures/
#   make install   sergeant, sergeant-host, sergeant-worker into $(PREFIX)/bin (PREFIX=/usr/local)
#   make bench     this project vs Python sergeant 0.27, Sidekiq, RQ and Dramatiq vs the bare Redis
#                  limit, with instructions per task (callgrind) of this project's rows: a table,
#                  bench/results/latest.{csv,txt} and ratios.png. BENCH_ARGS tunes it, e.g.
#                  "--runs 3 --tasks 20000 --peer-tasks 2000 --callgrind-tasks 3000": --no-peers skips
#                  (and installs none of) the peers, --no-callgrind the Ir/task column and valgrind,
#                  --sections main,scaling,tls,io,producers,startup,latency,local,sentinel picks sections; all options: .build-bench/release/sergeant-bench run --help
#   make soak      2,000,000 tasks per executor through two workers; fails when a worker's RSS grows
#                  5% or more, or its descriptors at all, after warm-up: bench/results/soak.{csv,txt,png}
#   make storm     1,000 crashing + 1,000 healthy tasks: backoff, dead letters, CPU time
#   make fuzz      each libFuzzer target under Fuzz/ for FUZZ_SECONDS (default 60), one after the other
#                  (FUZZ_TARGETS="json task" for some); make fuzz-smoke: each for FUZZ_RUNS inputs
#   make callgrind instructions per task of one worker consuming 1,000 per transaction
#                  (valgrind callgrind; CALLGRIND_ARGS="--at-least-once 0 --tasks 20000", or a checkout path)
SWIFT ?= swift
# Plugins depend on this package by path; SwiftPM caches their build plan and would miss a
# source file added here since their last build, so every plugin build plans afresh.
PLUGIN_BUILD = $(SWIFT) build --disable-build-manifest-caching
FIXTURES := .build/fixtures
CC ?= cc

.PHONY: all build deps examples fixtures test demo bench callgrind clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# Every plugin package the tests load but the consumer example, in one build (Tests/Plugins/Package.swift):
# the SDK and the web app's Hummingbird are built once for all of them, not once per package. `swift build`
# there links every plugin's .so; the web app's server is an executable product, built by name.
PLUGINS := Tests/Plugins
.PHONY: plugins examples-each
plugins: deps
	$(PLUGIN_BUILD) --package-path $(PLUGINS)
	$(PLUGIN_BUILD) --package-path $(PLUGINS) --product web-app

# The consumer example is built exactly as a user builds a worker: `swift build` in its own directory.
examples: plugins
	$(PLUGIN_BUILD) --package-path Plugins-Examples/consumer

# Each example in its own directory, as a user would build any of them (slow: each builds the SDK, and
# web_app Hummingbird, again); make test does not need it.
examples-each: deps
	@for dir in Plugins-Examples/*/; do \
		echo "building plugin $$dir"; \
		$(PLUGIN_BUILD) --package-path "$$dir" || exit 1; \
	done

# The Swift fixture packages (Tests/Fixtures/{async,chaos,parity}) are built by `plugins`; the C ones here.
FIXTURE_CC = $(CC) -shared -fPIC -Wall -Werror -ISources/CSergeantABI/include
.PHONY: c-fixtures
fixtures: plugins c-fixtures

c-fixtures: deps
	@mkdir -p $(FIXTURES)
	$(FIXTURE_CC) Tests/Fixtures/abi_v2.c -o $(FIXTURES)/libabi_v2.so
	$(FIXTURE_CC) Tests/Fixtures/no_factory.c -o $(FIXTURES)/libno_factory.so
	$(FIXTURE_CC) Tests/Fixtures/c_worker.c -o $(FIXTURES)/libc_worker.so
	$(FIXTURE_CC) Tests/Fixtures/crashing_worker.c -o $(FIXTURES)/libcrashing_worker.so
	$(FIXTURE_CC) Tests/Fixtures/future_worker.c -o $(FIXTURES)/libfuture_worker.so
	$(FIXTURE_CC) -pthread Tests/Fixtures/async_c_worker.c -o $(FIXTURES)/libasync_c_worker.so
	$(FIXTURE_CC) -DWORKER_VERSION=1 Tests/Fixtures/versioned_worker.c -o $(FIXTURES)/libversioned_v1.so
	$(FIXTURE_CC) -DWORKER_VERSION=2 Tests/Fixtures/versioned_worker.c -o $(FIXTURES)/libversioned_v2.so
	$(FIXTURE_CC) Tests/Fixtures/config_worker.c -o $(FIXTURES)/libconfig_worker.so
	$(CC) -shared -fPIC -Wall -Werror -ITests/Fixtures/abi-1.0 Tests/Fixtures/legacy_worker.c -o $(FIXTURES)/liblegacy_worker.so
	$(CC) -Wall -Werror -ITests/Fixtures/abi-1.0 Tests/Fixtures/abi10_host.c -o $(FIXTURES)/abi10-host -ldl
	@printf 'this is not an ELF file\n' > $(FIXTURES)/not_a_plugin.so

.PHONY: interop-deps vectors
interop-deps: deps
	@scripts/python-venv.sh

# make vectors: rewrite Tests/Fixtures/python-sergeant-0.27-tasks.json with Python sergeant 0.27 itself.
vectors: interop-deps
	.venv-sergeant/bin/python scripts/python-vectors.py Tests/Fixtures/python-sergeant-0.27-tasks.json

test: build examples fixtures interop-deps
	$(SWIFT) test --disable-swift-testing

# The demo needs the consumer plugin only: `make examples` would also build web_app's
# Hummingbird, minutes on a new machine.
demo: build
	$(PLUGIN_BUILD) --package-path Plugins-Examples/consumer
	@scripts/demo.sh

bench: deps
	@scripts/bench.sh $(BENCH_ARGS)

callgrind: deps
	@scripts/callgrind-consume.sh $(CALLGRIND_ARGS)

# make soak: release builds; SOAK_ARGS="--tasks 500000 --executors threaded" to tune.
.PHONY: soak
soak: deps
	@scripts/soak.sh $(SOAK_ARGS)

# make storm: the full crash storm (issue 15 item 6): 1,000 tasks that each crash their worker
# mixed with 1,000 healthy ones; prints deaths, wall time and the supervisor's and workers' CPU
# time (make test runs 50 + 50). STORM_TASKS=N to change the size, STORM_WORKERS the workers.
STORM_TASKS ?= 1000
STORM_WORKERS ?= 2
.PHONY: storm
storm: build c-fixtures
	SERGEANT_STORM_TASKS=$(STORM_TASKS) SERGEANT_STORM_WORKERS=$(STORM_WORKERS) $(SWIFT) test --disable-swift-testing --filter CrashStormTests/testCrashStorm

# make chaos: SIGKILL workers and supervisors and restart redis-server under load; fails on a
# lost task or a dead-letter list that is not exactly the poison task (CHAOS_ARGS="--seed N";
# CHAOS_ARGS="--broker sentinel [--durability replicated]": master SIGKILLs and Sentinel failovers).
.PHONY: chaos
chaos: deps
	@SWIFT="$(SWIFT)" scripts/chaos.sh $(CHAOS_ARGS)

# make install PREFIX=/usr/local: sergeant, sergeant-host and sergeant-worker (release builds) into
# $(PREFIX)/bin, side by side (sergeant-host starts the sergeant-worker beside it).
# INSTALL_CONFIGURATION=debug installs the debug builds (the test does, to spare a release build).
PREFIX ?= /usr/local
INSTALL_CONFIGURATION ?= release
.PHONY: install install-binaries
install: deps
	$(SWIFT) build -c $(INSTALL_CONFIGURATION) --product sergeant
	$(SWIFT) build -c $(INSTALL_CONFIGURATION) --product sergeant-host
	$(SWIFT) build -c $(INSTALL_CONFIGURATION) --product sergeant-worker
	@$(MAKE) --no-print-directory install-binaries

# The copy alone, of what is built (the install test uses it: it runs inside swift test, which
# holds the build directory).
install-binaries:
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 755 .build/$(INSTALL_CONFIGURATION)/sergeant .build/$(INSTALL_CONFIGURATION)/sergeant-host \
		.build/$(INSTALL_CONFIGURATION)/sergeant-worker "$(DESTDIR)$(PREFIX)/bin/"
	@echo "installed sergeant, sergeant-host and sergeant-worker in $(DESTDIR)$(PREFIX)/bin"

clean:
	rm -rf .build Plugins-Examples/*/.build Tests/Plugins/.build Tests/Fixtures/*/.build

# make fuzz: scripts/build-fuzz.sh compiles the modules under test with swiftc
# -sanitize=fuzzer,address into .build/fuzz/, then each target runs (nice 19, one job) from its
# seeds in Fuzz/corpus/TARGET; crashes go to Fuzz/artifacts/ (ignored). Not part of make test:
# the instrumented build alone takes several minutes on this machine (SergeantCore with ASan and
# -O about four), over the two-minute budget for a smoke run there.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 20000
FUZZ_TARGETS ?=
.PHONY: fuzz fuzz-smoke
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)

fuzz-smoke: deps
	@FUZZ_RUNS=$(FUZZ_RUNS) scripts/fuzz.sh $(FUZZ_TARGETS)
