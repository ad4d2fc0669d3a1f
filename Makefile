# The two commands a newcomer needs (README "Quick start"):
#   make demo   build tierwatch and run it on the bundled example (no cluster needed)
#   make test   build everything and run every test through ctest
# Both install missing Debian 12 packages first (scripts/install-deps.sh).
PRESET ?= dev
BUILD_DIR := build/$(PRESET)

FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
FUZZ_SEED ?= 0
CTEST_ARGS ?=

.PHONY: all deps configure build test demo release asan tsan fuzz soak bench format clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@test -f $(BUILD_DIR)/build.ninja || cmake --preset $(PRESET)

build: configure
	cmake --build --preset $(PRESET)

# CTEST_ARGS narrows or tunes a run, e.g. make tsan CTEST_ARGS='-R Daemon'.
test: build
	ctest --preset $(PRESET) $(CTEST_ARGS)

# The fault tests at their big counts (1000 kills during saves, 100 relay restarts, ...);
# `make test` runs the same tests at CI-sized counts.
soak: build
	TIERWATCH_SOAK=1 $(BUILD_DIR)/tests/tw_faults_test

demo: build
	@scripts/demo.sh $(BUILD_DIR)/tierwatch

release:
	$(MAKE) build PRESET=release

# The whole suite under clang ASan+UBSan (also -Wthread-safety as errors), and under TSan.
asan:
	$(MAKE) test PRESET=asan

tsan:
	$(MAKE) test PRESET=tsan

# Every libFuzzer target (fuzz/): first its fixed crash inputs (fuzz/regressions/), then
# FUZZ_SECONDS of exploration from seeded corpora, or, with FUZZ_RUNS=N, N executions from
# FUZZ_SEED (deterministic: what CI runs). Exit 1 on a crash.
fuzz: deps
	@test -f build/asan/build.ninja || cmake --preset asan
	cmake --build --preset asan --target fuzz_targets
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SEED=$(FUZZ_SEED) fuzz/run.sh build/asan $(FUZZ_SECONDS)

bench:
	$(MAKE) build PRESET=release
	@scripts/bench.sh build/release

format:
	find src tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build
