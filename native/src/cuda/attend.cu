// CUDA attention with fused statistics (semantics of kvp_attend). Pass 1: one warp per query
// row (token i, query head g of KV head h) and KV split, online softmax with the row extras
// (entropy, flows); combine: merges the splits per row, writes out/lse/entropy/flows;
// pass 2: one thread per slot for the slot-aligned statistics from p = exp(s − lse).
#include <algorithm>
#include <cmath>
#include "cuda_common.cuh"
#include "kvprism_cuda.h"

namespace kvpc {

constexpr int KMAX = 8;  // head dims per lane: headDim ≤ 256
constexpr float NEG_INF = -INFINITY;

struct DevPlan {
  const float *q;
  const int32_t *qpos;
  const uint8_t *qmod;
  float *out;
  const void *keys, *values;
  const int32_t *lengths, *kpos;
  const uint8_t *kmod;
  int n, qHeads, kvHeads, G, D, cap, splits, lmax, windowFrom;
  float scale;
  float *part, *lse, *scores;
  kvp_stats_out st;
};

template <int DT> __global__ void pass1(DevPlan p) {
  const int sp = blockIdx.x, i = blockIdx.y, h = blockIdx.z, g = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int len = p.lengths[h], per = (len + p.splits - 1) / p.splits;
  const int j0 = min(len, sp * per), j1 = min(len, j0 + per);
  const float *qr = p.q + (size_t(i) * p.qHeads + size_t(h) * p.G + g) * p.D;
  float q[KMAX], acc[KMAX];
  for (int k = 0; k < KMAX; k++) {
    const int d = lane + 32 * k;
    q[k] = d < p.D ? qr[d] : 0.f;
    acc[k] = 0.f;
  }
  float m = NEG_INF, l = 0.f, t = 0.f, fl[4] = {0.f, 0.f, 0.f, 0.f};
  const int qp = p.qpos[i];
  const size_t row = (size_t(h) * p.n + i) * p.G + g;
  // U slots per step: their K (then V) loads are all in flight before any is consumed.
  constexpr int U = 4;
  for (int j = j0; j < j1; j += U) {
    float sc[U];
    bool vis[U];
    {
      float kreg[U][KMAX];
      for (int u = 0; u < U; u++) {
        const size_t slot = size_t(h) * p.cap + j + u;
        vis[u] = j + u < j1 && p.kpos[slot] <= qp;
        for (int k = 0; k < KMAX; k++) {
          const int d = lane + 32 * k;
          kreg[u][k] = vis[u] && d < p.D ? load_elem<DT>(p.keys, slot * p.D + d) : 0.f;
        }
      }
      for (int u = 0; u < U; u++) {
        float part = 0.f;
        for (int k = 0; k < KMAX; k++) part += q[k] * kreg[u][k];
        part = warp_sum(part);
        sc[u] = vis[u] ? part * p.scale : NEG_INF;
        if (p.scores && lane == 0 && j + u < j1) p.scores[row * p.lmax + j + u] = sc[u];
      }
    }
    float bm = sc[0];
    for (int u = 1; u < U; u++) bm = fmaxf(bm, sc[u]);
    if (bm == NEG_INF) continue;
    const float mn = fmaxf(m, bm);
    const float alpha = m == NEG_INF ? 0.f : __expf(m - mn);
    float pj[U], psum = 0.f, ts = 0.f;
    for (int c = 0; c < 4; c++) fl[c] *= alpha;
    for (int u = 0; u < U; u++) {
      pj[u] = vis[u] ? __expf(sc[u] - mn) : 0.f;
      psum += pj[u];
      if (vis[u]) {
        ts += pj[u] * sc[u];
        fl[p.kmod[size_t(h) * p.cap + j + u] & 3] += pj[u];
      }
    }
    l = l * alpha + psum;
    t = t * alpha + ts;
    for (int k = 0; k < KMAX; k++) {
      const int d = lane + 32 * k;
      if (d >= p.D) continue;
      float a = acc[k] * alpha;
      for (int u = 0; u < U; u++)
        if (vis[u]) a += pj[u] * load_elem<DT>(p.values, (size_t(h) * p.cap + j + u) * p.D + d);
      acc[k] = a;
    }
    m = mn;
  }
  float *dst = p.part + (row * p.splits + sp) * (p.D + 7);
  if (lane == 0) {
    dst[0] = m; dst[1] = l; dst[2] = t;
    for (int c = 0; c < 4; c++) dst[3 + c] = fl[c];
  }
  for (int k = 0; k < KMAX; k++) {
    const int d = lane + 32 * k;
    if (d < p.D) dst[7 + d] = acc[k];
  }
}

__global__ void combine(DevPlan p) {
  const int i = blockIdx.x, h = blockIdx.y, g = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __shared__ float entropy[32];
  const size_t row = (size_t(h) * p.n + i) * p.G + g;
  const float *base = p.part + row * p.splits * (p.D + 7);
  float M = NEG_INF;
  for (int s = 0; s < p.splits; s++) M = fmaxf(M, base[s * (p.D + 7)]);
  float l = 0.f, t = 0.f, fl[4] = {0.f, 0.f, 0.f, 0.f}, acc[KMAX];
  for (int k = 0; k < KMAX; k++) acc[k] = 0.f;
  if (M != NEG_INF) {
    for (int s = 0; s < p.splits; s++) {
      const float *r = base + s * (p.D + 7);
      if (r[0] == NEG_INF) continue;
      const float w = __expf(r[0] - M);
      l += w * r[1];
      t += w * r[2];
      for (int c = 0; c < 4; c++) fl[c] += w * r[3 + c];
      for (int k = 0; k < KMAX; k++) {
        const int d = lane + 32 * k;
        if (d < p.D) acc[k] += w * r[7 + d];
      }
    }
  }
  float *out = p.out + (size_t(i) * p.qHeads + size_t(h) * p.G + g) * p.D;
  const bool seen = l > 0.f;
  const float inv = seen ? 1.f / l : 0.f;
  for (int k = 0; k < KMAX; k++) {
    const int d = lane + 32 * k;
    if (d < p.D) out[d] = acc[k] * inv;
  }
  const float L = seen ? M + logf(l) : NEG_INF;
  if (lane == 0) {
    p.lse[row] = L;
    entropy[g] = seen ? L - t * inv : 0.f;
    if (p.st.flows && seen) {
      const int qm = p.qmod[i] & 3;
      for (int c = 0; c < 4; c++) atomicAdd(p.st.flows + size_t(h) * 16 + qm * 4 + c, double(fl[c]) * inv);
    }
  }
  __syncthreads();
  if (threadIdx.x == 0 && p.st.row_entropy) {
    float e = 0.f;
    for (int k = 0; k < p.G; k++) e += entropy[k];
    p.st.row_entropy[size_t(h) * p.n + i] = e / float(p.G);
  }
}

template <int DT> __global__ void pass2(DevPlan p) {
  const int h = blockIdx.y, j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= p.lengths[h]) return;
  const size_t slot = size_t(h) * p.cap + j;
  const int kp = p.kpos[slot];
  float cum = 0.f, win = 0.f, last = 0.f, text = 0.f, red = 0.f;
  int count = 0;
  for (int i = 0; i < p.n; i++) {
    const int qp = p.qpos[i];
    if (kp > qp) continue;
    count++;
    const bool inWin = p.st.window && i >= p.windowFrom, isLast = p.st.last_query && i == p.n - 1;
    const bool isText = p.st.text_column && p.qmod[i] == 0;
    if (!p.st.cumulative && !p.st.redistributed && !inWin && !isLast && !isText) continue;
    for (int g = 0; g < p.G; g++) {
      const size_t row = (size_t(h) * p.n + i) * p.G + g;
      const float L = p.lse[row];
      if (L == NEG_INF) continue;
      float s;
      if (p.scores) {
        s = p.scores[row * p.lmax + j];
      } else {
        const float *qr = p.q + (size_t(i) * p.qHeads + size_t(h) * p.G + g) * p.D;
        s = 0.f;
        for (int d = 0; d < p.D; d++) s += qr[d] * load_elem<DT>(p.keys, slot * p.D + d);
        s *= p.scale;
      }
      const float pr = __expf(s - L);
      cum += pr;
      if (inWin) win += pr;
      if (isLast) last += pr;
      if (isText) text += pr;
      red += pr * (float(qp) + 1.f);
    }
  }
  if (p.st.cumulative) p.st.cumulative[slot] = cum;
  if (p.st.window) p.st.window[slot] = win;
  if (p.st.last_query) p.st.last_query[slot] = last;
  if (p.st.text_column) p.st.text_column[slot] = text;
  if (p.st.redistributed) p.st.redistributed[slot] = count ? red / float(count) : 0.f;
}

template <int DT> void launch(const DevPlan &p, cudaStream_t s, bool slotStats) {
  pass1<DT><<<dim3(p.splits, p.n, p.kvHeads), 32 * p.G, 0, s>>>(p);
  combine<<<dim3(p.n, p.kvHeads), 32 * p.G, 0, s>>>(p);
  if (slotStats && p.lmax > 0) pass2<DT><<<dim3((p.lmax + 127) / 128, p.kvHeads), 128, 0, s>>>(p);
}

}  // namespace kvpc

extern "C" int kvp_cuda_attend_device(const kvp_attend_args *a, const kvp_kv_layout *kv, kvp_stats_out *stIn, void *stream) {
  using namespace kvpc;
  if (!a || !kv) return kvp::fail("kvp_cuda_attend_device: args and kv must not be null", KVP_EINVAL);
  if (kv->kv_heads < 1 || a->q_heads < 1 || a->q_heads % kv->kv_heads || a->n < 0 || kv->capacity < 0)
    return kvp::fail("kvp_cuda_attend_device: bad shape (q_heads a multiple of kv_heads ≥ 1, n ≥ 0)", KVP_EINVAL);
  if (kv->dtype != KVP_F32 && kv->dtype != KVP_F16 && kv->dtype != KVP_BF16)
    return kvp::fail("kvp_cuda_attend_device: CUDA attention reads dense f32 / f16 / bf16 K/V only; coded storage (int8-fp8, int4, int2) runs on the CPU kernels", KVP_EINVAL);
  if (kv->key_channels)
    return kvp::fail("kvp_cuda_attend_device: CUDA attention reads whole key rows only; pruned keys (kv.key_channels, ThinK) run on the CPU kernels", KVP_EINVAL);
  const int G = a->q_heads / kv->kv_heads;
  if (kv->head_dim < 1 || kv->head_dim > 32 * KMAX || G > 32)
    return kvp::fail("kvp_cuda_attend_device: CUDA kernels support head_dim ≤ 256 and GQA groups ≤ 32", KVP_EINVAL);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  kvp_stats_out st = stIn ? *stIn : kvp_stats_out{};
  if (st.window && st.window_tokens <= 0) st.window = nullptr;
  const size_t slots = size_t(kv->kv_heads) * kv->capacity;
  for (float *f : {st.cumulative, st.window, st.last_query, st.text_column, st.redistributed})
    if (f) KVP_CUDA_TRY(cudaMemsetAsync(f, 0, slots * 4, s));
  if (st.flows) KVP_CUDA_TRY(cudaMemsetAsync(st.flows, 0, size_t(kv->kv_heads) * 16 * 8, s));
  if (st.row_entropy) KVP_CUDA_TRY(cudaMemsetAsync(st.row_entropy, 0, size_t(kv->kv_heads) * a->n * 4, s));
  if (a->n == 0) return KVP_OK;
  // Sized by capacity (an upper bound of every lengths[h]) so nothing is read back: the call
  // stays asynchronous on `stream`.
  DevPlan p{a->q, a->q_positions, a->q_modality, a->out, kv->keys, kv->values, kv->lengths, kv->positions, kv->modality,
            a->n, a->q_heads, kv->kv_heads, G, kv->head_dim, kv->capacity, 1, kv->capacity, 0, a->scale, nullptr, nullptr, nullptr, st};
  p.windowFrom = st.window ? std::max(0, a->n - st.window_tokens) : a->n;
  int dev = 0, sms = 80;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  // Enough KV splits for ~16 blocks per SM, but at least 64 slots per split.
  const long base = long(p.kvHeads) * p.n;
  p.splits = int(std::max(1L, std::min<long>((16L * sms + base - 1) / base, (p.lmax + 63) / 64)));
  const bool slotStats = st.cumulative || st.window || st.last_query || st.text_column || st.redistributed;
  const size_t rows = size_t(p.kvHeads) * p.n * G;
  const size_t scoreFloats = slotStats ? rows * p.lmax : 0;
  const bool keepScores = scoreFloats > 0 && scoreFloats <= (size_t(256) << 20);
  KVP_CUDA_TRY(cudaMallocAsync(&p.part, rows * p.splits * (p.D + 7) * 4, s));
  KVP_CUDA_TRY(cudaMallocAsync(&p.lse, rows * 4, s));
  if (keepScores) KVP_CUDA_TRY(cudaMallocAsync(&p.scores, scoreFloats * 4, s));
  if (kv->dtype == KVP_F32) launch<KVP_F32>(p, s, slotStats);
  else if (kv->dtype == KVP_F16) launch<KVP_F16>(p, s, slotStats);
  else launch<KVP_BF16>(p, s, slotStats);
  KVP_CUDA_TRY(cudaGetLastError());
  cudaFreeAsync(p.part, s);
  cudaFreeAsync(p.lse, s);
  if (p.scores) cudaFreeAsync(p.scores, s);
  return KVP_OK;
}
