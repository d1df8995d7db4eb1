// kvp_attend over coded storage (int8-fp8, KIVI int4 / int2) against the double-precision
// reference run on the same cache decoded to f32 by this file's own scalar decoder: every ISA
// × GQA ratio × odd head dims × group sizes that do and do not fill whole vectors × lengths
// 0 / 1 / odd / several KV splits × KIVI residual windows empty, partial and whole × key groups
// shortened by compaction × decode and prefill × all statistics. Plus the C ABI's checks.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include "../src/cpu/attend_plan.h"
#include "harness.h"
#include "reference.h"
#include "test_util.h"

namespace {

/** e4m3 code → value, written from the format's definition (not the kernels' bit trick). */
double e4m3(uint8_t b) {
  const int e = (b >> 3) & 15, m = b & 7;
  const double mag = e == 0 ? m * std::ldexp(1.0, -9) : (1 + m / 8.0) * std::ldexp(1.0, e - 7);
  return (b & 0x80) ? -mag : mag;
}

int code_at(const uint8_t *row, int c, int bits) {
  const int per = 8 / bits;
  return (row[c / per] >> ((c % per) * bits)) & ((1 << bits) - 1);
}

/** A random coded cache with owned storage, and the same cache decoded to f32. */
struct CodedCache {
  kvp_dtype dt;
  int H, D, cap, G, ng, rowBytes;
  std::vector<std::vector<uint8_t>> kc, vc;
  std::vector<std::vector<float>> ksm, vs, rk, rv;
  std::vector<std::vector<int32_t>> glen;
  std::vector<kvp_coded_head> heads;
  TestCache meta;  // lengths, positions, modality; its dense K/V are overwritten with the decode
  kvp_kv_layout coded{};
};

/** residualPick: 0 = no residual, 1 = partial, 2 = every slot residual, 3 = random. */
CodedCache make_coded(int H, int D, int cap, int G, kvp_dtype dt, const std::vector<int> &lengths, int residualPick, kt::Rng &rng) {
  CodedCache c;
  c.dt = dt; c.H = H; c.D = D; c.cap = cap; c.G = G; c.ng = (D + G - 1) / G;
  const int bits = dt == KVP_INT4 ? 4 : dt == KVP_INT2 ? 2 : 8;
  c.rowBytes = (D * bits + 7) / 8;
  c.meta = make_cache(H, D, cap, KVP_F32, lengths, true, rng);
  c.kc.resize(H); c.vc.resize(H); c.ksm.resize(H); c.vs.resize(H); c.rk.resize(H); c.rv.resize(H); c.glen.resize(H);
  c.heads.resize(H);
  for (int h = 0; h < H; h++) {
    const int len = lengths[h];
    float *K = c.meta.k32.data() + size_t(h) * cap * D, *V = c.meta.v32.data() + size_t(h) * cap * D;
    kvp_coded_head &ch = c.heads[h];
    if (dt == KVP_INT8_FP8) {
      c.kc[h].resize(size_t(len) * D + 1); c.vc[h].resize(size_t(len) * D + 1);
      c.ksm[h].resize(size_t(len) * c.ng * 2 + 1); c.vs[h].resize(size_t(len) * c.ng + 1);
      for (auto &b : c.kc[h]) b = uint8_t(rng.below(256));
      for (auto &b : c.vc[h]) { b = uint8_t(rng.below(256)); if ((b & 0x7f) == 0x7f) b ^= 1; }  // no NaN codes
      for (size_t i = 0; i + 1 < c.ksm[h].size(); i += 2) { c.ksm[h][i] = rng.uniform(0.f, 2.f / 255); c.ksm[h][i + 1] = rng.uniform(-1.f, 0.f); }
      for (auto &s : c.vs[h]) s = rng.uniform(0.f, 1.f / 448);
      for (int j = 0; j < len; j++)
        for (int d = 0; d < D; d++) {
          const float *sm = c.ksm[h].data() + (size_t(j) * c.ng + d / G) * 2;
          K[size_t(j) * D + d] = float(double(sm[1]) + double(sm[0]) * c.kc[h][size_t(j) * D + d]);
          V[size_t(j) * D + d] = float(double(c.vs[h][size_t(j) * c.ng + d / G]) * e4m3(c.vc[h][size_t(j) * D + d]));
        }
      ch = {c.kc[h].data(), c.vc[h].data(), c.ksm[h].data(), c.vs[h].data(), nullptr, 0, 0, nullptr, nullptr};
      continue;
    }
    // KIVI: key groups of 1..G slots (compaction shortens groups), then the f32 residual.
    int residual = residualPick == 0 ? 0 : residualPick == 2 ? len : residualPick == 1 ? std::min(len, 1 + int(rng.below(G + 3))) : int(rng.below(len + 1));
    if (len == 0) residual = 0;
    const int codedN = len - residual;
    for (int left = codedN; left > 0;) {
      const int g = std::min(left, rng.below(3) == 0 ? 1 + int(rng.below(G)) : G);
      c.glen[h].push_back(g);
      left -= g;
    }
    const int groups = int(c.glen[h].size());
    c.kc[h].resize(size_t(codedN) * c.rowBytes + 1); c.vc[h].resize(size_t(codedN) * c.rowBytes + 1);
    c.ksm[h].resize(size_t(groups) * D * 2 + 1); c.vs[h].resize(size_t(codedN) * c.ng * 2 + 1);
    c.rk[h].resize(size_t(residual) * D + 1); c.rv[h].resize(size_t(residual) * D + 1);
    for (auto &b : c.kc[h]) b = uint8_t(rng.below(256));
    for (auto &b : c.vc[h]) b = uint8_t(rng.below(256));
    const float step = 2.f / float((1 << bits) - 1);
    for (size_t i = 0; i + 1 < c.ksm[h].size(); i += 2) { c.ksm[h][i] = rng.uniform(0.f, step); c.ksm[h][i + 1] = rng.uniform(-1.f, 0.f); }
    for (size_t i = 0; i + 1 < c.vs[h].size(); i += 2) { c.vs[h][i] = rng.uniform(0.f, step); c.vs[h][i + 1] = rng.uniform(-1.f, 0.f); }
    for (auto &x : c.rk[h]) x = rng.uniform(-1.f, 1.f);
    for (auto &x : c.rv[h]) x = rng.uniform(-1.f, 1.f);
    for (int g = 0, j = 0; g < groups; g++)
      for (int t = 0; t < c.glen[h][g]; t++, j++)
        for (int d = 0; d < D; d++) {
          const float *ks = c.ksm[h].data() + (size_t(g) * D + d) * 2, *vsm = c.vs[h].data() + (size_t(j) * c.ng + d / G) * 2;
          K[size_t(j) * D + d] = float(double(ks[1]) + double(ks[0]) * code_at(c.kc[h].data() + size_t(j) * c.rowBytes, d, bits));
          V[size_t(j) * D + d] = float(double(vsm[1]) + double(vsm[0]) * code_at(c.vc[h].data() + size_t(j) * c.rowBytes, d, bits));
        }
    std::copy(c.rk[h].begin(), c.rk[h].end() - 1, K + size_t(codedN) * D);
    std::copy(c.rv[h].begin(), c.rv[h].end() - 1, V + size_t(codedN) * D);
    ch = {c.kc[h].data(), c.vc[h].data(), c.ksm[h].data(), c.vs[h].data(), c.glen[h].data(), groups, codedN, c.rk[h].data(), c.rv[h].data()};
  }
  c.coded = c.meta.kv;
  c.coded.dtype = dt;
  c.coded.keys = c.coded.values = nullptr;
  c.coded.group = G;
  c.coded.coded = c.heads.data();
  return c;
}

void expect_close(const char *what, const std::string &ctx, const float *got, const std::vector<double> &want, size_t count,
                  double atol, double rtol, int cap = 0, const int32_t *lengths = nullptr) {
  for (size_t i = 0; i < count; i++) {
    if (lengths && int(i % cap) >= lengths[i / cap]) continue;
    if (!(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      CHECK(false, ctx + " " + what + "[" + std::to_string(i) + "] = " + std::to_string(got[i]) + ", reference " + std::to_string(want[i]));
      return;
    }
  }
}

struct CodedShape {
  int H, G, D, cap, n, group;
  kvp_dtype dt;
  bool decode;
  int residualPick;
  std::vector<int> lengths;
};

void run_coded(const CodedShape &s, kt::Rng &rng, const std::string &tag) {
  CodedCache c = make_coded(s.H, s.D, s.cap, s.group, s.dt, s.lengths, s.residualPick, rng);
  const int qHeads = s.H * s.G;
  std::vector<float> q(size_t(s.n) * qHeads * s.D);
  for (auto &v : q) v = rng.uniform(-1.5f, 1.5f);
  std::vector<int32_t> qpos(s.n);
  std::vector<uint8_t> qmod(s.n);
  for (int i = 0; i < s.n; i++) {
    qpos[i] = s.decode ? c.meta.maxPos + 1 + i : int(std::lround(double(c.meta.maxPos + 2) * (i + 1) / s.n)) - 1;
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
  ref::attend(a, c.meta.kv, W, refOut, rs);
  char buf[200];
  std::snprintf(buf, sizeof buf, "[%s H=%d G=%d D=%d group=%d cap=%d n=%d dt=%d res=%d %s]", tag.c_str(), s.H, s.G, s.D, s.group, s.cap, s.n,
                int(s.dt), s.residualPick, s.decode ? "decode" : "prefill");
  for (size_t cacheLimit : {size_t(8) << 20, size_t(0)}) {
    kvp::g_scoreCacheFloats = cacheLimit;
    const std::string ctx = std::string(buf) + (cacheLimit ? "" : " recompute");
    for (bool withStats : {true, false}) {
      const int rc = kvp_attend(&a, &c.coded, withStats ? &st : nullptr);
      CHECK(rc == KVP_OK, ctx + " kvp_attend failed: " + kvp_last_error());
      expect_close("out", ctx, out.data(), refOut, out.size(), 2e-5, 2e-4);
      if (!withStats) continue;
      const int32_t *L = c.meta.lengths.data();
      expect_close("cumulative", ctx, cum.data(), rs.cumulative, slots, 2e-5, 1e-3, s.cap, L);
      expect_close("window", ctx, win.data(), rs.window, slots, 2e-5, 1e-3, s.cap, L);
      expect_close("lastQuery", ctx, last.data(), rs.lastQuery, slots, 2e-5, 1e-3, s.cap, L);
      expect_close("textColumn", ctx, text.data(), rs.textColumn, slots, 2e-5, 1e-3, s.cap, L);
      expect_close("redistributed", ctx, red.data(), rs.redistributed, slots, 2e-4, 1e-3, s.cap, L);
      std::vector<float> fl(flows.begin(), flows.end());
      expect_close("flows", ctx, fl.data(), rs.flows, fl.size(), 1e-4, 1e-3);
      expect_close("rowEntropy", ctx, ent.data(), rs.rowEntropy, ent.size(), 2e-4, 1e-3);
    }
  }
  kvp::g_scoreCacheFloats = size_t(8) << 20;
}

std::vector<CodedShape> coded_shapes(kt::Rng &rng) {
  std::vector<CodedShape> out;
  const int dims[] = {8, 63, 64, 80, 128};
  const int gqa[] = {1, 2, 4, 7};
  // 16 and 32 fill whole AVX2 / AVX-512 vectors; 1, 5, 8 and 24 make some vectors span groups.
  const int groupSizes[] = {32, 5, 16, 1, 8, 24};
  const kvp_dtype dts[] = {KVP_INT8_FP8, KVP_INT4, KVP_INT2};
  int k = 0;
  for (int D : dims)
    for (int G : gqa)
      for (kvp_dtype dt : dts) {
        CodedShape s;
        s.H = 1 + (k % 3);
        s.G = G; s.D = D; s.dt = dt;
        s.group = groupSizes[k % 6];
        s.cap = 1 + int(rng.below(300));
        s.decode = (k % 2) == 0;
        s.n = s.decode ? 1 + int(rng.below(2)) : 2 + int(rng.below(40));
        s.residualPick = k % 4;
        for (int h = 0; h < s.H; h++) {
          const int pick = int(rng.below(5));
          s.lengths.push_back(std::min(s.cap, pick == 0 ? 0 : pick == 1 ? 1 : pick == 2 ? s.cap : int(rng.below(s.cap + 1)) | 1));
        }
        out.push_back(s);
        k++;
      }
  // Long caches: several KV splits per head (split-K combine), KIVI groups across block edges.
  out.push_back({2, 4, 128, 3000, 1, 32, KVP_INT8_FP8, true, 0, {3000, 2001}});
  out.push_back({2, 4, 128, 3000, 1, 32, KVP_INT4, true, 1, {3000, 1999}});
  out.push_back({1, 7, 64, 2100, 1, 16, KVP_INT2, true, 3, {2099}});
  out.push_back({2, 2, 64, 700, 70, 32, KVP_INT4, false, 1, {700, 513}});
  // The kernel bench's G = 64 (bench/kernels.ts) at its head dim.
  out.push_back({2, 4, 128, 1500, 1, 64, KVP_INT8_FP8, true, 0, {1500, 777}});
  out.push_back({2, 4, 128, 1500, 1, 64, KVP_INT4, true, 1, {1500, 1301}});
  out.push_back({1, 4, 128, 1100, 1, 64, KVP_INT2, true, 2, {1100}});
  return out;
}

}  // namespace

TEST_CASE("coded attend (int8-fp8, int4, int2) matches the reference on every ISA") {
  for (const std::string &isa : available_isas()) {
    kt::Rng rng(4321);
    kvp_set_isa(isa.c_str());
    for (int threads : {1, 3}) {
      kvp_set_threads(threads);
      kvp::g_fusePass2 = threads == 1;
      for (const CodedShape &s : coded_shapes(rng)) run_coded(s, rng, isa + "/t" + std::to_string(threads));
    }
  }
  kvp::g_fusePass2 = true;
  kvp_set_isa(available_isas().back().c_str());
}

TEST_CASE("coded attend rejects bad layouts with a message") {
  kt::Rng rng(9);
  std::vector<float> q(2 * 8), out(2 * 8);
  std::vector<int32_t> qpos{1000};
  kvp_attend_args a{q.data(), 1, 2, qpos.data(), nullptr, 0.3f, out.data()};
  auto expectFail = [&](const kvp_kv_layout &kv, const std::string &needle, const std::string &what) {
    CHECK(kvp_attend(&a, &kv, nullptr) == KVP_EINVAL, what + " must fail");
    CHECK(std::string(kvp_last_error()).find(needle) != std::string::npos, what + ": message '" + kvp_last_error() + "' names " + needle);
  };
  CodedCache c = make_coded(2, 8, 40, 4, KVP_INT4, {40, 30}, 1, rng);
  CHECK(kvp_attend(&a, &c.coded, nullptr) == KVP_OK, std::string("a valid KIVI layout runs: ") + kvp_last_error());
  kvp_kv_layout bad = c.coded;
  bad.group = 0;
  expectFail(bad, "kv.group", "group 0");
  bad.group = KVP_MAX_GROUP + 1;
  expectFail(bad, "kv.group", "group past KVP_MAX_GROUP");
  bad = c.coded;
  bad.coded = nullptr;
  expectFail(bad, "kv.coded", "null coded heads");
  bad = c.coded;
  bad.head_dim = 70000;
  expectFail(bad, "kv.head_dim", "a head dim past 65536");
  std::vector<kvp_coded_head> heads = c.heads;
  bad = c.coded;
  bad.coded = heads.data();
  heads[0].coded = 41;
  expectFail(bad, "kv.coded[0].coded", "coded past the length");
  heads = c.heads;
  heads[1].residual_keys = nullptr;
  expectFail(bad, "residual_keys", "null residual with residual slots");
  heads = c.heads;
  if (heads[0].key_groups > 0) {
    std::vector<int32_t> glen(c.glen[0]);
    glen[0] = 5;  // > G = 4
    heads[0].group_len = glen.data();
    expectFail(bad, "group_len[0]", "a key group longer than G");
    glen[0] = c.glen[0][0] == 1 ? 2 : 1;  // the groups no longer tile the coded slots
    expectFail(bad, "key groups hold", "key groups that do not sum to coded");
  }
  heads = c.heads;
  heads[0].value_codes = nullptr;
  expectFail(bad, "must not be null", "null value codes");
  bad = c.coded;
  bad.dtype = kvp_dtype(9);
  expectFail(bad, "kv.dtype", "an unknown dtype");
  CodedCache e = make_coded(1, 8, 4, 8, KVP_INT8_FP8, {4}, 0, rng);
  std::vector<kvp_coded_head> eh = e.heads;
  bad = e.coded;
  bad.coded = eh.data();
  eh[0].key_scale_min = nullptr;
  std::vector<float> q1(8), out1(8);
  a = {q1.data(), 1, 1, qpos.data(), nullptr, 0.3f, out1.data()};
  expectFail(bad, "key_scale_min", "null int8 key scales");
}
