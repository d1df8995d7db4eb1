// Standalone CUDA test + benchmark: every CUDA kernel against the double-precision reference
// and the CPU kernels on random problems (dtypes × GQA × odd head dims × ragged lengths ×
// decode/prefill × all statistics), then device bandwidth: a triad kernel vs decode attention.
// Usage: kvprism_cuda_tests [--bench]. Exit 0 = all passed (or no device: prints why).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include "kvprism_cuda.h"
#include "reference.h"
#include "test_util.h"

static int failures = 0, checks = 0;

static void expect_close(const char *what, const std::string &ctx, const float *got, const std::vector<double> &want, size_t n,
                         double atol, double rtol, int cap = 0, const int32_t *lengths = nullptr) {
  for (size_t i = 0; i < n; i++) {
    if (lengths && int(i % cap) >= lengths[i / cap]) continue;
    checks++;
    const double err = std::fabs(got[i] - want[i]);
    if (!(err <= atol + rtol * std::fabs(want[i]))) {
      if (++failures < 30) std::printf("FAIL %s %s[%zu] = %g, reference %g\n", ctx.c_str(), what, i, got[i], want[i]);
      return;
    }
  }
}

static void attend_case(int H, int G, int D, int cap, int n, kvp_dtype dt, bool decode, kt::Rng &rng) {
  std::vector<int> lengths;
  for (int h = 0; h < H; h++) {
    const int pick = int(rng.below(4));
    lengths.push_back(pick == 0 ? 0 : pick == 1 ? 1 : pick == 2 ? cap : (int(rng.below(cap + 1)) | 1) % (cap + 1));
  }
  TestCache c = make_cache(H, D, cap, dt, lengths, true, rng);
  const int qHeads = H * G;
  std::vector<float> q(size_t(n) * qHeads * D), out(q.size()), cpuOut(q.size());
  for (auto &v : q) v = rng.uniform(-1.5f, 1.5f);
  std::vector<int32_t> qpos(n);
  std::vector<uint8_t> qmod(n);
  for (int i = 0; i < n; i++) {
    qpos[i] = decode ? c.maxPos + 1 + i : int(std::lround(double(c.maxPos + 2) * (i + 1) / n)) - 1;
    qmod[i] = uint8_t(rng.below(4));
  }
  kvp_attend_args a{q.data(), n, qHeads, qpos.data(), qmod.data(), 1.f / std::sqrt(float(D)), out.data()};
  const int W = std::max(1, n / 3);
  const size_t slots = size_t(H) * cap;
  std::vector<float> cum(slots), win(slots), last(slots), text(slots), red(slots), ent(size_t(H) * n);
  std::vector<double> flows(size_t(H) * 16);
  kvp_stats_out st{cum.data(), win.data(), W, last.data(), text.data(), red.data(), flows.data(), ent.data()};
  std::vector<double> ref;
  ref::Stats rs;
  ref::attend(a, c.kv, W, ref, rs);
  char ctx[160];
  std::snprintf(ctx, sizeof ctx, "[H=%d G=%d D=%d cap=%d n=%d dt=%d %s]", H, G, D, cap, n, int(dt), decode ? "decode" : "prefill");
  const int rc = kvp_cuda_attend(&a, &c.kv, &st);
  if (rc != KVP_OK) {
    failures++;
    std::printf("FAIL %s kvp_cuda_attend: %s\n", ctx, kvp_last_error());
    return;
  }
  const int32_t *L = c.lengths.data();
  expect_close("out", ctx, out.data(), ref, out.size(), 3e-5, 1e-3);
  expect_close("cumulative", ctx, cum.data(), rs.cumulative, slots, 1e-4, 2e-3, cap, L);
  expect_close("window", ctx, win.data(), rs.window, slots, 1e-4, 2e-3, cap, L);
  expect_close("lastQuery", ctx, last.data(), rs.lastQuery, slots, 1e-4, 2e-3, cap, L);
  expect_close("textColumn", ctx, text.data(), rs.textColumn, slots, 1e-4, 2e-3, cap, L);
  expect_close("redistributed", ctx, red.data(), rs.redistributed, slots, 1e-3, 2e-3, cap, L);
  std::vector<float> fl(flows.begin(), flows.end());
  expect_close("flows", ctx, fl.data(), rs.flows, fl.size(), 1e-4, 2e-3);
  expect_close("rowEntropy", ctx, ent.data(), rs.rowEntropy, ent.size(), 5e-4, 2e-3);
  // And the CPU kernels on the same problem (no statistics): CUDA ≡ CPU within tolerance.
  kvp_attend_args b = a;
  b.out = cpuOut.data();
  kvp_attend(&b, &c.kv, nullptr);
  std::vector<double> cpu(cpuOut.begin(), cpuOut.end());
  expect_close("out vs cpu", ctx, out.data(), cpu, out.size(), 3e-5, 1e-3);
}

static void cache_ops_cases(kt::Rng &rng) {
  for (kvp_dtype dt : {KVP_F32, KVP_F16, KVP_BF16}) {
    TestCache c = make_cache(2, 40, 50, dt, {50, 50}, true, rng);
    const size_t eb = dt == KVP_F32 ? 4 : 2, bytes = 2 * 50 * 40 * eb;
    std::vector<uint8_t> gpu(bytes), cpu(bytes);
    std::memcpy(gpu.data(), c.kv.keys, bytes);
    std::memcpy(cpu.data(), c.kv.keys, bytes);
    std::vector<int32_t> keep;
    for (int j = 0; j < 50; j++) if (rng.below(3)) keep.push_back(j);
    checks++;
    if (kvp_cuda_compact(gpu.data(), eb, 40, 2, 50, 1, keep.data(), int(keep.size())) != KVP_OK ||
        kvp_compact(cpu.data(), eb, 40, 2, 50, 1, keep.data(), int(keep.size())) != KVP_OK || gpu != cpu) {
      failures++;
      std::printf("FAIL compact dtype %d: %s\n", int(dt), kvp_last_error());
    }
    const int32_t from[] = {3, 7, 9};
    const float w[] = {0.2f, 0.3f, 0.5f};
    checks++;
    if (kvp_cuda_merge(gpu.data(), dt, 100, 40, 7, from, w, 3) != KVP_OK || kvp_merge(cpu.data(), dt, 100, 40, 7, from, w, 3) != KVP_OK) {
      failures++;
      std::printf("FAIL merge dtype %d: %s\n", int(dt), kvp_last_error());
    }
    kvp_kv_layout g = c.kv, h = c.kv;
    g.keys = gpu.data(); g.capacity = 100; g.kv_heads = 1;
    h.keys = cpu.data(); h.capacity = 100; h.kv_heads = 1;
    std::vector<double> want(40);
    std::vector<float> got(40);
    for (int d = 0; d < 40; d++) { got[d] = ref::kv_at(g, g.keys, 0, 7, d); want[d] = ref::kv_at(h, h.keys, 0, 7, d); }
    expect_close("merge row", "[cache ops]", got.data(), want, 40, dt == KVP_F32 ? 1e-6 : 1e-2, 1e-2);
  }
}

void run_bench();  // cuda_bench.cu

int main(int argc, char **argv) {
  const int devices = kvp_cuda_device_count();
  if (devices == 0) {
    std::printf("skipped: %s\n", kvp_cuda_device_name());
    return 0;
  }
  std::printf("device: %s\n", kvp_cuda_device_name());
  kt::Rng rng(77);
  int cases = 0;
  for (int D : {8, 63, 80, 128, 256})
    for (int G : {1, 2, 4, 7})
      for (kvp_dtype dt : {KVP_F32, KVP_F16, KVP_BF16}) {
        const bool decode = (cases % 2) == 0;
        attend_case(1 + cases % 3, G, D, 1 + int(rng.below(400)), decode ? 1 + int(rng.below(2)) : 2 + int(rng.below(60)), dt, decode, rng);
        cases++;
      }
  attend_case(2, 4, 128, 6000, 1, KVP_F16, true, rng);
  attend_case(1, 7, 80, 1500, 100, KVP_BF16, false, rng);
  cases += 2;
  cache_ops_cases(rng);
  std::printf("%d attention cases + cache ops: %d checks, %d failed\n", cases, checks, failures);
  if (argc > 1 && !std::strcmp(argv[1], "--bench")) run_bench();
  return failures ? 1 : 0;
}
