/*
 * kvprism CUDA kernels: the same semantics and statistics as kvp_attend (kvprism.h), over the
 * compacted cache, plus compaction and merge. Two flavours:
 * - *_device: every pointer in the structs is a DEVICE pointer; runs on `stream` (NULL =
 *   default stream) and returns when the work is queued. For engines that keep the cache on
 *   the GPU.
 * - the plain names take HOST pointers: they copy in, run, copy out and synchronise (what the
 *   Node binding and the tests use).
 * Returns KVP_OK, KVP_EINVAL (kvp_last_error() says why), KVP_ENODEV or KVP_ENOMEM.
 */
#ifndef KVPRISM_CUDA_H
#define KVPRISM_CUDA_H
#include "kvprism.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Number of usable CUDA devices (0 without a driver or device: the addon still loads). */
int kvp_cuda_device_count(void);
/** Name of device 0, or why none is usable. */
const char *kvp_cuda_device_name(void);

int kvp_cuda_attend(const kvp_attend_args *args, const kvp_kv_layout *kv, kvp_stats_out *stats);
int kvp_cuda_attend_device(const kvp_attend_args *args, const kvp_kv_layout *kv, kvp_stats_out *stats, void *stream);

/** Same contract as kvp_compact / kvp_merge (host pointers), and device-pointer versions. */
int kvp_cuda_compact(void *rows, size_t elem_bytes, int32_t row_elems, int32_t heads, int32_t capacity,
                     int32_t head, const int32_t *keep, int32_t count);
int kvp_cuda_compact_device(void *rows, size_t elem_bytes, int32_t row_elems, int32_t heads, int32_t capacity,
                            int32_t head, const int32_t *keep, int32_t count, void *stream);
int kvp_cuda_merge(void *rows, kvp_dtype dtype, int32_t slots, int32_t dim, int32_t into, const int32_t *from,
                   const float *weights, int32_t count);
int kvp_cuda_merge_device(void *rows, kvp_dtype dtype, int32_t slots, int32_t dim, int32_t into, const int32_t *from,
                          const float *weights, int32_t count, void *stream);

#ifdef __cplusplus
}
#endif
#endif
