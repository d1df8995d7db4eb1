// Model-side ops of the C ABI: linear (GEMM/GEMV), RMSNorm, RoPE, SiLU×gate.
#include <cmath>
#include <string>
#include <vector>
#include "errors.h"
#include "kernel_table.h"
#include "thread_pool.h"

using kvp::fail;

extern "C" int kvp_linear(const float *x, int32_t m, const void *w, kvp_dtype dt, int32_t N, int32_t K,
                          const float *bias, float *y) {
  if (m < 0 || N < 0 || K < 0) return fail("kvp_linear: m, out_features and in_features must be ≥ 0");
  if (dt != KVP_F32 && dt != KVP_F16 && dt != KVP_BF16) return fail("kvp_linear: w_dtype must be KVP_F32, KVP_F16 or KVP_BF16");
  if (m == 0 || N == 0) return KVP_OK;
  if (!x || !w || !y) return fail("kvp_linear: x, w and y must not be null");
  kvp::LinearPlan p{x, m, w, dt, N, K, bias, y, 16};
  // Small m (GEMV) is bound by weight bandwidth: more, smaller tasks balance better.
  if (m < 4) p.rowsPerTask = 8;
  const kvp::KernelTable &k = kvp::kernels();
  kvp::parallel_for(p.tasks(), [&](int t) { k.linearTask(p, t); }, double(m) * N * K);
  return KVP_OK;
}

extern "C" int kvp_rms_norm(const float *x, int32_t rows, int32_t dim, const float *weight, float eps, float *y) {
  if (rows < 0 || dim < 1) return fail("kvp_rms_norm: rows must be ≥ 0 and dim ≥ 1");
  if (rows == 0) return KVP_OK;
  if (!x || !weight || !y) return fail("kvp_rms_norm: x, weight and y must not be null");
  const kvp::KernelTable &k = kvp::kernels();
  auto row = [&](int r) {
    const float *xr = x + size_t(r) * dim;
    float *yr = y + size_t(r) * dim;
    const float inv = 1.f / std::sqrt(k.dot(xr, xr, dim) / float(dim) + eps);
    for (int i = 0; i < dim; i++) yr[i] = xr[i] * inv * weight[i];
  };
  if (size_t(rows) * dim < 65536) for (int r = 0; r < rows; r++) row(r);
  else kvp::parallel_for(rows, row);
  return KVP_OK;
}

extern "C" int kvp_rope(float *x, int32_t n, int32_t heads, int32_t hd, int32_t rd, const float *cs, const float *sn) {
  if (n < 0 || heads < 0 || hd < 1) return fail("kvp_rope: n and heads must be ≥ 0 and head_dim ≥ 1");
  if (rd < 0 || rd % 2 || rd > hd) return fail("kvp_rope: rotary_dim " + std::to_string(rd) + " must be even and ≤ head_dim " + std::to_string(hd));
  if (n == 0 || heads == 0 || rd == 0) return KVP_OK;
  if (!x || !cs || !sn) return fail("kvp_rope: x, cos and sin must not be null");
  const int half = rd / 2;
  for (int t = 0; t < n; t++) {
    const float *c = cs + size_t(t) * half, *s = sn + size_t(t) * half;
    for (int h = 0; h < heads; h++) {
      float *a = x + (size_t(t) * heads + h) * hd, *b = a + half;
      for (int i = 0; i < half; i++) {
        const float ai = a[i], bi = b[i];
        a[i] = ai * c[i] - bi * s[i];
        b[i] = bi * c[i] + ai * s[i];
      }
    }
  }
  return KVP_OK;
}

extern "C" int kvp_silu_mul(const float *gate, const float *up, float *out, size_t count) {
  if (count == 0) return KVP_OK;
  if (!gate || !up || !out) return fail("kvp_silu_mul: gate, up and out must not be null");
  const kvp::KernelTable &k = kvp::kernels();
  const size_t block = 16384;
  if (count <= block) {
    k.siluMul(gate, up, out, count);
    return KVP_OK;
  }
  const int tasks = int((count + block - 1) / block);
  kvp::parallel_for(tasks, [&](int t) {
    const size_t o = size_t(t) * block, c = std::min(block, count - o);
    k.siluMul(gate + o, up + o, out + o, c);
  });
  return KVP_OK;
}
