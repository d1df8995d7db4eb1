// The DRAM–flash tier through the C ABI: the scratch file (unlinked at open, zeroed regions,
// pages evicted and read back, ENOSPC past max_bytes, bad directories named) and kvp_attend
// over a tiered layout (cold rows in a file region, hot rows past hot_start in DRAM) against
// the same cache untiered, on every ISA this CPU runs × f32 / f16 / bf16 × cold none /
// partial (a boundary inside a block) / all × decode and prefill; then kvp_attend's tier checks.
#include <dirent.h>
#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "harness.h"
#include "test_util.h"

namespace {

int entries(const std::string &dir) {
  int n = 0;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d)) n += std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..");
    closedir(d);
  }
  return n;
}

std::string temp_dir() {
  char tmpl[] = "/tmp/kvprism-tier-test-XXXXXX";
  return mkdtemp(tmpl) ? std::string(tmpl) : std::string("/tmp");
}

/** The cache of `c` split: head h's first cold[h] slots copied to a file region, the rest to DRAM rows from hot_start[h]. */
struct Tiered {
  std::vector<uint8_t> hot;
  std::vector<int32_t> cold, start;
  kvp_kv_layout kv{};
};

Tiered split(const TestCache &c, kvp_tier_file *f, const std::vector<int> &cold, int shift) {
  const kvp_kv_layout &src = c.kv;
  const size_t es = src.dtype == KVP_F32 ? 4 : 2, row = size_t(src.head_dim) * es;
  Tiered t;
  t.cold.assign(cold.begin(), cold.end());
  t.start.assign(size_t(src.kv_heads), shift);
  const int coldCap = src.capacity, hotCap = src.capacity + shift;
  auto *ck = static_cast<uint8_t *>(kvp_tier_alloc(f, uint64_t(src.kv_heads) * coldCap * row));
  auto *cv = static_cast<uint8_t *>(kvp_tier_alloc(f, uint64_t(src.kv_heads) * coldCap * row));
  t.hot.assign(size_t(src.kv_heads) * hotCap * row * 2, 0xEE);  // keys then values; filler rows are garbage
  uint8_t *hk = t.hot.data(), *hv = hk + size_t(src.kv_heads) * hotCap * row;
  for (int h = 0; h < src.kv_heads; h++)
    for (int j = 0; j < src.lengths[h]; j++) {
      const uint8_t *k = static_cast<const uint8_t *>(src.keys) + (size_t(h) * src.capacity + j) * row;
      const uint8_t *v = static_cast<const uint8_t *>(src.values) + (size_t(h) * src.capacity + j) * row;
      const bool isCold = j < cold[h];
      const size_t at = isCold ? (size_t(h) * coldCap + j) * row : (size_t(h) * hotCap + shift + j - cold[h]) * row;
      std::memcpy((isCold ? ck : hk) + at, k, row);
      std::memcpy((isCold ? cv : hv) + at, v, row);
    }
  t.kv = src;
  t.kv.keys = hk;
  t.kv.values = hv;
  t.kv.cold_lengths = t.cold.data();
  t.kv.cold_keys = ck;
  t.kv.cold_values = cv;
  t.kv.cold_capacity = coldCap;
  t.kv.hot_capacity = hotCap;
  t.kv.hot_start = t.start.data();
  return t;
}

}  // namespace

TEST_CASE("tier file: unlinked at open, zeroed page-aligned regions, ENOSPC past max_bytes, bad directories named") {
  const std::string dir = temp_dir();
  CHECK(kvp_tier_open((dir + "/missing").c_str(), 1 << 20) == nullptr, "a missing directory fails");
  CHECK(std::string(kvp_last_error()).find("cannot create a file in " + dir + "/missing") != std::string::npos, std::string("names it: ") + kvp_last_error());
  kvp_tier_file *f = kvp_tier_open(dir.c_str(), 64 << 10);
  CHECK(f != nullptr, std::string("opens: ") + kvp_last_error());
  if (!f) return;
  CHECK(entries(dir) == 0, "the file is unlinked at open");
  auto *a = static_cast<uint8_t *>(kvp_tier_alloc(f, 10000));
  CHECK(a && uintptr_t(a) % 4096 == 0, "regions start on a page");
  bool zero = true;
  for (int i = 0; a && i < 10000; i++) zero &= a[i] == 0;
  CHECK(zero, "regions start zeroed");
  if (a) std::memset(a, 7, 10000);
  CHECK(kvp_tier_live_bytes(f) == 12288, "live bytes count whole pages");
  CHECK(kvp_tier_evict(f) == KVP_OK, std::string("evicts: ") + kvp_last_error());
  bool kept = true;
  for (int i = 0; a && i < 10000; i++) kept &= a[i] == 7;
  CHECK(kept, "evicted pages read back from the file as written");
  CHECK(kvp_tier_alloc(f, 60000) == nullptr, "past max_bytes fails");
  CHECK(std::string(kvp_last_error()).find("(ENOSPC)") != std::string::npos, std::string("as ENOSPC: ") + kvp_last_error());
  CHECK(kvp_tier_release(f, a, 10000) == KVP_OK && kvp_tier_live_bytes(f) == 0, "release returns the region");
  CHECK(kvp_tier_release(f, a + 1, 10) == KVP_EINVAL, "a pointer that is not a region is refused");
  kvp_tier_close(f);
  CHECK(entries(dir) == 0, "nothing left after close");
  rmdir(dir.c_str());
}

TEST_CASE("tiered kvp_attend equals the same cache untiered (every ISA, f32/f16/bf16, cold none/partial/all, decode and prefill)") {
  const std::string dir = temp_dir();
  kvp_tier_file *f = kvp_tier_open(dir.c_str(), uint64_t(1) << 30);
  CHECK(f != nullptr, std::string("opens: ") + kvp_last_error());
  if (!f) return;
  kt::Rng rng(11);
  const std::vector<int> lengths = {600, 333, 0};
  const std::vector<std::vector<int>> colds = {{0, 0, 0}, {301, 17, 0}, {600, 333, 0}};
  for (const std::string &isa : available_isas()) {
    kvp_set_isa(isa.c_str());
    for (kvp_dtype dt : {KVP_F32, KVP_F16, KVP_BF16}) {
      TestCache c = make_cache(3, 33, 640, dt, lengths, true, rng);
      for (const auto &cold : colds) {
        Tiered t = split(c, f, cold, 5);
        for (int n : {1, 6}) {
          const int qHeads = 6;
          std::vector<float> q(size_t(n) * qHeads * 33);
          for (auto &x : q) x = rng.uniform(-1.5f, 1.5f);
          std::vector<int32_t> qpos(n);
          for (int i = 0; i < n; i++) qpos[i] = n == 1 ? c.maxPos + 1 : (c.maxPos * (i + 1)) / n;
          std::vector<float> want(q.size()), got(q.size());
          std::vector<float> cumW(3 * 640), cumG(3 * 640);
          kvp_attend_args a{q.data(), n, qHeads, qpos.data(), nullptr, 0.2f, want.data()};
          kvp_stats_out sw{}, sg{};
          sw.cumulative = cumW.data();
          sg.cumulative = cumG.data();
          CHECK(kvp_attend(&a, &c.kv, &sw) == KVP_OK, kvp_last_error());
          a.out = got.data();
          CHECK(kvp_attend(&a, &t.kv, &sg) == KVP_OK, kvp_last_error());
          const std::string ctx = isa + " dtype " + std::to_string(dt) + " cold " + std::to_string(cold[0]) + "/" + std::to_string(cold[1]) + " n " + std::to_string(n);
          for (size_t i = 0; i < got.size(); i++)
            if (!(std::fabs(got[i] - want[i]) <= 2e-5f + 1e-4f * std::fabs(want[i]))) { CHECK(false, ctx + ": out[" + std::to_string(i) + "]"); break; }
          for (int h = 0; h < 3; h++)
            for (int j = 0; j < lengths[h]; j++) {
              const size_t i = size_t(h) * 640 + j;
              if (!(std::fabs(cumG[i] - cumW[i]) <= 2e-5f + 1e-4f * std::fabs(cumW[i]))) { CHECK(false, ctx + ": cumulative[" + std::to_string(i) + "]"); h = 3; break; }
            }
        }
      }
    }
  }
  kvp_set_isa(available_isas().back().c_str());
  kvp_tier_close(f);
  rmdir(dir.c_str());
}

TEST_CASE("kvp_attend refuses a tier that does not fit, naming the field") {
  kt::Rng rng(5);
  TestCache c = make_cache(2, 8, 16, KVP_F32, {10, 4}, true, rng);
  std::vector<float> cold(2 * 16 * 8), hot(2 * 16 * 8);
  std::vector<int32_t> coldLen = {3, 0}, start = {0, 0};
  kvp_kv_layout kv = c.kv;
  kv.keys = kv.values = hot.data();
  kv.cold_keys = kv.cold_values = cold.data();
  kv.cold_lengths = coldLen.data();
  kv.hot_start = start.data();
  kv.cold_capacity = 16;
  kv.hot_capacity = 16;
  std::vector<float> q(2 * 8, 0.1f), out(q.size());
  std::vector<int32_t> qpos = {100};
  kvp_attend_args a{q.data(), 1, 2, qpos.data(), nullptr, 0.3f, out.data()};
  CHECK(kvp_attend(&a, &kv, nullptr) == KVP_OK, std::string("a valid tier runs: ") + kvp_last_error());
  auto refused = [&](const char *what, const char *needle) {
    CHECK(kvp_attend(&a, &kv, nullptr) == KVP_EINVAL, std::string(what) + " must fail");
    CHECK(std::string(kvp_last_error()).find(needle) != std::string::npos, std::string(what) + ": '" + kvp_last_error() + "' names " + needle);
  };
  coldLen[0] = 11;
  refused("cold beyond the head's length", "cold_lengths[0] = 11");
  coldLen[0] = 3;
  start[1] = 13;
  refused("hot rows past hot_capacity", "hot_start[1] = 13");
  start[1] = 0;
  kv.dtype = KVP_INT8_FP8;
  refused("a tier over codes", "needs dense K/V");
}
