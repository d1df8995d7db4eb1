// Minimal test harness for the native tests (no third-party framework to fetch offline).
#pragma once
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace kt {

struct Case {
  const char *name;
  std::function<void()> fn;
};
std::vector<Case> &cases();
struct Register {
  Register(const char *name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};
/** Records a failure (printed with context) without aborting the case. */
void failure(const char *file, int line, const std::string &msg);
int failures();

}  // namespace kt

#define KT_CAT2(a, b) a##b
#define KT_CAT(a, b) KT_CAT2(a, b)
#define TEST_CASE(name) \
  static void KT_CAT(test_fn_, __LINE__)(); \
  static kt::Register KT_CAT(test_reg_, __LINE__)(name, KT_CAT(test_fn_, __LINE__)); \
  static void KT_CAT(test_fn_, __LINE__)()
#define CHECK(cond, msg)                                              \
  do {                                                                \
    if (!(cond)) kt::failure(__FILE__, __LINE__, std::string(msg));   \
  } while (0)
