// kvp_attend over keys pruned along head_dim (ThinK: kvp_kv_layout key_dim / key_channels /
// key_split) against the double-precision reference run on the same keys with the dropped
// channels of the packed rows set to zero (q·k is then q_S·k_S): every ISA, f32 / f16 /
// bf16, GQA, odd head dims, heads of 0 and 1 slots, long heads (KV splits), decode and
// prefill, all statistics; and the layout checks.
#include <algorithm>
#include <cmath>
#include <string>
#include "harness.h"
#include "reference.h"
#include "test_util.h"

namespace {

struct PrunedShape {
  int H, G, D, cap, n, keyDim;
  kvp_dtype dt;
  std::vector<int> lengths, split;
};

/** Copies element i of the cache's key buffer (f32 or raw 16-bit) from src to dst index j. */
void copy_key(const TestCache &c, std::vector<float> &k32, std::vector<uint16_t> &k16, size_t dst, size_t src) {
  if (c.kv.dtype == KVP_F32) k32[dst] = c.k32[src];
  else k16[dst] = c.k16[src];
}

void run(const PrunedShape &s, kt::Rng &rng, const std::string &tag) {
  TestCache c = make_cache(s.H, s.D, s.cap, s.dt, s.lengths, true, rng);
  // Kept channels per head: a random ascending subset of key_dim channels.
  std::vector<int32_t> channels(size_t(s.H) * s.keyDim), split(s.split.begin(), s.split.end());
  for (int h = 0; h < s.H; h++) {
    std::vector<int32_t> all(s.D);
    for (int i = 0; i < s.D; i++) all[i] = i;
    std::shuffle(all.begin(), all.end(), rng.g);
    std::sort(all.begin(), all.begin() + s.keyDim);
    std::copy(all.begin(), all.begin() + s.keyDim, channels.begin() + size_t(h) * s.keyDim);
  }
  // The oracle's cache: packed rows' dropped channels zeroed. The kernel's: packed rows first.
  TestCache z = c;
  std::vector<float> p32(c.k32.size());
  std::vector<uint16_t> p16(c.k16.size());
  for (int h = 0; h < s.H; h++) {
    const size_t base = size_t(h) * s.cap * s.D;
    const int32_t *ch = channels.data() + size_t(h) * s.keyDim;
    for (int j = 0; j < s.cap; j++) {
      const bool packed = j < split[h];
      for (int d = 0, kept = 0; d < s.D; d++) {
        const bool keep = kept < s.keyDim && ch[kept] == d;
        if (packed && !keep) {
          if (s.dt == KVP_F32) z.k32[base + size_t(j) * s.D + d] = 0.f;
          else z.k16[base + size_t(j) * s.D + d] = 0;
        }
        if (packed && keep) copy_key(c, p32, p16, base + size_t(j) * s.keyDim + kept, base + size_t(j) * s.D + d);
        if (keep) kept++;
      }
      if (!packed) {
        const size_t at = base + size_t(split[h]) * s.keyDim + size_t(j - split[h]) * s.D;
        for (int d = 0; d < s.D; d++) copy_key(c, p32, p16, at + d, base + size_t(j) * s.D + d);
      }
    }
  }
  z.kv.keys = s.dt == KVP_F32 ? (const void *)z.k32.data() : (const void *)z.k16.data();
  z.kv.values = s.dt == KVP_F32 ? (const void *)z.v32.data() : (const void *)z.v16.data();
  z.kv.lengths = z.lengths.data();
  z.kv.positions = z.positions.data();
  z.kv.modality = z.modality.data();
  kvp_kv_layout kv = c.kv;
  kv.keys = s.dt == KVP_F32 ? (const void *)p32.data() : (const void *)p16.data();
  kv.key_dim = s.keyDim;
  kv.key_channels = channels.data();
  kv.key_split = split.data();

  const int qHeads = s.H * s.G;
  std::vector<float> q(size_t(s.n) * qHeads * s.D);
  for (auto &v : q) v = rng.uniform(-1.5f, 1.5f);
  std::vector<int32_t> qpos(s.n);
  std::vector<uint8_t> qmod(s.n);
  for (int i = 0; i < s.n; i++) {
    qpos[i] = s.n == 1 ? c.maxPos + 1 : int(std::lround(double(c.maxPos + 2) * (i + 1) / s.n)) - 1;
    qmod[i] = uint8_t(rng.below(4));
  }
  std::vector<float> out(q.size(), -7.f);
  kvp_attend_args a{q.data(), s.n, qHeads, qpos.data(), qmod.data(), 1.f / std::sqrt(float(s.D)), out.data()};
  const int W = std::max(1, s.n / 3);
  const size_t slots = size_t(s.H) * s.cap;
  std::vector<float> cum(slots, 9), win(slots, 9), ent(size_t(s.H) * s.n, 9);
  kvp_stats_out st{};
  st.cumulative = cum.data();
  st.window = win.data();
  st.window_tokens = W;
  st.row_entropy = ent.data();
  std::vector<double> refOut;
  ref::Stats rs;
  ref::attend(a, z.kv, W, refOut, rs);
  const std::string ctx = "[" + tag + " H=" + std::to_string(s.H) + " G=" + std::to_string(s.G) + " D=" + std::to_string(s.D) +
                          " keyDim=" + std::to_string(s.keyDim) + " n=" + std::to_string(s.n) + " dt=" + std::to_string(int(s.dt)) + "]";
  CHECK(kvp_attend(&a, &kv, &st) == KVP_OK, ctx + " kvp_attend failed: " + kvp_last_error());
  auto near = [&](const char *what, const float *got, const std::vector<double> &want, size_t count, bool slotAligned) {
    for (size_t i = 0; i < count; i++) {
      if (slotAligned && int(i % s.cap) >= s.lengths[i / s.cap]) continue;
      if (!(std::fabs(got[i] - want[i]) <= 2e-5 + 1e-3 * std::fabs(want[i]))) {
        CHECK(false, ctx + " " + what + "[" + std::to_string(i) + "] = " + std::to_string(got[i]) + ", reference " + std::to_string(want[i]));
        return;
      }
    }
  };
  near("out", out.data(), refOut, out.size(), false);
  near("cumulative", cum.data(), rs.cumulative, slots, true);
  near("window", win.data(), rs.window, slots, true);
  near("rowEntropy", ent.data(), rs.rowEntropy, ent.size(), false);
}

}  // namespace

TEST_CASE("attend over pruned keys matches the reference over zeroed channels") {
  const std::vector<PrunedShape> shapes = {
      {2, 1, 8, 20, 1, 4, KVP_F32, {20, 9}, {17, 0}},
      {2, 4, 63, 50, 7, 31, KVP_F16, {50, 1}, {40, 1}},
      {3, 3, 13, 12, 2, 1, KVP_BF16, {0, 1, 12}, {0, 0, 12}},
      {2, 2, 128, 900, 1, 64, KVP_F32, {900, 700}, {868, 668}},
      {1, 7, 80, 600, 33, 40, KVP_F16, {600}, {568}},
      {2, 4, 64, 300, 1, 64, KVP_F32, {300, 299}, {300, 100}},
  };
  for (const std::string &isa : available_isas()) {
    kvp_set_isa(isa.c_str());
    kt::Rng rng(99);
    for (int threads : {1, 3}) {
      kvp_set_threads(threads);
      for (const PrunedShape &s : shapes) run(s, rng, isa + "/t" + std::to_string(threads));
    }
  }
  kvp_set_isa(available_isas().back().c_str());
}

TEST_CASE("attend rejects bad pruned-key layouts with a message") {
  kt::Rng rng(5);
  TestCache c = make_cache(2, 8, 4, KVP_F32, {4, 2}, true, rng);
  std::vector<float> q(2 * 8), out(2 * 8);
  std::vector<int32_t> qpos{10};
  kvp_attend_args a{q.data(), 1, 2, qpos.data(), nullptr, 0.3f, out.data()};
  std::vector<int32_t> ch{0, 3, 5, 1, 2, 7}, split{2, 1};
  c.kv.key_dim = 3;
  c.kv.key_channels = ch.data();
  c.kv.key_split = split.data();
  CHECK(kvp_attend(&a, &c.kv, nullptr) == KVP_OK, std::string("a valid pruned layout runs: ") + kvp_last_error());
  auto rejects = [&](const std::string &needle, const std::string &what) {
    CHECK(kvp_attend(&a, &c.kv, nullptr) == KVP_EINVAL, what + " must fail");
    CHECK(std::string(kvp_last_error()).find(needle) != std::string::npos, what + ": message names " + needle + " (got " + kvp_last_error() + ")");
  };
  ch[1] = 0;
  rejects("key_channels[0][1]", "channels not ascending");
  ch[1] = 8;
  rejects("key_channels[0][1]", "a channel ≥ head_dim");
  ch[1] = 3;
  split[1] = 3;
  rejects("key_split[1]", "split beyond the head's length");
  split[1] = 1;
  c.kv.key_dim = 9;
  rejects("key_dim", "key_dim > head_dim");
  c.kv.key_dim = 3;
  c.kv.key_split = nullptr;
  rejects("key_split", "null key_split");
}
