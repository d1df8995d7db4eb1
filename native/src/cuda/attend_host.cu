// Host-pointer wrapper of kvp_cuda_attend_device: validates with the CPU checks, copies the
// inputs to the device, runs, copies the outputs back, frees (used by Node and the tests).
#include <vector>
#include "cuda_common.cuh"
#include "kvprism_cuda.h"

namespace kvp {
int validate_attend(const kvp_attend_args *a, const kvp_kv_layout *kv, const kvp_stats_out *st);
}

namespace {

/** Device allocations freed on scope exit. */
struct DeviceArena {
  std::vector<void *> ptrs;
  ~DeviceArena() {
    for (void *p : ptrs) cudaFree(p);
  }
  template <class T> cudaError_t copy_in(const T *&dst, const T *src, size_t count) {
    dst = nullptr;
    if (!src || count == 0) return cudaSuccess;
    void *d = nullptr;
    cudaError_t e = cudaMalloc(&d, count * sizeof(T));
    if (e != cudaSuccess) return e;
    ptrs.push_back(d);
    dst = static_cast<const T *>(d);
    return cudaMemcpy(d, src, count * sizeof(T), cudaMemcpyHostToDevice);
  }
  template <class T> cudaError_t alloc(T *&dst, const T *like, size_t count) {
    dst = nullptr;
    if (!like || count == 0) return cudaSuccess;
    void *d = nullptr;
    cudaError_t e = cudaMalloc(&d, count * sizeof(T));
    if (e == cudaSuccess) ptrs.push_back(d), dst = static_cast<T *>(d);
    return e;
  }
};

}  // namespace

extern "C" int kvp_cuda_attend(const kvp_attend_args *a, const kvp_kv_layout *kv, kvp_stats_out *st) {
  if (int rc = kvp::validate_attend(a, kv, st)) return rc;
  if (kv->dtype != KVP_F32 && kv->dtype != KVP_F16 && kv->dtype != KVP_BF16)
    return kvp::fail("kvp_cuda_attend: CUDA attention reads dense f32 / f16 / bf16 K/V only; coded storage (int8-fp8, int4, int2) runs on the CPU kernels");
  if (kv->key_channels)
    return kvp::fail("kvp_cuda_attend: CUDA attention reads whole key rows only; pruned keys (kv.key_channels, ThinK) run on the CPU kernels");
  if (kvp_cuda_device_count() == 0) return kvp::fail(std::string("kvp_cuda_attend: ") + kvp_cuda_device_name(), KVP_ENODEV);
  const size_t D = kv->head_dim, slots = size_t(kv->kv_heads) * kv->capacity, qLen = size_t(a->n) * a->q_heads * D;
  const size_t kvBytes = slots * D * kvpc::dtype_bytes(kv->dtype);
  DeviceArena arena;
  kvp_attend_args da = *a;
  kvp_kv_layout dkv = *kv;
  const uint8_t *keys = nullptr, *values = nullptr;
  KVP_CUDA_TRY(arena.copy_in(da.q, a->q, qLen));
  KVP_CUDA_TRY(arena.copy_in(da.q_positions, a->q_positions, size_t(a->n)));
  KVP_CUDA_TRY(arena.copy_in(da.q_modality, a->q_modality, size_t(a->n)));
  KVP_CUDA_TRY(arena.alloc(da.out, a->out, qLen));
  KVP_CUDA_TRY(arena.copy_in(keys, static_cast<const uint8_t *>(kv->keys), kvBytes));
  KVP_CUDA_TRY(arena.copy_in(values, static_cast<const uint8_t *>(kv->values), kvBytes));
  dkv.keys = keys;
  dkv.values = values;
  KVP_CUDA_TRY(arena.copy_in(dkv.lengths, kv->lengths, size_t(kv->kv_heads)));
  KVP_CUDA_TRY(arena.copy_in(dkv.positions, kv->positions, slots));
  KVP_CUDA_TRY(arena.copy_in(dkv.modality, kv->modality, slots));
  kvp_stats_out hs = st ? *st : kvp_stats_out{};
  if (hs.window && hs.window_tokens <= 0) hs.window = nullptr;
  kvp_stats_out ds = hs;
  KVP_CUDA_TRY(arena.alloc(ds.cumulative, hs.cumulative, slots));
  KVP_CUDA_TRY(arena.alloc(ds.window, hs.window, slots));
  KVP_CUDA_TRY(arena.alloc(ds.last_query, hs.last_query, slots));
  KVP_CUDA_TRY(arena.alloc(ds.text_column, hs.text_column, slots));
  KVP_CUDA_TRY(arena.alloc(ds.redistributed, hs.redistributed, slots));
  KVP_CUDA_TRY(arena.alloc(ds.flows, hs.flows, size_t(kv->kv_heads) * 16));
  KVP_CUDA_TRY(arena.alloc(ds.row_entropy, hs.row_entropy, size_t(kv->kv_heads) * a->n));
  if (int rc = kvp_cuda_attend_device(&da, &dkv, &ds, nullptr)) return rc;
  KVP_CUDA_TRY(cudaDeviceSynchronize());
  if (qLen) KVP_CUDA_TRY(cudaMemcpy(a->out, da.out, qLen * 4, cudaMemcpyDeviceToHost));
  auto back = [&](float *h, const float *d, size_t count) { return h && count ? cudaMemcpy(h, d, count * 4, cudaMemcpyDeviceToHost) : cudaSuccess; };
  KVP_CUDA_TRY(back(hs.cumulative, ds.cumulative, slots));
  KVP_CUDA_TRY(back(hs.window, ds.window, slots));
  KVP_CUDA_TRY(back(hs.last_query, ds.last_query, slots));
  KVP_CUDA_TRY(back(hs.text_column, ds.text_column, slots));
  KVP_CUDA_TRY(back(hs.redistributed, ds.redistributed, slots));
  KVP_CUDA_TRY(back(hs.row_entropy, ds.row_entropy, size_t(kv->kv_heads) * a->n));
  if (hs.flows) KVP_CUDA_TRY(cudaMemcpy(hs.flows, ds.flows, size_t(kv->kv_heads) * 16 * 8, cudaMemcpyDeviceToHost));
  return KVP_OK;
}
