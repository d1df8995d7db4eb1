// kvp_attend: validates the C arguments, plans tasks (attend_plan.h), runs the passes on the
// pool and reduces the per-block statistics.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>
#include "errors.h"
#include "kernel_table.h"
#include "thread_pool.h"
#include "tier.h"

namespace kvp {

size_t g_scoreCacheFloats = size_t(8) << 20;

static int prefetch_rows_from_env() {
  const char *e = std::getenv("KVPRISM_PREFETCH");
  const int v = e ? std::atoi(e) : 16;
  return v < 0 ? 0 : v > 64 ? 64 : v;
}
int g_prefetchRows = prefetch_rows_from_env();
bool g_prefetchNext = [] {
  const char *e = std::getenv("KVPRISM_PREFETCH_NEXT");
  return !(e && e[0] == '0');
}();
bool g_fusePass2 = [] {
  const char *e = std::getenv("KVPRISM_FUSE_STATS");
  return !(e && e[0] == '0');
}();
bool g_rowOrder = [] {
  const char *e = std::getenv("KVPRISM_ROW_ORDER");
  return !(e && e[0] == '0');
}();

void plan_attend(AttendPlan &p, int threads) {
  p.bk = std::max(16, std::min(256, 32768 / std::max(1, p.D)));
  p.chunk = 256;
  p.qBlock = p.n <= 16 ? std::max(1, p.n) : std::max(1, 64 / p.G);
  p.nQBlocks = (p.n + p.qBlock - 1) / p.qBlock;
  // Enough KV splits to give every thread ~4 tasks, but never splits under 256 slots.
  const int base = p.kvHeads * p.nQBlocks;
  int want = (4 * threads + base - 1) / base;
  int most = std::max(1, (p.lmax + 255) / 256);
  p.splits = std::max(1, std::min(want, most));
}

namespace {

std::string str(long v) { return std::to_string(v); }

bool is_coded(kvp_dtype d) { return d == KVP_INT8_FP8 || d == KVP_INT4 || d == KVP_INT2; }

/** The coded heads' structure (kvprism.h kvp_coded_head): group size, null pointers, KIVI's
 *  coded / residual split and key groups that tile the coded slots. */
int validate_coded(const kvp_kv_layout *kv) {
  const int G = kv->group;
  if (G < 1 || G > KVP_MAX_GROUP)
    return fail("kvp_attend: kv.group (G) must be in [1, " + str(KVP_MAX_GROUP) + "] for coded storage; got " + str(G));
  if (!kv->coded) return fail("kvp_attend: kv.coded must point to kv_heads kvp_coded_head entries for coded storage");
  if (kv->head_dim > 65536) return fail("kvp_attend: kv.head_dim must be ≤ 65536 for coded storage; got " + str(kv->head_dim));
  const bool kivi = kv->dtype != KVP_INT8_FP8;
  for (int h = 0; h < kv->kv_heads; h++) {
    const kvp_coded_head &c = kv->coded[h];
    const int len = kv->lengths[h];
    const std::string at = "kvp_attend: kv.coded[" + str(h) + "]";
    if (!kivi) {
      if (len > 0 && (!c.key_codes || !c.value_codes || !c.key_scale_min || !c.value_scale))
        return fail(at + ": key_codes, value_codes, key_scale_min and value_scale must not be null (int8-fp8 head of " + str(len) + " slots)");
      continue;
    }
    if (c.coded < 0 || c.coded > len) return fail(at + ".coded = " + str(c.coded) + " is outside [0, lengths[" + str(h) + "] = " + str(len) + "]");
    if (c.key_groups < 0 || c.key_groups > c.coded)
      return fail(at + ".key_groups = " + str(c.key_groups) + " is outside [0, coded = " + str(c.coded) + "]");
    if (c.coded > 0 && (!c.key_codes || !c.value_codes || !c.key_scale_min || !c.value_scale || !c.group_len))
      return fail(at + ": key_codes, value_codes, key_scale_min, value_scale and group_len must not be null when coded > 0");
    if (len > c.coded && (!c.residual_keys || !c.residual_values))
      return fail(at + ": residual_keys and residual_values must not be null when lengths[h] > coded");
    long sum = 0;
    for (int g = 0; g < c.key_groups; g++) {
      if (c.group_len[g] < 1 || c.group_len[g] > G)
        return fail(at + ".group_len[" + str(g) + "] = " + str(c.group_len[g]) + " is outside [1, G = " + str(G) + "]");
      sum += c.group_len[g];
    }
    if (sum != c.coded) return fail(at + ": the key groups hold " + str(sum) + " slots; coded = " + str(c.coded));
  }
  return KVP_OK;
}

/** Pruned key rows (kvprism.h key_dim / key_channels / key_split). */
int validate_pruned_keys(const kvp_kv_layout *kv, bool coded) {
  if (coded) return fail("kvp_attend: kv.key_channels (pruned keys) applies to dense dtypes only; this layout is coded");
  if (kv->key_dim < 1 || kv->key_dim > kv->head_dim)
    return fail("kvp_attend: kv.key_dim must be in [1, head_dim = " + str(kv->head_dim) + "]; got " + str(kv->key_dim));
  if (!kv->key_split) return fail("kvp_attend: kv.key_split must not be null when kv.key_channels is set");
  for (int h = 0; h < kv->kv_heads; h++) {
    if (kv->key_split[h] < 0 || kv->key_split[h] > kv->lengths[h])
      return fail("kvp_attend: kv.key_split[" + str(h) + "] = " + str(kv->key_split[h]) + " is outside [0, lengths[h] = " + str(kv->lengths[h]) + "]");
    int prev = -1;
    for (int c = 0; c < kv->key_dim; c++) {
      const int x = kv->key_channels[size_t(h) * kv->key_dim + c];
      if (x <= prev || x >= kv->head_dim)
        return fail("kvp_attend: kv.key_channels[" + str(h) + "][" + str(c) + "] = " + str(x) + "; channels must be strictly ascending in [0, head_dim)");
      prev = x;
    }
  }
  return KVP_OK;
}

}  // namespace

int validate_attend(const kvp_attend_args *a, const kvp_kv_layout *kv, const kvp_stats_out *st) {
  if (!a || !kv) return fail("kvp_attend: args and kv must not be null");
  if (a->n < 0) return fail("kvp_attend: n must be ≥ 0; got " + str(a->n));
  if (kv->kv_heads < 1 || kv->head_dim < 1 || kv->capacity < 0)
    return fail("kvp_attend: kv.kv_heads and kv.head_dim must be ≥ 1 and kv.capacity ≥ 0");
  if (a->q_heads < 1 || a->q_heads % kv->kv_heads)
    return fail("kvp_attend: q_heads = " + str(a->q_heads) + " must be a positive multiple of kv_heads = " + str(kv->kv_heads));
  const bool coded = is_coded(kv->dtype);
  if (kv->dtype != KVP_F32 && kv->dtype != KVP_F16 && kv->dtype != KVP_BF16 && !coded)
    return fail("kvp_attend: kv.dtype must be KVP_F32, KVP_F16, KVP_BF16, KVP_INT8_FP8, KVP_INT4 or KVP_INT2; got " + str(kv->dtype));
  if (!(a->scale > 0.f) || !std::isfinite(a->scale)) return fail("kvp_attend: scale must be finite and > 0");
  if (a->n > 0 && (!a->q || !a->out || !a->q_positions)) return fail("kvp_attend: q, out and q_positions must not be null");
  if (!kv->lengths) return fail("kvp_attend: kv.lengths must not be null");
  long total = 0;
  for (int h = 0; h < kv->kv_heads; h++) {
    if (kv->lengths[h] < 0 || kv->lengths[h] > kv->capacity)
      return fail("kvp_attend: kv.lengths[" + str(h) + "] = " + str(kv->lengths[h]) + " is outside [0, capacity = " + str(kv->capacity) + "]");
    total += kv->lengths[h];
  }
  if (int rc = validate_tier(kv)) return rc;
  if (total > 0 && !coded && !kv->cold_lengths && (!kv->keys || !kv->values))
    return fail("kvp_attend: kv.keys and kv.values must not be null");
  if (total > 0 && (!kv->positions || !kv->modality))
    return fail("kvp_attend: kv.positions and kv.modality must not be null");
  if (coded)
    if (int rc = validate_coded(kv)) return rc;
  if (kv->key_channels && kv->cold_lengths) return fail("kvp_attend: kv.key_channels (pruned keys) and kv.cold_lengths (a DRAM–flash tier) cannot be combined in one layout");
  if (kv->key_channels)
    if (int rc = validate_pruned_keys(kv, coded)) return rc;
  const bool needMod = st && (st->text_column || st->flows);
  if (needMod && a->n > 0 && !a->q_modality) return fail("kvp_attend: q_modality is required by text_column and flows");
  if (a->q_modality)
    for (int i = 0; i < a->n; i++)
      if (a->q_modality[i] >= KVP_MODALITIES) return fail("kvp_attend: q_modality[" + str(i) + "] = " + str(a->q_modality[i]) + " is not a modality code 0..3");
  if (st && st->flows)
    for (int h = 0; h < kv->kv_heads; h++)
      for (int j = 0; j < kv->lengths[h]; j++)
        if (kv->modality[size_t(h) * kv->capacity + j] >= KVP_MODALITIES)
          return fail("kvp_attend: kv.modality[" + str(h) + "][" + str(j) + "] is not a modality code 0..3");
  if (st && st->window_tokens < 0) return fail("kvp_attend: stats.window_tokens must be ≥ 0");
  return KVP_OK;
}

namespace {

/** Zeroes the statistics. With `tailsOnly`, slot arrays only past each head's length: pass 2
 *  zeroes the slots it covers itself, in parallel, right before accumulating into them. */
void zero_stats(const kvp_stats_out &st, const kvp_kv_layout &kv, bool tailsOnly, size_t rows, size_t flows) {
  for (float *f : slot_stat_arrays(st)) {
    if (!f) continue;
    for (int h = 0; h < kv.kv_heads; h++) {
      float *head = f + size_t(h) * kv.capacity;
      std::fill(head + (tailsOnly ? kv.lengths[h] : 0), head + kv.capacity, 0.f);
    }
  }
  if (st.row_entropy) std::fill(st.row_entropy, st.row_entropy + rows, 0.f);
  if (st.flows) std::fill(st.flows, st.flows + flows, 0.0);
}

}  // namespace
}  // namespace kvp

extern "C" int kvp_attend(const kvp_attend_args *a, const kvp_kv_layout *kv, kvp_stats_out *stIn) {
  using namespace kvp;
  if (int rc = validate_attend(a, kv, stIn)) return rc;
  kvp_stats_out none{};
  kvp_stats_out st = stIn ? *stIn : none;
  if (st.window && st.window_tokens == 0) st.window = nullptr;
  const size_t M2 = KVP_MODALITIES * KVP_MODALITIES;
  zero_stats(st, *kv, a->n > 0, size_t(kv->kv_heads) * a->n, kv->kv_heads * M2);
  if (a->n == 0) return KVP_OK;

  AttendPlan p{};
  p.a = a; p.kv = kv; p.st = &st;
  p.n = a->n; p.qHeads = a->q_heads; p.kvHeads = kv->kv_heads; p.G = a->q_heads / kv->kv_heads;
  p.D = kv->head_dim; p.cap = kv->capacity;
  p.lmax = 0;
  for (int h = 0; h < p.kvHeads; h++) p.lmax = std::max(p.lmax, int(kv->lengths[h]));
  p.wantFlows = st.flows != nullptr;
  p.wantEntropy = st.row_entropy != nullptr;
  p.wantSlotStats = st.cumulative || st.window || st.last_query || st.text_column || st.redistributed;
  p.windowFrom = st.window ? std::max(0, p.n - st.window_tokens) : p.n;
  // Q·K and P·V multiply-adds: a small call runs on this thread, planned as for one thread.
  const double work = 2.0 * p.n * p.qHeads * double(p.lmax) * p.D;
  plan_attend(p, work < kMinParallelWork ? 1 : pool_threads());

  // Scratch is kept per calling thread and reused: fresh multi-MiB allocations would cost a
  // page fault per 4 KiB on every decode step. Every entry read is written first (pass 1
  // writes all lse, partial and score entries it covers), so nothing needs clearing.
  thread_local std::vector<float> lse, part, scores;
  thread_local std::vector<double> flowPart;
  thread_local std::vector<int32_t> sortedQ;
  auto reserve = [](auto &v, size_t count) { if (v.size() < count) v.resize(count); return v.data(); };
  p.lse = reserve(lse, size_t(p.kvHeads) * p.n * p.G);
  p.flowPart = nullptr;
  if (p.wantFlows) {
    p.flowPart = reserve(flowPart, size_t(p.kvHeads) * p.nQBlocks * M2);
    std::fill(p.flowPart, p.flowPart + size_t(p.kvHeads) * p.nQBlocks * M2, 0.0);
  }
  p.part = p.splits > 1 ? reserve(part, size_t(p.tasks1()) * p.partTaskStride()) : nullptr;
  // Keep pass-1 scores for pass 2 when they fit (always for decode-sized calls).
  const size_t scoreFloats = size_t(p.kvHeads) * p.n * p.G * p.lmax;
  p.scores = p.wantSlotStats && scoreFloats <= g_scoreCacheFloats ? reserve(scores, scoreFloats) : nullptr;
  if (st.redistributed) {
    sortedQ.assign(a->q_positions, a->q_positions + p.n);  // small: n entries
    std::sort(sortedQ.begin(), sortedQ.end());
  }
  p.sortedQpos = sortedQ.data();
  // Pruned keys: each query row's kept channels, gathered once (n·qHeads·key_dim floats).
  thread_local std::vector<float> keyQ;
  p.Dk = kv->key_channels ? kv->key_dim : p.D;
  p.keyQ = nullptr;
  if (kv->key_channels) {
    float *dst = reserve(keyQ, size_t(p.n) * p.qHeads * p.Dk);
    for (int i = 0; i < p.n; i++)
      for (int qh = 0; qh < p.qHeads; qh++) {
        const int32_t *ch = kv->key_channels + size_t(qh / p.G) * p.Dk;
        const float *q = a->q + (size_t(i) * p.qHeads + qh) * p.D;
        float *o = dst + (size_t(i) * p.qHeads + qh) * p.Dk;
        for (int c = 0; c < p.Dk; c++) o[c] = q[ch[c]];
      }
    p.keyQ = dst;
  }

  p.fusedPass2 = g_fusePass2 && p.wantSlotStats && p.splits == 1 && p.nQBlocks == 1;
  const KernelTable &k = kernels();
  parallel_for(p.tasks1(), [&](int t) { k.attendPass1(p, t); }, work);
  if (p.splits > 1) parallel_for(p.tasksCombine(), [&](int t) { k.attendCombine(p, t); }, work);
  if (p.wantFlows) {
    for (int h = 0; h < p.kvHeads; h++)
      for (int qb = 0; qb < p.nQBlocks; qb++)
        for (size_t c = 0; c < M2; c++) st.flows[h * M2 + c] += flowPart[(size_t(h) * p.nQBlocks + qb) * M2 + c];
  }
  if (p.wantSlotStats && p.lmax > 0 && !p.fusedPass2) parallel_for(p.tasks2(), [&](int t) { k.attendPass2(p, t); }, work);
  return KVP_OK;
}
