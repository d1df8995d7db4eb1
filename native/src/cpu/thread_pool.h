// A fixed pool of std::threads running parallel_for(tasks, fn); the caller thread works too.
// Calls are synchronous and serialised (one parallel_for at a time per process).
#pragma once
#include <functional>

namespace kvp {

/** Runs fn(i) for i in [0, tasks) on the pool; returns when all are done. */
void parallel_for(int tasks, const std::function<void(int)> &fn);

/** Number of threads parallel_for uses (workers + the caller). */
int pool_threads();
void set_pool_threads(int threads);

}  // namespace kvp
