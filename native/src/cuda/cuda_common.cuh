// Shared CUDA helpers: error checks, 16-bit loads, warp reductions.
#pragma once
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cstdint>
#include <string>
#include "kvprism.h"

namespace kvp {
int fail(const std::string &msg, int code);
}

#define KVP_CUDA_TRY(expr)                                                                  \
  do {                                                                                      \
    cudaError_t e_ = (expr);                                                                \
    if (e_ != cudaSuccess)                                                                  \
      return kvp::fail(std::string("kvprism cuda: ") + #expr + ": " + cudaGetErrorString(e_), \
                       e_ == cudaErrorMemoryAllocation ? KVP_ENOMEM : KVP_ENODEV);          \
  } while (0)

namespace kvpc {

/** Element i of a K/V buffer as f32; DT is a kvp_dtype. */
template <int DT> __device__ __forceinline__ float load_elem(const void *base, size_t i) {
  if (DT == KVP_F32) return static_cast<const float *>(base)[i];
  const uint16_t b = static_cast<const uint16_t *>(base)[i];
  if (DT == KVP_BF16) return __uint_as_float(uint32_t(b) << 16);
  return __half2float(__ushort_as_half(b));
}

template <int DT> __device__ __forceinline__ void store_elem(void *base, size_t i, float v) {
  if (DT == KVP_F32) static_cast<float *>(base)[i] = v;
  else if (DT == KVP_BF16) {
    uint32_t u = __float_as_uint(v);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) u = (u | 0x400000u);
    else u += 0x7fffu + ((u >> 16) & 1);
    static_cast<uint16_t *>(base)[i] = uint16_t(u >> 16);
  } else {
    static_cast<uint16_t *>(base)[i] = __half_as_ushort(__float2half_rn(v));
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

inline size_t dtype_bytes(kvp_dtype d) { return d == KVP_F32 ? 4 : 2; }

}  // namespace kvpc
