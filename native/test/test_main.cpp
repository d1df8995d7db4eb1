// Runs every registered native test case; exit status 1 when any check failed.
// Usage: kvprism_tests [substring-filter]
#include <cstring>
#include "harness.h"

namespace kt {
std::vector<Case> &cases() {
  static std::vector<Case> c;
  return c;
}
static int failed = 0;
static const char *current = "";
void failure(const char *file, int line, const std::string &msg) {
  if (++failed <= 50) std::fprintf(stderr, "FAIL [%s] %s:%d: %s\n", current, file, line, msg.c_str());
}
int failures() { return failed; }
}  // namespace kt

int main(int argc, char **argv) {
  int ran = 0, badCases = 0;
  for (auto &c : kt::cases()) {
    if (argc > 1 && !std::strstr(c.name, argv[1])) continue;
    kt::current = c.name;
    const int before = kt::failures();
    c.fn();
    ran++;
    const bool ok = kt::failures() == before;
    badCases += ok ? 0 : 1;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", c.name);
  }
  std::printf("%d passed, %d failed (%d checks failed)\n", ran - badCases, badCases, kt::failures());
  return badCases ? 1 : 0;
}
