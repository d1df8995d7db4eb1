// kvp_attend against the double-precision reference: every ISA this CPU runs × dtype × GQA
// ratio × odd head dims × ragged lengths (0, 1, odd, long) × causal prefill and decode ×
// all statistics, with and without the pass-1 score cache, on 1 and 3 threads.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include "../src/cpu/attend_plan.h"
#include "../src/cpu/half.h"
namespace kvp { extern bool g_rowOrder; }
#include "harness.h"
#include "reference.h"
#include "test_util.h"

namespace {

struct Shape {
  int H, G, D, cap, n;
  kvp_dtype dt;
  bool decode, sortedPositions;
  std::vector<int> lengths;
};

void compare(const char *what, const std::string &ctx, const float *got, const std::vector<double> &want, size_t count,
             double atol, double rtol, int H = 0, int cap = 0, const int32_t *lengths = nullptr) {
  for (size_t i = 0; i < count; i++) {
    if (lengths && int(i % cap) >= lengths[i / cap]) continue;  // beyond len[h]: unused
    const double err = std::fabs(got[i] - want[i]);
    if (!(err <= atol + rtol * std::fabs(want[i]))) {
      CHECK(false, ctx + " " + what + "[" + std::to_string(i) + "] = " + std::to_string(got[i]) + ", reference " + std::to_string(want[i]));
      return;
    }
  }
  (void)H;
}

void run_shape(const Shape &s, kt::Rng &rng, const std::string &isa) {
  TestCache c = make_cache(s.H, s.D, s.cap, s.dt, s.lengths, s.sortedPositions, rng);
  const int qHeads = s.H * s.G;
  std::vector<float> q(size_t(s.n) * qHeads * s.D);
  for (auto &v : q) v = rng.uniform(-1.5f, 1.5f);
  std::vector<int32_t> qpos(s.n);
  std::vector<uint8_t> qmod(s.n);
  const int maxPos = c.maxPos;
  for (int i = 0; i < s.n; i++) {
    // Decode: after every cached slot. Prefill: a causal staircase through the cache.
    qpos[i] = s.decode ? maxPos + 1 + i : int(std::lround(double(maxPos + 2) * (i + 1) / s.n)) - 1;
    qmod[i] = uint8_t(rng.below(4));
  }
  std::vector<float> out(q.size(), -7.f);
  kvp_attend_args a{q.data(), s.n, qHeads, qpos.data(), qmod.data(), 1.f / std::sqrt(float(s.D)), out.data()};
  const int W = std::max(1, s.n / 3);
  const size_t slots = size_t(s.H) * s.cap;
  std::vector<float> cum(slots, 9), win(slots, 9), last(slots, 9), text(slots, 9), red(slots, 9), ent(size_t(s.H) * s.n, 9);
  std::vector<double> flows(size_t(s.H) * 16, 9);
  kvp_stats_out st{cum.data(), win.data(), W, last.data(), text.data(), red.data(), flows.data(), ent.data()};
  std::vector<double> refOut;
  ref::Stats rs;
  ref::attend(a, c.kv, W, refOut, rs);
  char buf[200];
  std::snprintf(buf, sizeof buf, "[%s H=%d G=%d D=%d cap=%d n=%d dt=%d %s]", isa.c_str(), s.H, s.G, s.D, s.cap, s.n, int(s.dt),
                s.decode ? "decode" : "prefill");
  for (size_t cacheLimit : {size_t(8) << 20, size_t(0)}) {
    kvp::g_scoreCacheFloats = cacheLimit;
    const std::string ctx = std::string(buf) + (cacheLimit ? "" : " recompute");
    for (bool withStats : {true, false}) {
      const int rc = kvp_attend(&a, &c.kv, withStats ? &st : nullptr);
      CHECK(rc == KVP_OK, ctx + " kvp_attend failed: " + kvp_last_error());
      compare("out", ctx, out.data(), refOut, out.size(), 2e-5, 2e-4);
      if (!withStats) continue;
      const int32_t *L = c.lengths.data();
      compare("cumulative", ctx, cum.data(), rs.cumulative, slots, 2e-5, 1e-3, s.H, s.cap, L);
      compare("window", ctx, win.data(), rs.window, slots, 2e-5, 1e-3, s.H, s.cap, L);
      compare("lastQuery", ctx, last.data(), rs.lastQuery, slots, 2e-5, 1e-3, s.H, s.cap, L);
      compare("textColumn", ctx, text.data(), rs.textColumn, slots, 2e-5, 1e-3, s.H, s.cap, L);
      compare("redistributed", ctx, red.data(), rs.redistributed, slots, 2e-4, 1e-3, s.H, s.cap, L);
      std::vector<float> fl(flows.begin(), flows.end());
      compare("flows", ctx, fl.data(), rs.flows, fl.size(), 1e-4, 1e-3);
      compare("rowEntropy", ctx, ent.data(), rs.rowEntropy, ent.size(), 2e-4, 1e-3);
    }
  }
  kvp::g_scoreCacheFloats = size_t(8) << 20;
}

std::vector<Shape> shapes(kt::Rng &rng) {
  std::vector<Shape> out;
  // 64, 128 and 256 also take the AVX-512 row-order kernels for f32 (D = 4, 8, 16 vectors).
  const int dims[] = {8, 63, 64, 80, 128, 256};
  const int groups[] = {1, 2, 4, 7};
  const kvp_dtype dts[] = {KVP_F32, KVP_F16, KVP_BF16};
  int k = 0;
  for (int D : dims)
    for (int G : groups)
      for (kvp_dtype dt : dts) {
        Shape s;
        s.H = 1 + (k % 3);
        s.G = G; s.D = D; s.dt = dt;
        s.cap = 1 + int(rng.below(300));
        s.decode = (k % 2) == 0;
        s.n = s.decode ? 1 + int(rng.below(2)) : 2 + int(rng.below(40));
        s.sortedPositions = (k % 5) != 4;
        for (int h = 0; h < s.H; h++) {
          const int pick = int(rng.below(5));
          s.lengths.push_back(pick == 0 ? 0 : pick == 1 ? 1 : pick == 2 ? s.cap : int(rng.below(s.cap + 1)) | 1);
        }
        for (auto &l : s.lengths) l = std::min(l, s.cap);
        out.push_back(s);
        k++;
      }
  // Long caches: several KV splits per head (split-K combine) and the 64-slot block edges.
  out.push_back({2, 4, 128, 5000, 1, KVP_F16, true, true, {5000, 3001}});
  out.push_back({1, 7, 80, 2100, 1, KVP_BF16, true, true, {2099}});
  out.push_back({2, 2, 64, 700, 96, KVP_F32, false, true, {700, 513}});
  // One-token f32 decode: the AVX-512 row-order kernels (odd G, unsorted positions, lengths
  // 0 / 1 / under one 4-slot step / several blocks).
  out.push_back({2, 4, 128, 1000, 1, KVP_F32, true, true, {1000, 517}});
  out.push_back({3, 7, 64, 300, 1, KVP_F32, true, false, {0, 1, 299}});
  out.push_back({1, 1, 256, 77, 1, KVP_F32, true, true, {77}});
  out.push_back({2, 3, 128, 5, 1, KVP_F32, true, true, {3, 5}});
  return out;
}

}  // namespace

TEST_CASE("attend matches the reference on every ISA") {
  std::printf("ISAs under test:");
  for (const std::string &isa : available_isas()) std::printf(" %s", isa.c_str());
  std::printf("\n");
  for (const std::string &isa : available_isas()) {
    kt::Rng rng(1234);
    kvp_set_isa(isa.c_str());
    for (int threads : {1, 3}) {
      kvp_set_threads(threads);
      // Threads 1: the row-order kernels where they fit (f32 one-token decode, AVX-512, D of
      // 4, 8 or 16 vectors) and pass 2 fused into pass 1 where a task holds a whole head;
      // 3: the interleaved kernels and a separate pass 2 everywhere.
      kvp::g_rowOrder = kvp::g_fusePass2 = threads == 1;
      const std::string tag = isa + "/t" + std::to_string(threads) + (threads == 1 ? "/row-order+fused" : "/interleaved");
      for (const Shape &s : shapes(rng)) run_shape(s, rng, tag);
    }
  }
  kvp::g_rowOrder = kvp::g_fusePass2 = true;
  kvp_set_isa(available_isas().back().c_str());
}

TEST_CASE("attend rejects bad arguments with a message") {
  kt::Rng rng(7);
  TestCache c = make_cache(2, 8, 4, KVP_F32, {4, 2}, true, rng);
  std::vector<float> q(3 * 8), out(3 * 8);
  std::vector<int32_t> qpos{10};
  kvp_attend_args a{q.data(), 1, 3, qpos.data(), nullptr, 0.3f, out.data()};
  CHECK(kvp_attend(&a, &c.kv, nullptr) == KVP_EINVAL, "q_heads not a multiple of kv_heads must fail");
  CHECK(std::string(kvp_last_error()).find("q_heads") != std::string::npos, "message names q_heads");
  a.q_heads = 2;
  c.lengths[1] = 5;
  CHECK(kvp_attend(&a, &c.kv, nullptr) == KVP_EINVAL, "length > capacity must fail");
  c.lengths[1] = 2;
  float cum[8];
  kvp_stats_out st{};
  st.text_column = cum;
  CHECK(kvp_attend(&a, &c.kv, &st) == KVP_EINVAL, "text_column without q_modality must fail");
  a.scale = -1.f;
  CHECK(kvp_attend(&a, &c.kv, nullptr) == KVP_EINVAL, "negative scale must fail");
}
