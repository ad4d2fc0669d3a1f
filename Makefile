# The two commands a newcomer needs (README "Quick start"):
#   make demo   build tierwatch and run it on the bundled example (no cluster needed)
#   make test   build everything and run every test through ctest
# Both install missing Debian 12 packages first (scripts/install-deps.sh).
PRESET ?= dev
BUILD_DIR := build/$(PRESET)

.PHONY: all deps configure build test soak demo release asan bench format clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@test -f $(BUILD_DIR)/build.ninja || cmake --preset $(PRESET)

build: configure
	cmake --build --preset $(PRESET)

test: build
	ctest --preset $(PRESET)

# The fault tests at their big counts (1000 kills during saves, 100 relay restarts, ...);
# `make test` runs the same tests at CI-sized counts.
soak: build
	TIERWATCH_SOAK=1 $(BUILD_DIR)/tests/tw_faults_test

demo: build
	@scripts/demo.sh $(BUILD_DIR)/tierwatch

release:
	$(MAKE) build PRESET=release

asan:
	$(MAKE) test PRESET=asan

bench:
	$(MAKE) build PRESET=release
	@scripts/bench.sh build/release

format:
	find src tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build
