// A fixed pool of std::threads running parallel_for(tasks, fn); the caller thread works too.
// Calls are synchronous and serialised (one parallel_for at a time per process).
#pragma once
#include <functional>

namespace kvp {

/** Multiply-adds below which a call runs on the caller's thread (2^18: a GEMV over 1 MiB of
 *  f32 weights, some tens of µs on one core). Waking the pool (futex wake, a worker scheduled,
 *  a wait for the slowest) costs about as much, and far more when the cores are shared; a
 *  small model's decode step makes ~30 such calls (bench/decode-split.results.md). */
constexpr double kMinParallelWork = 262144;

/** Runs fn(i) for i in [0, tasks) on the pool; returns when all are done. With `work` (the
 *  call's multiply-adds) under kMinParallelWork it runs them in order on this thread. */
void parallel_for(int tasks, const std::function<void(int)> &fn, double work = kMinParallelWork);

/** Number of threads parallel_for uses (workers + the caller). */
int pool_threads();
void set_pool_threads(int threads);

}  // namespace kvp
