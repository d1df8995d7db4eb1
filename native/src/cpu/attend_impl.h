// Attention kernels templated on one ISA (see attend_plan.h for the pass structure).
// Scores are scale·q·k; masked slots carry -inf and get p = 0.
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>
#include "attend_plan.h"
#include "attend_sources.h"
#include "vec_ops.h"

namespace kvp {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/** Per-row online-softmax state: running max m, normaliser l, Σ e^(s−m)·s (for entropy),
 *  per-key-modality mass fl, and the unnormalised output accumulator. */
struct RowState {
  float *m, *l, *t, *fl, *acc;
};

/** Writes one finished row: output, lse, entropy and flow contributions. */
static inline void finish_row(const AttendPlan &p, int h, int qb, int i, int g, float m, float l, float t,
                       const float *fl, const float *acc) {
  float *out = p.a->out + p.qIndex(i, h, g);
  float *lse = p.lse + (size_t(h) * p.n + i) * p.G + g;
  if (!(l > 0.f)) {
    std::fill(out, out + p.D, 0.f);
    *lse = kNegInf;
    return;
  }
  float inv = 1.f / l;
  for (int d = 0; d < p.D; d++) out[d] = acc[d] * inv;
  float L = m + std::log(l);
  *lse = L;
  if (p.wantEntropy) p.st->row_entropy[size_t(h) * p.n + i] += (L - t * inv) / float(p.G);
  if (p.wantFlows) {
    double *fp = p.flowPart + (size_t(h) * p.nQBlocks + qb) * KVP_MODALITIES * KVP_MODALITIES;
    int qm = p.a->q_modality[i];
    for (int k = 0; k < KVP_MODALITIES; k++) fp[qm * KVP_MODALITIES + k] += double(fl[k]) * inv;
  }
}

/** The block's modality code when every slot has the same one, else -1. */
static inline int uniform_modality(const uint8_t *mod, int nb) {
  for (int j = 1; j < nb; j++) if (mod[j] != mod[0]) return -1;
  return nb > 0 ? mod[0] : -1;
}

/** fl[m] += Σ_{j: mod[j] = m} p[j]: four independent sums (a scatter into fl would chain every
 *  slot through one memory location). */
static inline void add_flows(const float *p, const uint8_t *mod, int nb, float *fl) {
  static_assert(KVP_MODALITIES == 4, "add_flows sums four modalities");
  float f0 = 0.f, f1 = 0.f, f2 = 0.f, f3 = 0.f;
  for (int j = 0; j < nb; j++) {
    const float x = p[j];
    const uint8_t m = mod[j];
    f0 += m == 0 ? x : 0.f;
    f1 += m == 1 ? x : 0.f;
    f2 += m == 2 ? x : 0.f;
    f3 += m == 3 ? x : 0.f;
  }
  fl[0] += f0; fl[1] += f1; fl[2] += f2; fl[3] += f3;
}

template <class S> struct AttendKernels {
  using O = Vec<S>;

  static void pass1(const AttendPlan &p, int task) {
    const int h = task / (p.nQBlocks * p.splits), qb = (task / p.splits) % p.nQBlocks, sp = task % p.splits;
    const int i0 = qb * p.qBlock, i1 = std::min(p.n, i0 + p.qBlock);
    int j0, j1;
    p.splitRange(h, sp, j0, j1);
    with_source<S>(p, h, i1 - i0, j1, [&](auto &src) { pass1_from(p, task, src); });
  }

  /** Pass 1 reading head h's K/V through `src` (attend_sources.h: dense rows widened in the
   *  loads, or codes dequantised in the loads). */
  template <class Src> static void pass1_from(const AttendPlan &p, int task, Src &src) {
    const int h = task / (p.nQBlocks * p.splits), qb = (task / p.splits) % p.nQBlocks, sp = task % p.splits;
    const int i0 = qb * p.qBlock, i1 = std::min(p.n, i0 + p.qBlock), G = p.G, D = p.D;
    const int R = (i1 - i0) * G;
    int j0, j1;
    p.splitRange(h, sp, j0, j1);
    thread_local std::vector<float> buf;
    buf.resize(size_t(R) * (D + 7) + size_t(p.bk) * 2 * G);
    float *m = buf.data(), *l = m + R, *t = l + R, *fl = t + R, *acc = fl + size_t(R) * 4;
    float *s = acc + size_t(R) * D, *pr = s + size_t(p.bk) * G;
    std::fill(m, m + R, kNegInf);
    std::fill(l, fl + size_t(R) * 4 + size_t(R) * D, 0.f);
    const kvp_kv_layout &kv = *p.kv;
    const int32_t *kpos = kv.positions + size_t(h) * p.cap;
    const uint8_t *kmod = kv.modality + size_t(h) * p.cap;
    const int32_t *qpos = p.a->q_positions;
    int maxQ = qpos[i0];
    for (int i = i0; i < i1; i++) maxQ = std::max(maxQ, qpos[i]);
    const bool rowExtras = p.wantEntropy || p.wantFlows;

    for (int b0 = j0; b0 < j1; b0 += p.bk) {
      const int nb = std::min(p.bk, j1 - b0);
      int minP = kpos[b0], maxP = kpos[b0];
      for (int j = 1; j < nb; j++) { minP = std::min(minP, kpos[b0 + j]); maxP = std::max(maxP, kpos[b0 + j]); }
      if (minP > maxQ) {
        if (p.scores) for (int r = 0; r < R; r++) std::fill_n(p.scoreRow(h, i0 * G + r) + b0, nb, kNegInf);
        continue;
      }
      src.block(b0, nb);
      const int blockMod = p.wantFlows ? uniform_modality(kmod + b0, nb) : -1;
      for (int i = i0; i < i1; i++) {
        const int qp = qpos[i];
        if (minP > qp) {
          if (p.scores) for (int g = 0; g < G; g++) std::fill_n(p.scoreRow(h, i * G + g) + b0, nb, kNegInf);
          continue;
        }
        const bool allVis = maxP <= qp;
        // Scores of all G query heads of this token against the block (K read once per group).
        for (int g0 = 0; g0 < G; g0 += 4) {
          const int rn = std::min(4, G - g0);
          const float *qs[4];
          float *ss[4];
          for (int k = 0; k < rn; k++) { qs[k] = p.a->q + p.qIndex(i, h, g0 + k); ss[k] = s + size_t(g0 + k) * p.bk; }
          src.scores(g0 == 0 && i == i0, rn, qs, ss);
        }
        int live = 0;
        for (int g = 0; g < G; g++) {
          const int r = (i - i0) * G + g;
          float *sg = s + size_t(g) * p.bk, *pg = pr + size_t(g) * p.bk;
          if (!allVis)
            for (int j = 0; j < nb; j++) if (kpos[b0 + j] > qp) sg[j] = kNegInf;
          if (p.scores) std::copy(sg, sg + nb, p.scoreRow(h, i * G + g) + b0);
          const float bm = O::max(sg, nb);
          if (bm == kNegInf) { std::fill_n(pg, nb, 0.f); continue; }
          live++;
          const float mn = std::max(m[r], bm);
          const float alpha = m[r] == kNegInf ? 0.f : std::exp(m[r] - mn);
          const float sum = O::exp_sub(sg, pg, nb, mn);
          float *ar = acc + size_t(r) * D, *flr = fl + size_t(r) * 4;
          if (alpha != 1.f) {
            O::scale(alpha, ar, D);
            t[r] *= alpha;
            for (int k = 0; k < 4; k++) flr[k] *= alpha;
          }
          l[r] = l[r] * alpha + sum;
          m[r] = mn;
          if (rowExtras) {
            if (allVis) t[r] += O::dot(pg, sg, nb);
            else for (int j = 0; j < nb; j++) if (pg[j] > 0.f) t[r] += pg[j] * sg[j];
            if (p.wantFlows) {
              if (blockMod >= 0) flr[blockMod] += sum;  // one modality: the block's mass is Σp
              else add_flows(pg, kmod + b0, nb, flr);
            }
          }
        }
        if (!live) continue;
        // P·V for the group: each V vector feeds every head's accumulator.
        for (int g0 = 0; g0 < G; g0 += 4) {
          const int rn = std::min(4, G - g0);
          const float *ps[4];
          float *as[4];
          for (int k = 0; k < rn; k++) { ps[k] = pr + size_t(g0 + k) * p.bk; as[k] = acc + size_t((i - i0) * G + g0 + k) * D; }
          src.pv(g0 == 0, rn, ps, as);
        }
      }
    }
    if (p.splits == 1) {
      for (int r = 0; r < R; r++)
        finish_row(p, h, qb, i0 + r / G, r % G, m[r], l[r], t[r], fl + size_t(r) * 4, acc + size_t(r) * D);
      // This head's lse is complete: its slot statistics now, while its scores are in L2 and
      // the other threads still stream K/V (see AttendPlan::fusedPass2).
      if (p.fusedPass2) {
        for (int c = 0; c < p.slotChunks(); c++) pass2_from(p, h * p.slotChunks() + c, src);
      }
      return;
    }
    float *dst = p.part + size_t(task) * p.partTaskStride();
    for (int r = 0; r < R; r++) {
      float *row = dst + size_t(r) * p.partRowStride();
      row[0] = m[r]; row[1] = l[r]; row[2] = t[r];
      std::copy(fl + size_t(r) * 4, fl + size_t(r) * 4 + 4, row + 3);
      std::copy(acc + size_t(r) * D, acc + size_t(r) * D + D, row + 7);
    }
  }

  /** Merges the KV splits of one (head, query block) and finishes its rows. */
  static void combine(const AttendPlan &p, int task) {
    const int h = task / p.nQBlocks, qb = task % p.nQBlocks, G = p.G, D = p.D;
    const int i0 = qb * p.qBlock, R = (std::min(p.n, i0 + p.qBlock) - i0) * G;
    thread_local std::vector<float> acc;
    acc.resize(D);
    const size_t base = size_t(task) * p.splits;
    for (int r = 0; r < R; r++) {
      float M = kNegInf;
      for (int s = 0; s < p.splits; s++) M = std::max(M, p.part[(base + s) * p.partTaskStride() + r * p.partRowStride()]);
      float l = 0.f, t = 0.f, fl[4] = {0, 0, 0, 0};
      std::fill(acc.begin(), acc.end(), 0.f);
      if (M != kNegInf) {
        for (int s = 0; s < p.splits; s++) {
          const float *row = p.part + (base + s) * p.partTaskStride() + r * p.partRowStride();
          if (row[0] == kNegInf) continue;
          const float w = std::exp(row[0] - M);
          l += w * row[1];
          t += w * row[2];
          for (int k = 0; k < 4; k++) fl[k] += w * row[3 + k];
          O::axpy(w, row + 7, acc.data(), D);
        }
      }
      finish_row(p, h, qb, i0 + r / G, r % G, M, l, t, fl, acc.data());
    }
  }

  /** Slot-aligned statistics for one (head, slot chunk). */
  static void pass2(const AttendPlan &p, int task) {
    const int h = task / p.slotChunks();
    with_source<S>(p, h, p.n, 0, [&](auto &src) { pass2_from(p, task, src); });
  }

  /** Pass 2 of one slot chunk of head h, recomputing scores through `src` when pass 1 could
   *  not keep them. */
  template <class Src> static void pass2_from(const AttendPlan &p, int task, Src &src) {
    const int chunks = p.slotChunks();
    const int h = task / chunks, c0 = (task % chunks) * p.chunk, len = p.kv->lengths[h];
    if (c0 >= len) return;
    const int cn = std::min(p.chunk, len - c0), G = p.G, n = p.n;
    const kvp_stats_out &st = *p.st;
    const kvp_kv_layout &kv = *p.kv;
    const int32_t *kpos = kv.positions + size_t(h) * p.cap + c0;
    thread_local std::vector<float> buf;
    buf.resize(size_t(2) * cn + (p.scores ? 0 : size_t(G) * cn));
    float *pr = buf.data(), *P = pr + cn, *s = P + cn;  // s: [G][cn] recomputed scores
    if (!p.scores) src.block(c0, cn);
    int minP = kpos[0], maxP = kpos[0];
    for (int j = 1; j < cn; j++) { minP = std::min(minP, kpos[j]); maxP = std::max(maxP, kpos[j]); }
    const size_t so = size_t(h) * p.cap + c0;
    for (float *f : slot_stat_arrays(st))
      if (f) std::fill_n(f + so, cn, 0.f);
    for (int i = 0; i < n; i++) {
      const int qp = p.a->q_positions[i];
      const float wc = st.cumulative ? 1.f : 0.f, ww = (st.window && i >= p.windowFrom) ? 1.f : 0.f;
      const float wl = (st.last_query && i == n - 1) ? 1.f : 0.f;
      const float wt = (st.text_column && p.a->q_modality[i] == 0) ? 1.f : 0.f;
      const float wr = st.redistributed ? float(qp) + 1.f : 0.f;
      if ((wc == 0.f && ww == 0.f && wl == 0.f && wt == 0.f && wr == 0.f) || minP > qp) continue;
      if (!p.scores) {
        // All G query heads of the row against the chunk, K read once per group (as pass 1).
        for (int g0 = 0; g0 < G; g0 += 4) {
          const int rn = std::min(4, G - g0);
          const float *qs[4];
          float *ss[4];
          for (int k = 0; k < rn; k++) { qs[k] = p.a->q + p.qIndex(i, h, g0 + k); ss[k] = s + size_t(g0 + k) * cn; }
          src.chunk_scores(rn, qs, ss);
        }
        if (maxP > qp)
          for (int g = 0; g < G; g++)
            for (int j = 0; j < cn; j++) if (kpos[j] > qp) s[size_t(g) * cn + j] = kNegInf;
      }
      // Every statistic is a per-row multiple of P = Σ_g p_g: sum the group first, then one
      // accumulate per statistic (not one per statistic and query head).
      bool any = false;
      for (int g = 0; g < G; g++) {
        const float L = p.lse[(size_t(h) * n + i) * G + g];
        if (L == kNegInf) continue;
        const float *sr = p.scores ? p.scoreRow(h, i * G + g) + c0 : s + size_t(g) * cn;
        O::exp_sub(sr, any ? pr : P, cn, L);
        if (any) O::axpy(1.f, pr, P, cn);
        any = true;
      }
      if (!any) continue;
      if (wc != 0.f) O::axpy(wc, P, st.cumulative + so, cn);
      if (ww != 0.f) O::axpy(ww, P, st.window + so, cn);
      if (wl != 0.f) O::axpy(wl, P, st.last_query + so, cn);
      if (wt != 0.f) O::axpy(wt, P, st.text_column + so, cn);
      if (wr != 0.f) O::axpy(wr, P, st.redistributed + so, cn);
    }
    if (st.redistributed) {
      for (int j = 0; j < cn; j++) {
        const int32_t *q = p.sortedQpos;
        const long count = long(n) - long(std::lower_bound(q, q + n, kpos[j]) - q);
        st.redistributed[so + j] = count > 0 ? st.redistributed[so + j] / float(count) : 0.f;
      }
    }
  }
};

}  // namespace kvp
