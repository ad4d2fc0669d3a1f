// Sizes for the benchmarks: full size under `make bench`, tiny under `make test`, where
// ctest runs every benchmark once (TIERWATCH_BENCH_SMOKE=1) only to prove it still works.
//
//   const size_t n = tw::bench::Scaled(1'000'000);   // 1,000,000, or 1,000 in a smoke run
#pragma once

#include <cstddef>
#include <cstdlib>

namespace tw::bench {

inline bool Smoke() {
  const char* v = std::getenv("TIERWATCH_BENCH_SMOKE");
  return v != nullptr && *v != '\0' && *v != '0';
}

// n, or n / 1000 (at least `floor`) in a smoke run.
inline size_t Scaled(size_t n, size_t floor = 10) {
  if (!Smoke()) return n;
  size_t s = n / 1000;
  return s < floor ? floor : s;
}

}  // namespace tw::bench
