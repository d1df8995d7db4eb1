// STREAM-like triad a = b + s·c on the pool's threads: the machine's sustainable memory
// bandwidth, measured next to the kernels in the same process (bench/kernels.ts). And a
// read-only sweep, the traffic decode attention makes (it reads K/V and writes almost nothing).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>
#include "errors.h"
#include "thread_pool.h"

extern "C" double kvp_stream_triad(int32_t mib, int32_t reps) {
  if (mib < 1 || mib > 4096 || reps < 1) return kvp::fail("kvp_stream_triad: mib must be in [1, 4096] and reps ≥ 1") * 1.0;
  const size_t n = size_t(mib) << 18;  // floats per array
  std::vector<float> a(n), b(n), c(n);
  const int tasks = kvp::pool_threads();
  const size_t per = (n + tasks - 1) / tasks;
  // First touch from the workers so pages land near the threads that stream them.
  kvp::parallel_for(tasks, [&](int t) {
    const size_t lo = t * per, hi = std::min(n, lo + per);
    for (size_t i = lo; i < hi; i++) { a[i] = 0.f; b[i] = 1.f; c[i] = 2.f; }
  });
  double best = 0;
  for (int r = 0; r < reps; r++) {
    auto t0 = std::chrono::steady_clock::now();
    kvp::parallel_for(tasks, [&](int t) {
      const size_t lo = t * per, hi = std::min(n, lo + per);
      float *pa = a.data();
      const float *pb = b.data(), *pc = c.data();
      for (size_t i = lo; i < hi; i++) pa[i] = pb[i] + 3.f * pc[i];
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 3.0 * n * sizeof(float) / s / 1e9);
  }
  return a[n / 2] == 7.f ? best : -1.0;
}

extern "C" double kvp_stream_read(int32_t mib, int32_t reps) {
  if (mib < 1 || mib > 4096 || reps < 1) return kvp::fail("kvp_stream_read: mib must be in [1, 4096] and reps ≥ 1") * 1.0;
  const size_t n = size_t(mib) << 18;  // 32-bit words
  std::vector<uint32_t> a(n);
  const int tasks = kvp::pool_threads();
  const size_t per = (n + tasks - 1) / tasks;
  kvp::parallel_for(tasks, [&](int t) {
    const size_t lo = t * per, hi = std::min(n, lo + per);
    for (size_t i = lo; i < hi; i++) a[i] = uint32_t(i);
  });
  // Integer sums vectorise without reassociation flags; the checked total keeps the loads live.
  uint64_t expected = 0;
  for (int t = 0; t < tasks; t++) {
    const size_t lo = std::min(n, t * per), hi = std::min(n, lo + per);
    uint32_t s = 0;
    for (size_t i = lo; i < hi; i++) s += uint32_t(i);
    expected += s;
  }
  std::vector<uint32_t> sums(tasks);
  double best = 0;
  for (int r = 0; r < reps; r++) {
    auto t0 = std::chrono::steady_clock::now();
    kvp::parallel_for(tasks, [&](int t) {
      const size_t lo = std::min(n, t * per), hi = std::min(n, lo + per);
      const uint32_t *p = a.data();
      uint32_t s = 0;
      for (size_t i = lo; i < hi; i++) s += p[i];
      sums[t] = s;
    });
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, double(n) * sizeof(uint32_t) / sec / 1e9);
  }
  uint64_t got = 0;
  for (uint32_t s : sums) got += s;
  return got == expected ? best : -1.0;
}
