// Standalone decode-attention bandwidth benchmark (no Node): STREAM triad vs kvp_attend at
// 1k/8k/32k tokens × 8 KV heads × dim 128, GQA 4, f32 and f16, statistics off and all on.
// Usage: kvprism_bench_decode [threads]   (prints ratios, asserts nothing)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "../src/cpu/half.h"
#include "kvprism.h"

namespace {

template <class F> double time_ms(F &&f, int reps) {
  f();
  std::vector<double> t;
  for (int i = 0; i < reps; i++) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
  if (argc > 1) kvp_set_threads(std::atoi(argv[1]));
  const int H = 8, G = 4, D = 128;
  const double triad = kvp_stream_triad(256, 5);
  const double read = kvp_stream_read(256, 5);
  std::printf("isa %s, %d threads, triad %.1f GB/s, read-only %.1f GB/s\n", kvp_isa(), kvp_threads(), triad, read);
  std::printf("tokens dtype  ms(none)  GB/s  ÷triad  ms(all stats)  stats÷none\n");
  for (kvp_dtype dt : {KVP_F32, KVP_F16}) {
    for (int len : {1024, 8192, 32768}) {
      const size_t elems = size_t(H) * len * D;
      std::vector<float> k32(dt == KVP_F32 ? elems : 0, 0.01f), v32(dt == KVP_F32 ? elems : 0, 0.02f);
      std::vector<uint16_t> k16(dt == KVP_F32 ? 0 : elems, kvp::f32_to_f16(0.01f)), v16(dt == KVP_F32 ? 0 : elems, kvp::f32_to_f16(0.02f));
      for (size_t i = 0; i < elems; i += 97) { if (dt == KVP_F32) k32[i] = float(i % 13) * 0.1f; else k16[i] = kvp::f32_to_f16(float(i % 13) * 0.1f); }
      std::vector<int32_t> lengths(H, len), pos(size_t(H) * len);
      for (int h = 0; h < H; h++) for (int j = 0; j < len; j++) pos[size_t(h) * len + j] = j;
      std::vector<uint8_t> mod(size_t(H) * len, 0);
      kvp_kv_layout kv{H, D, len, dt, dt == KVP_F32 ? (const void *)k32.data() : k16.data(), dt == KVP_F32 ? (const void *)v32.data() : v16.data(), lengths.data(), pos.data(), mod.data()};
      std::vector<float> q(size_t(H) * G * D, 0.05f), out(q.size());
      int32_t qpos = len;
      uint8_t qmod = 0;
      kvp_attend_args a{q.data(), 1, H * G, &qpos, &qmod, 0.088f, out.data()};
      std::vector<float> s1(size_t(H) * len), s2(size_t(H) * len), s3(size_t(H) * len), s4(size_t(H) * len), s5(size_t(H) * len), ent(H);
      std::vector<double> flows(size_t(H) * 16);
      kvp_stats_out st{s1.data(), s2.data(), 32, s3.data(), s4.data(), s5.data(), flows.data(), ent.data()};
      const int reps = len >= 32768 ? 21 : 51;
      const double none = time_ms([&] { kvp_attend(&a, &kv, nullptr); }, reps);
      const double all = time_ms([&] { kvp_attend(&a, &kv, &st); }, reps);
      const double gbs = 2.0 * elems * (dt == KVP_F32 ? 4 : 2) / (none * 1e6);
      std::printf("%6d %-5s %9.3f %5.1f %7.2f %14.3f %11.2f\n", len, dt == KVP_F32 ? "f32" : "f16", none, gbs, gbs / triad, all, all / none);
    }
  }
  return 0;
}
