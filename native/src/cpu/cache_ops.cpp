// Cache maintenance of the C ABI: compaction, weighted merge, nearest-pivot cosine, top-k.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>
#include "errors.h"
#include "half.h"
#include "kernel_table.h"
#include "thread_pool.h"

using kvp::fail;

namespace {

size_t dtype_bytes(kvp_dtype d) { return d == KVP_F32 ? 4 : 2; }
bool valid_dtype(kvp_dtype d) { return d == KVP_F32 || d == KVP_F16 || d == KVP_BF16; }

/** Row r of a [rows][dim] buffer of dtype as f32 (tmp when widening is needed). */
const float *row_f32(const void *base, kvp_dtype dt, size_t r, int dim, float *tmp) {
  if (dt == KVP_F32) return static_cast<const float *>(base) + r * dim;
  kvp::kernels().cvt16(static_cast<const uint16_t *>(base) + r * dim, tmp, dim, dt == KVP_BF16);
  return tmp;
}

}  // namespace

extern "C" int kvp_compact(void *rows, size_t elem, int32_t rowElems, int32_t heads, int32_t cap, int32_t head,
                           const int32_t *keep, int32_t count) {
  if (!rows && heads > 0 && cap > 0) return fail("kvp_compact: rows must not be null");
  if (elem == 0 || elem > 8 || rowElems < 1) return fail("kvp_compact: elem_bytes must be 1..8 and row_elems ≥ 1");
  if (head < 0 || head >= heads) return fail("kvp_compact: head " + std::to_string(head) + " is outside [0, heads = " + std::to_string(heads) + ")");
  if (count < 0 || count > cap) return fail("kvp_compact: count must be in [0, capacity]");
  if (count > 0 && !keep) return fail("kvp_compact: keep must not be null");
  for (int s = 0; s < count; s++) {
    if (keep[s] < 0 || keep[s] >= cap) return fail("kvp_compact: keep[" + std::to_string(s) + "] = " + std::to_string(keep[s]) + " is outside [0, capacity)");
    if (s > 0 && keep[s] <= keep[s - 1]) return fail("kvp_compact: keep must be strictly increasing (at index " + std::to_string(s) + ")");
  }
  const size_t rowBytes = elem * size_t(rowElems);
  char *base = static_cast<char *>(rows) + size_t(head) * cap * rowBytes;
  // keep[s] ≥ s, so a forward copy never overwrites a row still to be read.
  for (int s = 0; s < count; s++)
    if (keep[s] != s) std::memmove(base + size_t(s) * rowBytes, base + size_t(keep[s]) * rowBytes, rowBytes);
  return KVP_OK;
}

extern "C" int kvp_merge(void *rows, kvp_dtype dt, int32_t slots, int32_t dim, int32_t into, const int32_t *from,
                         const float *weights, int32_t count) {
  if (!valid_dtype(dt)) return fail("kvp_merge: dtype must be KVP_F32, KVP_F16 or KVP_BF16");
  if (dim < 1 || slots < 0) return fail("kvp_merge: dim must be ≥ 1 and slots ≥ 0");
  if (into < 0 || into >= slots) return fail("kvp_merge: into " + std::to_string(into) + " is outside [0, slots = " + std::to_string(slots) + ")");
  if (count < 0 || (count > 0 && (!from || !weights))) return fail("kvp_merge: from and weights must hold count ≥ 0 entries");
  for (int k = 0; k < count; k++)
    if (from[k] < 0 || from[k] >= slots) return fail("kvp_merge: from[" + std::to_string(k) + "] = " + std::to_string(from[k]) + " is outside [0, slots)");
  std::vector<float> acc(dim, 0.f), tmp(dim);
  for (int k = 0; k < count; k++) {
    const float *r = row_f32(rows, dt, size_t(from[k]), dim, tmp.data());
    for (int d = 0; d < dim; d++) acc[d] += weights[k] * r[d];
  }
  if (dt == KVP_F32) {
    std::copy(acc.begin(), acc.end(), static_cast<float *>(rows) + size_t(into) * dim);
  } else {
    uint16_t *dst = static_cast<uint16_t *>(rows) + size_t(into) * dim;
    for (int d = 0; d < dim; d++) dst[d] = dt == KVP_BF16 ? kvp::f32_to_bf16(acc[d]) : kvp::f32_to_f16(acc[d]);
  }
  return KVP_OK;
}

extern "C" int kvp_nearest_cosine(const void *x, kvp_dtype xd, int32_t n, const void *piv, kvp_dtype pd, int32_t m,
                                  int32_t dim, int32_t *outIdx, float *outSim) {
  if (!valid_dtype(xd) || !valid_dtype(pd)) return fail("kvp_nearest_cosine: dtypes must be KVP_F32, KVP_F16 or KVP_BF16");
  if (n < 0 || m < 0 || dim < 1) return fail("kvp_nearest_cosine: n, m must be ≥ 0 and dim ≥ 1");
  if (n == 0) return KVP_OK;
  if (!x || !outIdx || !outSim || (m > 0 && !piv)) return fail("kvp_nearest_cosine: x, pivots, out_index and out_sim must not be null");
  const kvp::KernelTable &k = kvp::kernels();
  // Pivots widened and L2-normalised once ([m][dim] f32).
  std::vector<float> P(size_t(m) * dim), tmp(dim);
  for (int i = 0; i < m; i++) {
    const float *r = row_f32(piv, pd, size_t(i), dim, tmp.data());
    const float nrm = std::sqrt(k.dot(r, r, dim));
    for (int d = 0; d < dim; d++) P[size_t(i) * dim + d] = nrm > 0.f ? r[d] / nrm : 0.f;
  }
  const int block = 64;
  kvp::parallel_for((n + block - 1) / block, [&](int t) {
    std::vector<float> buf(dim);
    for (int i = t * block; i < std::min(n, (t + 1) * block); i++) {
      const float *r = row_f32(x, xd, size_t(i), dim, buf.data());
      const float nrm = std::sqrt(k.dot(r, r, dim));
      int best = -1;
      float bestSim = -INFINITY;
      for (int j = 0; j < m; j++) {
        const float s = k.dot(r, P.data() + size_t(j) * dim, dim);
        if (s > bestSim) { bestSim = s; best = j; }
      }
      outIdx[i] = best;
      outSim[i] = best < 0 || !(nrm > 0.f) ? 0.f : bestSim / nrm;
    }
  });
  return KVP_OK;
}

extern "C" int kvp_topk(const float *scores, int32_t n, int32_t k, int32_t *out) {
  if (n < 0 || k < 0 || k > n) return fail("kvp_topk: need 0 ≤ k ≤ n; got k = " + std::to_string(k) + ", n = " + std::to_string(n));
  if (k == 0) return KVP_OK;
  if (!scores || !out) return fail("kvp_topk: scores and out_index must not be null");
  std::vector<int32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  auto key = [&](int32_t i) { return std::isnan(scores[i]) ? -INFINITY : scores[i]; };
  auto better = [&](int32_t a, int32_t b) {
    const float ka = key(a), kb = key(b);
    if (ka != kb) return ka > kb;
    if (std::isnan(scores[a]) != std::isnan(scores[b])) return !std::isnan(scores[a]);
    return a < b;
  };
  std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), better);
  std::sort(idx.begin(), idx.begin() + k);
  std::copy(idx.begin(), idx.begin() + k, out);
  return KVP_OK;
}
