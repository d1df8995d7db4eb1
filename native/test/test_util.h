// Random caches and helpers shared by the native tests.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>
#include "../src/cpu/half.h"
#include "kvprism.h"

namespace kt {
struct Rng {
  std::mt19937 g;
  explicit Rng(uint32_t seed) : g(seed) {}
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g); }
  uint32_t below(uint32_t n) { return n ? uint32_t(g() % n) : 0; }
};
}  // namespace kt

/** A cache with owned storage; kv points into it. */
struct TestCache {
  std::vector<float> k32, v32;
  std::vector<uint16_t> k16, v16;
  std::vector<int32_t> lengths, positions;
  std::vector<uint8_t> modality;
  kvp_kv_layout kv{};
  int maxPos = 0;
};

inline uint16_t encode16(float x, kvp_dtype dt) { return dt == KVP_BF16 ? kvp::f32_to_bf16(x) : kvp::f32_to_f16(x); }

/** Random K/V in [-1, 1]; positions ascending with gaps (a compacted cache) or shuffled. */
inline TestCache make_cache(int H, int D, int cap, kvp_dtype dt, const std::vector<int> &lengths, bool sorted, kt::Rng &rng) {
  TestCache c;
  const size_t n = size_t(H) * cap * D;
  std::vector<float> k(n), v(n);
  for (auto &x : k) x = rng.uniform(-1.f, 1.f);
  for (auto &x : v) x = rng.uniform(-1.f, 1.f);
  if (dt == KVP_F32) { c.k32 = k; c.v32 = v; }
  else {
    c.k16.resize(n); c.v16.resize(n);
    for (size_t i = 0; i < n; i++) { c.k16[i] = encode16(k[i], dt); c.v16[i] = encode16(v[i], dt); }
  }
  c.lengths.assign(lengths.begin(), lengths.end());
  c.positions.resize(size_t(H) * cap);
  c.modality.resize(size_t(H) * cap);
  for (int h = 0; h < H; h++) {
    int pos = int(rng.below(3));
    for (int j = 0; j < cap; j++) {
      c.positions[size_t(h) * cap + j] = pos;
      pos += 1 + int(rng.below(3));
    }
    if (!sorted) std::shuffle(c.positions.begin() + size_t(h) * cap, c.positions.begin() + size_t(h + 1) * cap, rng.g);
    for (int j = 0; j < cap; j++) {
      c.modality[size_t(h) * cap + j] = uint8_t(rng.below(4));
      if (j < lengths[h]) c.maxPos = std::max(c.maxPos, c.positions[size_t(h) * cap + j]);
    }
  }
  c.kv = {H, D, cap, dt,
          dt == KVP_F32 ? (const void *)c.k32.data() : (const void *)c.k16.data(),
          dt == KVP_F32 ? (const void *)c.v32.data() : (const void *)c.v16.data(),
          c.lengths.data(), c.positions.data(), c.modality.data(), 0, nullptr};
  return c;
}

/** ISAs this CPU runs, best last. */
inline std::vector<std::string> available_isas() {
  std::vector<std::string> out;
  for (const char *n : {"scalar", "neon", "avx2", "avx512"})
    if (kvp_set_isa(n) == KVP_OK) out.push_back(n);
  return out;
}
