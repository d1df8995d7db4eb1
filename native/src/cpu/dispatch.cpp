// Runtime ISA selection, thread count and error reporting for the C ABI.
#include <cstdlib>
#include <cstring>
#include <string>
#include "errors.h"
#include "kernel_table.h"
#include "thread_pool.h"

namespace kvp {
namespace {

thread_local std::string lastError;

const KernelTable *by_name(const char *name) {
  if (!std::strcmp(name, "scalar")) return table_scalar();
  if (!std::strcmp(name, "neon")) return table_neon();
#if defined(__x86_64__) && defined(__GNUC__)
  if (!std::strcmp(name, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? table_avx2() : nullptr;
  if (!std::strcmp(name, "avx512")) {
    bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    return ok ? table_avx512() : nullptr;
  }
#endif
  return nullptr;
}

const KernelTable *best() {
  for (const char *n : {"avx512", "avx2", "neon"})
    if (const KernelTable *t = by_name(n)) return t;
  return table_scalar();
}

const KernelTable *initial() {
  const char *env = std::getenv("KVPRISM_ISA");
  if (env && *env) {
    if (const KernelTable *t = by_name(env)) return t;
  }
  return best();
}

const KernelTable *current = nullptr;

}  // namespace

int fail(const std::string &msg, int code) {
  lastError = msg;
  return code;
}

const KernelTable &kernels() {
  if (!current) current = initial();
  return *current;
}

}  // namespace kvp

extern "C" {

const char *kvp_last_error(void) { return kvp::lastError.c_str(); }

const char *kvp_isa(void) { return kvp::kernels().name; }

int kvp_set_isa(const char *name) {
  if (!name) return kvp::fail("kvp_set_isa: name is null");
  const kvp::KernelTable *t = kvp::by_name(name);
  if (!t) return kvp::fail(std::string("kvp_set_isa: '") + name + "' is not available on this CPU/build (scalar, avx2, avx512, neon)");
  kvp::current = t;
  return KVP_OK;
}

int kvp_set_threads(int32_t threads) {
  if (threads < 1 || threads > 1024) return kvp::fail("kvp_set_threads: threads must be in [1, 1024]; got " + std::to_string(threads));
  kvp::set_pool_threads(threads);
  return KVP_OK;
}

int32_t kvp_threads(void) { return kvp::pool_threads(); }

}  // extern "C"
