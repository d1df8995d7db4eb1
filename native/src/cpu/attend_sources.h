// Where attention's K/V come from, one KV head at a time: the passes (attend_impl.h) call a
// source for a block's scores (Q·K of the GQA group) and its P·V, and stay storage-agnostic.
// DenseSource reads f32 / f16 / bf16 rows (with the decode prefetch and row-order choices);
// PrunedKeySource the same when the oldest key rows are packed to fewer channels (ThinK);
// Int8Fp8Source and KiviSource read codes, dequantised inside the loads (coded_ops.h);
// TieredSource (tier_source.h) reads a DRAM–flash tiered head as two dense sources.
#pragma once
#include <algorithm>
#include <array>
#include <vector>
#include "attend_plan.h"
#include "coded_ops.h"
#include "vec_ops.h"

namespace kvp {

/** Calls fn(std::integral_constant<int, R>) for a run-time row count 1..4. */
template <class F> static inline void rows_dispatch(int rows, F &&fn) {
  switch (rows) {
    case 1: fn(std::integral_constant<int, 1>{}); break;
    case 2: fn(std::integral_constant<int, 2>{}); break;
    case 3: fn(std::integral_constant<int, 3>{}); break;
    default: fn(std::integral_constant<int, 4>{}); break;
  }
}

/** f32 / f16 / bf16 K/V of head h, read through loader Ld. */
template <class S, class Ld> struct DenseSource {
  using O = Vec<S>;
  using T = typename Ld::T;
  const AttendPlan &p;
  const int h, j1;
  /** Decode (one query token) of an f32 cache streams K/V once: read it in row order. Not for
   *  16-bit rows (widened once per pass over the block) nor for query blocks, which re-read
   *  each block from L2 per token and became L2-bound (prefill 2048: 297 → 320 ms). */
  const bool single, rowOrder;
  const int rowBytes;
  int nb = 0;
  bool pfNext = false;
  const T *K = nullptr, *V = nullptr;
  const float *touchBase = nullptr;
  const char *nextK = nullptr, *nextV = nullptr;

  /** Where head h's rows lie: buffers [kvHeads][stripe][D]; slot j is row firstRow + j − firstSlot. */
  const void *keys, *values;
  const int stripe, firstRow, firstSlot;

  /** tokens: query tokens of the task (1 = decode); j1: end of the task's KV split. */
  DenseSource(const AttendPlan &plan, int head, int tokens, int splitEnd)
      : DenseSource(plan, head, tokens, splitEnd, plan.kv->keys, plan.kv->values, plan.cap, 0, 0) {}

  /** The same over other buffers: the DRAM–flash tier's cold (file) and hot parts (tier_source.h). */
  DenseSource(const AttendPlan &plan, int head, int tokens, int splitEnd, const void *k, const void *v, int rows, int row0, int slot0)
      : p(plan), h(head), j1(splitEnd), single(tokens == 1),
        rowOrder(g_rowOrder && plan.kv->dtype == KVP_F32 && tokens == 1 && O::row_order_fits(plan.D)),
        rowBytes(plan.D * (plan.kv->dtype == KVP_F32 ? 4 : 2)), keys(k), values(v), stripe(rows), firstRow(row0), firstSlot(slot0) {}

  void block(int b0, int n) {
    nb = n;
    const size_t off = (size_t(h) * stripe + firstRow + (b0 - firstSlot)) * p.D;
    K = static_cast<const T *>(keys) + off;
    V = static_cast<const T *>(values) + off;
    // Decode with the interleaved kernels: the next block's K and V are prefetched while this
    // one computes. The row-order kernels need no software prefetch.
    pfNext = !rowOrder && g_prefetchNext && single && b0 + p.bk < j1;
    const size_t es = p.kv->dtype == KVP_F32 ? 4 : 2;
    nextK = pfNext ? static_cast<const char *>(keys) + (off + size_t(p.bk) * p.D) * es : nullptr;
    nextV = pfNext ? static_cast<const char *>(values) + (off + size_t(p.bk) * p.D) * es : nullptr;
    touchBase = !pfNext && p.kv->dtype == KVP_F32 ? static_cast<const float *>(values) + off : nullptr;
  }

  /** Scores of rows g0..g0+rn−1 of the group (qs, ss) against the block; lead: the task's
   *  first pass over this block (it issues the prefetches). */
  void scores(bool lead, int rn, const float *const *qs, float *const *ss) const {
    if (rowOrder) {
      rows_dispatch(rn, [&](auto R) { O::template qk_rows_ordered<decltype(R)::value, Ld>(qs, K, nb, p.D, p.a->scale, ss); });
      return;
    }
    const float *touchV = lead ? touchBase : nullptr;
    rows_dispatch(rn, [&](auto R) { O::template qk_rows<decltype(R)::value, Ld>(qs, K, nb, p.D, p.a->scale, ss, touchV, lead ? nextK : nullptr, rowBytes); });
  }

  /** Pass 2's recomputed scores of a slot chunk (no streaming prefetch choices). */
  void chunk_scores(int rn, const float *const *qs, float *const *ss) const {
    rows_dispatch(rn, [&](auto R) { O::template qk_rows<decltype(R)::value, Ld>(qs, K, nb, p.D, p.a->scale, ss); });
  }

  /** acc rows += P·V of the block; first: the first row set (it prefetches the next V). */
  void pv(bool first, int rn, const float *const *ps, float *const *as) const {
    if (rowOrder) rows_dispatch(rn, [&](auto R) { O::template pv_rows_ordered<decltype(R)::value, Ld>(ps, V, nb, p.D, as); });
    else rows_dispatch(rn, [&](auto R) { O::template pv_rows<decltype(R)::value, Ld>(ps, V, nb, p.D, as, first ? nextV : nullptr, rowBytes); });
  }
};

/** f32 / f16 / bf16 K/V of head h whose oldest key_split[h] key rows are packed to key_dim
 *  channels (ThinK, kvprism.h): a block's scores are q_S·k_S over the packed rows (queries
 *  gathered once per call, AttendPlan::keyQ), then q·k over the whole rows; P·V as dense. */
template <class S, class Ld> struct PrunedKeySource {
  using O = Vec<S>;
  using T = typename Ld::T;
  const AttendPlan &p;
  const T *keys, *V = nullptr;
  const int h, split;
  int b0 = 0, nb = 0;

  PrunedKeySource(const AttendPlan &plan, int head, int, int)
      : p(plan), keys(static_cast<const T *>(plan.kv->keys) + size_t(head) * plan.cap * plan.D), h(head), split(plan.kv->key_split[head]) {}

  void block(int begin, int n) {
    b0 = begin;
    nb = n;
    V = static_cast<const T *>(p.kv->values) + (size_t(h) * p.cap + b0) * p.D;
  }
  void scores(bool, int rn, const float *const *qs, float *const *ss) const { chunk_scores(rn, qs, ss); }
  void chunk_scores(int rn, const float *const *qs, float *const *ss) const {
    const int end = b0 + nb, packedEnd = std::min(end, split);
    float *sh[4];
    const float *qk[4];
    if (b0 < packedEnd) {
      for (int r = 0; r < rn; r++) qk[r] = p.keyQuery(qs[r]);
      const T *K = keys + size_t(b0) * p.Dk;
      rows_dispatch(rn, [&](auto R) { O::template qk_rows<decltype(R)::value, Ld>(qk, K, packedEnd - b0, p.Dk, p.a->scale, ss); });
    }
    const int j = std::max(b0, split);
    if (j < end) {
      for (int r = 0; r < rn; r++) sh[r] = ss[r] + (j - b0);
      const T *K = keys + size_t(split) * p.Dk + size_t(j - split) * p.D;
      rows_dispatch(rn, [&](auto R) { O::template qk_rows<decltype(R)::value, Ld>(qs, K, end - j, p.D, p.a->scale, sh); });
    }
  }
  void pv(bool, int rn, const float *const *ps, float *const *as) const {
    rows_dispatch(rn, [&](auto R) { O::template pv_rows<decltype(R)::value, Ld>(ps, V, nb, p.D, as); });
  }
};

/** int8 keys + fp8-e4m3 values (MNN-LLM) of head h; UNIFORM: G % W == 0 (coded_ops.h). */
template <class S, bool UNIFORM> struct Int8Fp8Source {
  using CV = CodedVec<S>;
  const AttendPlan &p;
  Int8KeyRows<S, UNIFORM> keys;
  Fp8ValueRows<S, UNIFORM> values;
  int b0 = 0, nb = 0;

  Int8Fp8Source(const AttendPlan &plan, int h, int, int) : p(plan) {
    const kvp_coded_head &c = plan.kv->coded[h];
    const int D = plan.D, G = plan.kv->group, ng = (D + G - 1) / G;
    keys = {c.key_codes, c.key_scale_min, D, ng, GroupOf<S>(G)};
    values = {c.value_codes, c.value_scale, D, ng, GroupOf<S>(G)};
  }
  void block(int begin, int n) { b0 = begin; nb = n; }
  void scores(bool, int rn, const float *const *qs, float *const *ss) const { chunk_scores(rn, qs, ss); }
  void chunk_scores(int rn, const float *const *qs, float *const *ss) const {
    rows_dispatch(rn, [&](auto R) { CV::template qk<decltype(R)::value>(qs, keys, b0, nb, p.D, p.a->scale, ss); });
  }
  void pv(bool, int rn, const float *const *ps, float *const *as) const {
    rows_dispatch(rn, [&](auto R) { CV::template pv<decltype(R)::value>(ps, values, b0, nb, p.D, as); });
  }
};

/** KIVI int4 / int2 of head h: coded slots [0, coded) by key group, then the f32 residual;
 *  UNIFORM: G % W == 0 (value scale groups, coded_ops.h). */
template <class S, int BITS, bool UNIFORM> struct KiviSource {
  using CV = CodedVec<S>;
  using O = Vec<S>;
  const AttendPlan &p;
  const kvp_coded_head &c;
  const int rowBytes;
  KiviValueRows<S, BITS, UNIFORM> values;
  /** [key_groups + 1] first slot of each key group. */
  std::vector<int32_t> &groupStart;
  /** Planar scale [D] and min [D] of key group `planarGroup` (the layout holds (scale, min)
   *  pairs), in KiviKeyFold's unpacked channel order. */
  std::vector<float> &planar;
  /** The block's query rows in unpacked order [4][D], folded into a key group's scales [4][D],
   *  and their biases Σ q·min [4] (KiviKeyFold). */
  std::vector<float> &fold;
  int planarGroup = -1;
  /** The query rows `fold` holds permuted (the passes ask for the same rows block after block). */
  const float *permuted[4] = {};
  int b0 = 0, nb = 0;

  static std::vector<int32_t> &starts_scratch() { thread_local std::vector<int32_t> v; return v; }
  static std::vector<float> &planar_scratch() { thread_local std::vector<float> v; return v; }
  static std::vector<float> &fold_scratch() { thread_local std::vector<float> v; return v; }

  KiviSource(const AttendPlan &plan, int h, int, int)
      : p(plan), c(plan.kv->coded[h]), rowBytes((plan.D * BITS + 7) / 8), groupStart(starts_scratch()), planar(planar_scratch()),
        fold(fold_scratch()) {
    const int G = plan.kv->group, ng = (plan.D + G - 1) / G;
    values = {c.value_codes, c.value_scale, rowBytes, ng, GroupOf<S>(G)};
    groupStart.resize(size_t(c.key_groups) + 1);
    groupStart[0] = 0;
    for (int g = 0; g < c.key_groups; g++) groupStart[g + 1] = groupStart[g] + c.group_len[g];
    planar.resize(size_t(2) * plan.D);
    fold.resize(size_t(8) * plan.D + 4);
  }

  void block(int begin, int n) { b0 = begin; nb = n; }
  void scores(bool, int rn, const float *const *qs, float *const *ss) { chunk_scores(rn, qs, ss); }

  void chunk_scores(int rn, const float *const *qs, float *const *ss) {
    const int D = p.D, end = b0 + nb, codedEnd = std::min(end, c.coded);
    float *sh[4];
    int j = b0;
    if (j < codedEnd) {
      float *qperm = fold.data(), *qf = qperm + 4 * size_t(D), *bias = qf + 4 * size_t(D);
      const float *qfr[4];
      for (int r = 0; r < rn; r++) {
        if (permuted[r] != qs[r]) KiviKeyFold<S, BITS>::permute(qs[r], 1, qperm + size_t(r) * D, D);
        permuted[r] = qs[r];
        qfr[r] = qf + size_t(r) * D;
      }
      int g = int(std::upper_bound(groupStart.begin(), groupStart.end(), j) - groupStart.begin()) - 1;
      for (; j < codedEnd; g++) {
        const int runEnd = std::min(codedEnd, groupStart[g + 1]);
        fold_group(g, rn, qperm, qf, bias);
        for (int r = 0; r < rn; r++) sh[r] = ss[r] + (j - b0);
        rows_dispatch(rn, [&](auto R) {
          CV::template qk_folded<decltype(R)::value, BITS>(qfr, bias, c.key_codes, rowBytes, j, runEnd - j, D, p.a->scale, sh);
        });
        j = runEnd;
      }
    }
    if (j < end) {
      const float *K = c.residual_keys + size_t(j - c.coded) * D;
      for (int r = 0; r < rn; r++) sh[r] = ss[r] + (j - b0);
      rows_dispatch(rn, [&](auto R) { O::template qk_rows<decltype(R)::value, LoadF32<S>>(qs, K, end - j, D, p.a->scale, sh); });
    }
  }

  void pv(bool, int rn, const float *const *ps, float *const *as) const {
    const int end = b0 + nb, codedEnd = std::min(end, c.coded);
    if (b0 < codedEnd) rows_dispatch(rn, [&](auto R) { CV::template pv<decltype(R)::value>(ps, values, b0, codedEnd - b0, p.D, as); });
    const int j = std::max(b0, codedEnd);
    if (j < end) {
      const float *sh[4];
      for (int r = 0; r < rn; r++) sh[r] = ps[r] + (j - b0);
      const float *V = c.residual_values + size_t(j - c.coded) * p.D;
      rows_dispatch(rn, [&](auto R) { O::template pv_rows<decltype(R)::value, LoadF32<S>>(sh, V, end - j, p.D, as); });
    }
  }

  /** qf[r] = qperm[r] ⊙ scale and bias[r] = qperm[r]·min over key group g's channel scales
   *  and minima (made planar in unpacked order once per group), r < rn. */
  void fold_group(int g, int rn, const float *qperm, float *qf, float *bias) {
    const int D = p.D;
    if (planarGroup != g) {
      const float *sm = c.key_scale_min + size_t(g) * D * 2;
      KiviKeyFold<S, BITS>::permute(sm, 2, planar.data(), D);
      KiviKeyFold<S, BITS>::permute(sm + 1, 2, planar.data() + D, D);
      planarGroup = g;
    }
    for (int r = 0; r < rn; r++) {
      const float *q = qperm + size_t(r) * D;
      float *o = qf + size_t(r) * D;
      for (int ch = 0; ch < D; ch++) o[ch] = q[ch] * planar[ch];
      bias[r] = O::dot(q, planar.data() + D, D);
    }
  }
};

}  // namespace kvp

#include "tier_source.h"

namespace kvp {

/** Calls fn(source) with the source of head h's storage (tokens, splitEnd: see DenseSource). */
template <class S, class F> inline void with_source(const AttendPlan &p, int h, int tokens, int splitEnd, F &&fn) {
  const bool uniform = p.kv->group > 0 && p.kv->group % S::W == 0;
  switch (p.kv->dtype) {
    case KVP_INT8_FP8:
      if (uniform) { Int8Fp8Source<S, true> s(p, h, tokens, splitEnd); fn(s); }
      else { Int8Fp8Source<S, false> s(p, h, tokens, splitEnd); fn(s); }
      break;
    case KVP_INT4:
      if (uniform) { KiviSource<S, 4, true> s(p, h, tokens, splitEnd); fn(s); }
      else { KiviSource<S, 4, false> s(p, h, tokens, splitEnd); fn(s); }
      break;
    case KVP_INT2:
      if (uniform) { KiviSource<S, 2, true> s(p, h, tokens, splitEnd); fn(s); }
      else { KiviSource<S, 2, false> s(p, h, tokens, splitEnd); fn(s); }
      break;
    case KVP_F16: with_dense<S, LoadF16<S>>(p, h, tokens, splitEnd, fn); break;
    case KVP_BF16: with_dense<S, LoadBF16<S>>(p, h, tokens, splitEnd, fn); break;
    default: with_dense<S, LoadF32<S>>(p, h, tokens, splitEnd, fn); break;
  }
}

}  // namespace kvp
