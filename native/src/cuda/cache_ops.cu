// CUDA compaction (gather of kept rows, via a scratch copy so it is safe in parallel) and
// weighted merge; host-pointer wrappers validate with the CPU entry points' rules.
#include <vector>
#include "cuda_common.cuh"
#include "kvprism_cuda.h"

namespace kvpc {

__global__ void gather_rows(const uint8_t *src, uint8_t *dst, const int32_t *keep, int count, size_t rowBytes) {
  const int s = blockIdx.x;
  if (s >= count) return;
  const uint8_t *from = src + size_t(keep[s]) * rowBytes;
  for (size_t b = threadIdx.x; b < rowBytes; b += blockDim.x) dst[size_t(s) * rowBytes + b] = from[b];
}

template <int DT> __global__ void merge_rows(void *rows, int dim, int into, const int32_t *from, const float *w, int count) {
  for (int d = blockIdx.x * blockDim.x + threadIdx.x; d < dim; d += gridDim.x * blockDim.x) {
    float acc = 0.f;
    for (int k = 0; k < count; k++) acc += w[k] * load_elem<DT>(rows, size_t(from[k]) * dim + d);
    store_elem<DT>(rows, size_t(into) * dim + d, acc);
  }
}

}  // namespace kvpc

extern "C" int kvp_cuda_compact_device(void *rows, size_t elem, int32_t rowElems, int32_t heads, int32_t cap, int32_t head,
                                       const int32_t *keep, int32_t count, void *stream) {
  if (count <= 0) return KVP_OK;
  if (head < 0 || head >= heads || count > cap) return kvp::fail("kvp_cuda_compact_device: head or count out of range", KVP_EINVAL);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const size_t rowBytes = elem * size_t(rowElems);
  uint8_t *base = static_cast<uint8_t *>(rows) + size_t(head) * cap * rowBytes, *tmp = nullptr;
  KVP_CUDA_TRY(cudaMallocAsync(&tmp, rowBytes * count, s));
  kvpc::gather_rows<<<count, 128, 0, s>>>(base, tmp, keep, count, rowBytes);
  KVP_CUDA_TRY(cudaMemcpyAsync(base, tmp, rowBytes * count, cudaMemcpyDeviceToDevice, s));
  KVP_CUDA_TRY(cudaGetLastError());
  cudaFreeAsync(tmp, s);
  return KVP_OK;
}

extern "C" int kvp_cuda_merge_device(void *rows, kvp_dtype dt, int32_t slots, int32_t dim, int32_t into, const int32_t *from,
                                     const float *w, int32_t count, void *stream) {
  if (dim < 1 || into < 0 || into >= slots || count < 0) return kvp::fail("kvp_cuda_merge_device: bad shape", KVP_EINVAL);
  if (dt != KVP_F32 && dt != KVP_F16 && dt != KVP_BF16) return kvp::fail("kvp_cuda_merge_device: dtype must be KVP_F32, KVP_F16 or KVP_BF16", KVP_EINVAL);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  const int blocks = (dim + 255) / 256;
  if (dt == KVP_F32) kvpc::merge_rows<KVP_F32><<<blocks, 256, 0, s>>>(rows, dim, into, from, w, count);
  else if (dt == KVP_F16) kvpc::merge_rows<KVP_F16><<<blocks, 256, 0, s>>>(rows, dim, into, from, w, count);
  else kvpc::merge_rows<KVP_BF16><<<blocks, 256, 0, s>>>(rows, dim, into, from, w, count);
  KVP_CUDA_TRY(cudaGetLastError());
  return KVP_OK;
}

namespace {

/** Runs fn on a device copy of a host buffer and copies it back. */
template <class F> int on_device(void *host, size_t bytes, F &&fn) {
  void *d = nullptr;
  KVP_CUDA_TRY(cudaMalloc(&d, bytes ? bytes : 1));
  int rc = KVP_OK;
  cudaError_t e = cudaMemcpy(d, host, bytes, cudaMemcpyHostToDevice);
  if (e == cudaSuccess) rc = fn(d);
  if (e == cudaSuccess && rc == KVP_OK) e = cudaDeviceSynchronize();
  if (e == cudaSuccess && rc == KVP_OK) e = cudaMemcpy(host, d, bytes, cudaMemcpyDeviceToHost);
  cudaFree(d);
  if (e != cudaSuccess) return kvp::fail(std::string("kvprism cuda: ") + cudaGetErrorString(e), KVP_ENODEV);
  return rc;
}

template <class T> int small_copy(T *&d, const T *h, size_t n) {
  KVP_CUDA_TRY(cudaMalloc(&d, n * sizeof(T) + 1));
  KVP_CUDA_TRY(cudaMemcpy(d, h, n * sizeof(T), cudaMemcpyHostToDevice));
  return KVP_OK;
}

}  // namespace

extern "C" int kvp_cuda_compact(void *rows, size_t elem, int32_t rowElems, int32_t heads, int32_t cap, int32_t head,
                                const int32_t *keep, int32_t count) {
  // The CPU entry point owns the validation rules; run it on a dry copy of nothing: check only.
  if (elem == 0 || elem > 8 || rowElems < 1 || head < 0 || head >= heads || count < 0 || count > cap)
    return kvp::fail("kvp_cuda_compact: bad shape", KVP_EINVAL);
  for (int i = 0; i < count; i++)
    if (keep[i] < 0 || keep[i] >= cap || (i && keep[i] <= keep[i - 1])) return kvp::fail("kvp_cuda_compact: keep must be strictly increasing and < capacity", KVP_EINVAL);
  int32_t *dkeep = nullptr;
  if (int rc = small_copy(dkeep, keep, size_t(count))) return rc;
  const int rc = on_device(rows, size_t(heads) * cap * rowElems * elem, [&](void *d) {
    return kvp_cuda_compact_device(d, elem, rowElems, heads, cap, head, dkeep, count, nullptr);
  });
  cudaFree(dkeep);
  return rc;
}

extern "C" int kvp_cuda_merge(void *rows, kvp_dtype dt, int32_t slots, int32_t dim, int32_t into, const int32_t *from,
                              const float *w, int32_t count) {
  if (dim < 1 || into < 0 || into >= slots || count < 0) return kvp::fail("kvp_cuda_merge: bad shape", KVP_EINVAL);
  if (dt != KVP_F32 && dt != KVP_F16 && dt != KVP_BF16) return kvp::fail("kvp_cuda_merge: dtype must be KVP_F32, KVP_F16 or KVP_BF16", KVP_EINVAL);
  for (int k = 0; k < count; k++)
    if (from[k] < 0 || from[k] >= slots) return kvp::fail("kvp_cuda_merge: from index out of range", KVP_EINVAL);
  int32_t *dfrom = nullptr;
  float *dw = nullptr;
  if (int rc = small_copy(dfrom, from, size_t(count))) return rc;
  if (int rc = small_copy(dw, w, size_t(count))) return cudaFree(dfrom), rc;
  const int rc = on_device(rows, size_t(slots) * dim * kvpc::dtype_bytes(dt), [&](void *d) {
    return kvp_cuda_merge_device(d, dt, slots, dim, into, dfrom, dw, count, nullptr);
  });
  cudaFree(dfrom);
  cudaFree(dw);
  return rc;
}
