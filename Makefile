# The two commands of the README: `make dev` and `make test`.
BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= $(shell nproc)
MAKEFLAGS  += --no-print-directory
CMAKE_ARGS ?=

.PHONY: dev test build configure deps deps-test test-san fuzz bench clean

deps:
	@scripts/deps

deps-test:
	@scripts/deps --test

# Configure every time (about a second): what is installed may have changed
# since the last run (cmocka arrives with `make test`).
configure:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

build: deps configure
	@cmake --build $(BUILD) -j $(JOBS)

# Only the binary: the first start of a fresh clone should not wait for the tests.
dev: deps configure
	@cmake --build $(BUILD) -j $(JOBS) --target kashguard
	./$(BUILD)/kashguard server --dev

test: deps-test configure
	@cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
test-san: deps-test
	@cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DKG_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_SAN) -j $(JOBS)
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp ctest --output-on-failure -j $(JOBS)

# libFuzzer targets, each run for a short bounded time (FUZZ_SECONDS).
FUZZ_SECONDS ?= 30
fuzz: deps-test
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DKG_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@set -e; for f in build-fuzz/fuzz_*; do \
	  case $$f in *.log) continue;; esac; \
	  n=$$(basename $$f); mkdir -p build-fuzz/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 build-fuzz/corpus/$$n fuzz/corpus/$$n > build-fuzz/$$n.log 2>&1 \
	    || { tail -n 40 build-fuzz/$$n.log; exit 1; }; \
	  tail -n 1 build-fuzz/$$n.log; \
	done

bench: build
	@echo "see docs/benchmarks.md"

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-fuzz
