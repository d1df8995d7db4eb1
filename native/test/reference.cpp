// See reference.h. Straightforward loops; probabilities are exact softmax in double.
#include "reference.h"

#include <cmath>
#include "../src/cpu/half.h"

namespace ref {

float kv_at(const kvp_kv_layout &kv, const void *buf, int h, int slot, int d) {
  const size_t i = (size_t(h) * kv.capacity + slot) * kv.head_dim + d;
  if (kv.dtype == KVP_F32) return static_cast<const float *>(buf)[i];
  const uint16_t b = static_cast<const uint16_t *>(buf)[i];
  return kv.dtype == KVP_BF16 ? kvp::bf16_to_f32(b) : kvp::f16_to_f32(b);
}

void attend(const kvp_attend_args &a, const kvp_kv_layout &kv, int W, std::vector<double> &out, Stats &st) {
  const int n = a.n, H = kv.kv_heads, G = a.q_heads / H, D = kv.head_dim, cap = kv.capacity;
  out.assign(size_t(n) * a.q_heads * D, 0.0);
  for (auto *v : {&st.cumulative, &st.window, &st.lastQuery, &st.textColumn, &st.redistributed}) v->assign(size_t(H) * cap, 0.0);
  st.flows.assign(size_t(H) * 16, 0.0);
  st.rowEntropy.assign(size_t(H) * n, 0.0);
  for (int h = 0; h < H; h++) {
    const int len = kv.lengths[h];
    std::vector<double> s(len), p(len), red(len, 0.0);
    for (int i = 0; i < n; i++) {
      for (int g = 0; g < G; g++) {
        const float *q = a.q + (size_t(i) * a.q_heads + h * G + g) * D;
        double mx = -INFINITY;
        for (int j = 0; j < len; j++) {
          if (kv.positions[size_t(h) * cap + j] > a.q_positions[i]) { s[j] = -INFINITY; continue; }
          double acc = 0;
          for (int d = 0; d < D; d++) acc += double(q[d]) * kv_at(kv, kv.keys, h, j, d);
          s[j] = acc * a.scale;
          mx = std::max(mx, s[j]);
        }
        if (mx == -INFINITY) continue;
        double sum = 0;
        for (int j = 0; j < len; j++) sum += (p[j] = s[j] == -INFINITY ? 0.0 : std::exp(s[j] - mx));
        double ent = 0;
        for (int j = 0; j < len; j++) {
          p[j] /= sum;
          if (p[j] > 0) ent -= p[j] * std::log(p[j]);
        }
        st.rowEntropy[size_t(h) * n + i] += ent / G;
        double *o = out.data() + (size_t(i) * a.q_heads + h * G + g) * D;
        for (int j = 0; j < len; j++) {
          if (p[j] == 0) continue;
          for (int d = 0; d < D; d++) o[d] += p[j] * kv_at(kv, kv.values, h, j, d);
          const size_t so = size_t(h) * cap + j;
          st.cumulative[so] += p[j];
          if (i >= n - W) st.window[so] += p[j];
          if (i == n - 1) st.lastQuery[so] += p[j];
          if (a.q_modality && a.q_modality[i] == 0) st.textColumn[so] += p[j];
          red[j] += p[j] * (a.q_positions[i] + 1.0);
          if (a.q_modality) st.flows[size_t(h) * 16 + a.q_modality[i] * 4 + kv.modality[so]] += p[j];
        }
      }
    }
    for (int j = 0; j < len; j++) {
      int count = 0;
      for (int i = 0; i < n; i++) count += a.q_positions[i] >= kv.positions[size_t(h) * cap + j];
      st.redistributed[size_t(h) * cap + j] = count ? red[j] / count : 0.0;
    }
  }
}

void linear(const float *x, int m, const kvp_kv_layout &w, int N, int K, const float *bias, std::vector<double> &y) {
  y.assign(size_t(m) * N, 0.0);
  for (int r = 0; r < m; r++)
    for (int o = 0; o < N; o++) {
      double acc = bias ? bias[o] : 0.0;
      for (int k = 0; k < K; k++) acc += double(x[size_t(r) * K + k]) * kv_at(w, w.keys, 0, o, k);
      y[size_t(r) * N + o] = acc;
    }
}

}  // namespace ref
