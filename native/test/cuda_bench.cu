// Device bandwidth next to decode attention: a triad kernel (3 × 1 GiB f32) gives the GPU's
// achievable bandwidth; kvp_cuda_attend_device at 1k/8k/32k/128k tokens × 8 KV heads × dim 128
// (GQA 4, f32 and f16, statistics off and all on) gives ours. Prints ratios.
#include <cstdio>
#include <vector>
#include <cuda_runtime.h>
#include "kvprism_cuda.h"

__global__ void triad(float *a, const float *b, const float *c, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) a[i] = b[i] + 3.f * c[i];
}

template <class F> static float time_ms(F &&f, int reps) {
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  f();
  cudaEventRecord(e0);
  for (int i = 0; i < reps; i++) f();
  cudaEventRecord(e1);
  cudaEventSynchronize(e1);
  float ms = 0;
  cudaEventElapsedTime(&ms, e0, e1);
  return ms / reps;
}

void run_bench() {
  const size_t n = size_t(1) << 28;
  float *a, *b, *c;
  cudaMalloc(&a, n * 4); cudaMalloc(&b, n * 4); cudaMalloc(&c, n * 4);
  cudaMemset(b, 0, n * 4); cudaMemset(c, 0, n * 4);
  const float tms = time_ms([&] { triad<<<4096, 256>>>(a, b, c, n); }, 20);
  const double triadGBs = 3.0 * n * 4 / (tms * 1e6);
  cudaFree(a); cudaFree(b); cudaFree(c);
  std::printf("\ntriad: %.0f GB/s\n", triadGBs);
  std::printf("tokens dtype   ms(none)   GB/s  ÷triad  ms(all stats)  stats÷none\n");
  const int H = 8, G = 4, D = 128;
  for (kvp_dtype dt : {KVP_F32, KVP_F16}) {
    for (int len : {1024, 8192, 32768, 131072}) {
      const size_t elems = size_t(H) * len * D, eb = dt == KVP_F32 ? 4 : 2;
      void *k, *v;
      cudaMalloc(&k, elems * eb); cudaMalloc(&v, elems * eb);
      cudaMemset(k, 0, elems * eb); cudaMemset(v, 0, elems * eb);
      std::vector<int32_t> lengths(H, len), pos(size_t(H) * len);
      for (size_t i = 0; i < pos.size(); i++) pos[i] = int32_t(i % len);
      int32_t *dl, *dp, *dq;
      uint8_t *dm, *dqm;
      float *q, *out;
      cudaMalloc(&dl, H * 4); cudaMalloc(&dp, pos.size() * 4); cudaMalloc(&dm, pos.size());
      cudaMemcpy(dl, lengths.data(), H * 4, cudaMemcpyHostToDevice);
      cudaMemcpy(dp, pos.data(), pos.size() * 4, cudaMemcpyHostToDevice);
      cudaMemset(dm, 0, pos.size());
      const int32_t qp = len;
      cudaMalloc(&dq, 4); cudaMemcpy(dq, &qp, 4, cudaMemcpyHostToDevice);
      cudaMalloc(&dqm, 1); cudaMemset(dqm, 0, 1);
      cudaMalloc(&q, H * G * D * 4); cudaMemset(q, 0, H * G * D * 4);
      cudaMalloc(&out, H * G * D * 4);
      float *s[5], *ent;
      double *flows;
      for (auto &p : s) cudaMalloc(&p, size_t(H) * len * 4);
      cudaMalloc(&ent, H * 4); cudaMalloc(&flows, H * 16 * 8);
      kvp_kv_layout kv{H, D, len, dt, k, v, dl, dp, dm};
      kvp_attend_args args{q, 1, H * G, dq, dqm, 0.088f, out};
      kvp_stats_out st{s[0], s[1], 32, s[2], s[3], s[4], flows, ent};
      const float none = time_ms([&] { kvp_cuda_attend_device(&args, &kv, nullptr, nullptr); }, 20);
      const float all = time_ms([&] { kvp_cuda_attend_device(&args, &kv, &st, nullptr); }, 20);
      const double gbs = 2.0 * elems * eb / (none * 1e6);
      std::printf("%6d %-5s %10.4f %6.0f %7.2f %14.4f %11.2f\n", len, dt == KVP_F32 ? "f32" : "f16", none, gbs, gbs / triadGBs, all, all / none);
      for (auto &p : s) cudaFree(p);
      cudaFree(k); cudaFree(v); cudaFree(dl); cudaFree(dp); cudaFree(dm); cudaFree(dq); cudaFree(dqm); cudaFree(q); cudaFree(out); cudaFree(ent); cudaFree(flows);
    }
  }
}
