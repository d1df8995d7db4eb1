// STREAM-like triad a = b + s·c on the pool's threads: the machine's sustainable memory
// bandwidth, measured next to the kernels in the same process (bench/kernels.ts).
#include <algorithm>
#include <chrono>
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
