/*
 * kvprism native kernels: C ABI for engine authors (C/C++ engines link libkvprism_core
 * without Node). All tensors are caller-owned, row-major, and named with their layout.
 *
 * Layout conventions (identical to src/attention/backend.ts):
 * - KV storage is head-major [kvHeads][capacity][headDim]; KV head h holds lengths[h] valid
 *   slots at the front of its stripe.
 * - Queries and outputs are token-major [n][qHeads][headDim] f32.
 * - Query head qh reads KV head qh / (qHeads / kvHeads) (GQA).
 * - Slot j of head h is visible to query i iff positions[h*capacity + j] <= q_positions[i].
 *
 * Every function returns KVP_OK (0) or a negative error code; kvp_last_error() then returns a
 * message naming the argument (thread-local, valid until the next call on that thread).
 */
#ifndef KVPRISM_H
#define KVPRISM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVP_OK 0
#define KVP_EINVAL (-1)
#define KVP_ENOMEM (-2)
#define KVP_ENODEV (-3)

/** Number of modality codes (text=0, image=1, video=2, audio=3). */
#define KVP_MODALITIES 4

/**
 * Element / storage types. F32, F16 and BF16 are dense (K/V, weights, merge rows). The coded
 * storage types exist for attention only (kvp_kv_layout.dtype): the K/V of each KV head is a
 * kvp_coded_head (layouts: docs/kv-storage.md, src/cache/int8-fp8-head.ts, kivi-head.ts).
 * - KVP_INT8_FP8 (MNN-LLM): keys u8 codes, x = min + scale·code, (scale, min) per (token,
 *   group of G channels); values fp8-e4m3 codes, x = scale·e4m3(code), scale per (token, group).
 * - KVP_INT4 / KVP_INT2 (KIVI): keys packed per channel over key groups of ≤ G tokens, values
 *   packed per token over groups of G channels, both x = min + scale·code; the newest slots
 *   (coded..len−1) are an f32 residual window.
 */
typedef enum kvp_dtype {
  KVP_F32 = 0,
  KVP_F16 = 1,
  KVP_BF16 = 2,
  KVP_INT8_FP8 = 3,
  KVP_INT4 = 4,
  KVP_INT2 = 5
} kvp_dtype;

/** Largest G (channels per scale group, tokens per KIVI key group) the kernels accept. */
#define KVP_MAX_GROUP 1024

/**
 * One KV head of a coded cache, slots oldest first (slot j has positions[h·capacity + j]).
 * Codes of one slot are a row starting on a byte: int8-fp8 D bytes; KIVI ⌈D·bits/8⌉ bytes,
 * element c at bits (c·bits) mod 8 of byte ⌊c·bits/8⌋ (little-endian within the byte).
 * ng = ⌈D/G⌉ channel groups. All scales and minima f32.
 */
typedef struct kvp_coded_head {
  const uint8_t *key_codes;     /* int8-fp8: [len][D]; KIVI: [coded][rowBytes] */
  const uint8_t *value_codes;   /* int8-fp8: [len][D] e4m3; KIVI: [coded][rowBytes] */
  const float *key_scale_min;   /* int8-fp8: [len][ng][2] (scale, min); KIVI: [key_groups][D][2] */
  const float *value_scale;     /* int8-fp8: [len][ng] scale; KIVI: [coded][ng][2] (scale, min) */
  const int32_t *group_len;     /* KIVI: [key_groups] slots of each key group (1..G), in slot order */
  int32_t key_groups;           /* KIVI: Σ group_len = coded */
  int32_t coded;                /* KIVI: slots 0..coded−1 are codes, coded..len−1 the residual */
  const float *residual_keys;   /* KIVI: [len − coded][D] f32 */
  const float *residual_values; /* KIVI: [len − coded][D] f32 */
} kvp_coded_head;

/** One layer's cache as the kernels read it. 16-bit dtypes are raw IEEE half / bfloat16 bits. */
typedef struct kvp_kv_layout {
  int32_t kv_heads;
  int32_t head_dim;
  int32_t capacity;
  kvp_dtype dtype;
  const void *keys;          /* [kvHeads][capacity][headDim] (dense dtypes; unused when coded) */
  const void *values;        /* [kvHeads][capacity][headDim] (dense dtypes; unused when coded) */
  const int32_t *lengths;    /* [kvHeads] */
  const int32_t *positions;  /* [kvHeads][capacity] */
  const uint8_t *modality;   /* [kvHeads][capacity] modality codes (< KVP_MODALITIES) */
  int32_t group;                /* coded dtypes: G in [1, KVP_MAX_GROUP] */
  const kvp_coded_head *coded;  /* coded dtypes: [kvHeads] */
  /* Keys pruned along head_dim (ThinK; dense dtypes only); key_channels NULL: every key row is
   * head_dim wide. Else head h's key stripe (from h·capacity·head_dim elements) holds key_split[h]
   * packed rows of key_dim elements, channels key_channels[h·key_dim ..] (strictly ascending),
   * then full rows; a packed row scores q_S·k_S over those channels. Values are unchanged. */
  int32_t key_dim;              /* kept channels per head, in [1, head_dim] */
  const int32_t *key_channels;  /* [kvHeads][key_dim] */
  const int32_t *key_split;     /* [kvHeads] packed (oldest) slots, in [0, lengths[h]] */
  /* DRAM–flash tier (dense dtypes; NULL cold_lengths = no tier, keys/values as above). With a
   * tier, head h's oldest slots 0..cold_lengths[h]−1 are rows 0.. of its stripe in cold_keys /
   * cold_values [kvHeads][cold_capacity][headDim] (a file mapping, kvp_tier_*), and slots
   * cold_lengths[h]..lengths[h]−1 are rows hot_start[h].. of its stripe in keys / values, whose
   * stripes then hold hot_capacity rows: [kvHeads][hot_capacity][headDim]. */
  const int32_t *cold_lengths;  /* [kvHeads] */
  const void *cold_keys;
  const void *cold_values;
  int32_t cold_capacity;
  int32_t hot_capacity;
  const int32_t *hot_start;     /* [kvHeads] */
} kvp_kv_layout;

/**
 * Statistics to compute, fused into attention (see src/attention/stats.ts for definitions).
 * Each output pointer is NULL when that statistic is off. All are per KV head and summed over
 * the GQA group; slot-aligned outputs are [kvHeads][capacity] f32 (only the first lengths[h]
 * entries of each stripe are written; the rest are zeroed).
 */
typedef struct kvp_stats_out {
  float *cumulative;     /* Σ_i p[i][j] over all rows */
  float *window;         /* Σ over rows of the last `window_tokens` query tokens */
  int32_t window_tokens; /* 0 = off */
  float *last_query;     /* p[n-1][j] */
  float *text_column;    /* Σ over rows whose query token is text (modality 0) */
  float *redistributed;  /* Σ_i p[i][j]·(pos_i+1) / count_j */
  double *flows;         /* [kvHeads][M][M]: mass from query modality to key modality */
  float *row_entropy;    /* [kvHeads][n]: entropy (nats) per query token, mean over the group */
} kvp_stats_out;

typedef struct kvp_attend_args {
  const float *q;              /* [n][qHeads][headDim] f32, RoPE applied */
  int32_t n;
  int32_t q_heads;
  const int32_t *q_positions;  /* [n] */
  const uint8_t *q_modality;   /* [n] or NULL (required by text_column and flows) */
  float scale;                 /* softmax scale, usually 1/sqrt(headDim) */
  float *out;                  /* [n][qHeads][headDim] f32; rows that see no slot get zeros */
} kvp_attend_args;

/** Attention of n query tokens over the cache (decode n=1 and causal prefill alike). Coded
 *  dtypes are dequantised inside the kernels' loads (no f32 copy); CUDA reads dense dtypes only. */
int kvp_attend(const kvp_attend_args *args, const kvp_kv_layout *kv, kvp_stats_out *stats);

/* ---- cache maintenance ---------------------------------------------------------------- */

/**
 * In-place compaction of one head stripe: row s ← row keep[s] for s < count. keep must be
 * strictly increasing and < capacity. rows: [heads][capacity][row_elems] of elem_bytes each.
 */
int kvp_compact(void *rows, size_t elem_bytes, int32_t row_elems, int32_t heads, int32_t capacity,
                int32_t head, const int32_t *keep, int32_t count);

/** Weighted merge: row[into] = Σ_k weights[k]·row[from[k]] (f32 math, stored in dtype).
 *  rows: [slots][dim] of dtype; `into` may appear in `from`. */
int kvp_merge(void *rows, kvp_dtype dtype, int32_t slots, int32_t dim, int32_t into,
              const int32_t *from, const float *weights, int32_t count);

/** For each of n rows x [n][dim], the pivot [m][dim] of highest cosine similarity
 *  (ties: lowest index); out_index [n] (-1 when m = 0), out_sim [n] (0 for zero vectors). */
int kvp_nearest_cosine(const void *x, kvp_dtype x_dtype, int32_t n, const void *pivots,
                       kvp_dtype p_dtype, int32_t m, int32_t dim, int32_t *out_index, float *out_sim);

/** Indices of the k largest scores (ties: lower index first), written in ascending index
 *  order. NaN scores rank lowest. */
int kvp_topk(const float *scores, int32_t n, int32_t k, int32_t *out_index);

/* ---- model ops -------------------------------------------------------------------------- */

/** y[m][out] = x[m][in] · Wᵀ (+ bias[out]); W [out][in] of w_dtype; bias may be NULL. */
int kvp_linear(const float *x, int32_t m, const void *w, kvp_dtype w_dtype, int32_t out_features,
               int32_t in_features, const float *bias, float *y);

/** y[r][:] = x[r][:] / sqrt(mean(x[r]²) + eps) * weight[:]; x, y [rows][dim] (may alias). */
int kvp_rms_norm(const float *x, int32_t rows, int32_t dim, const float *weight, float eps, float *y);

/** Rotate-half RoPE in place on x [n][heads][headDim]; cos/sin [n][rotaryDim/2] (for
 *  sectioned/multimodal RoPE the caller builds the tables per section). */
int kvp_rope(float *x, int32_t n, int32_t heads, int32_t head_dim, int32_t rotary_dim,
             const float *cos_table, const float *sin_table);

/** out[i] = silu(gate[i]) * up[i]; out may alias either input. */
int kvp_silu_mul(const float *gate, const float *up, float *out, size_t count);

/* ---- runtime ---------------------------------------------------------------------------- */

/** Worker threads (≥ 1); default: KVPRISM_THREADS or the number of cores. */
int kvp_set_threads(int32_t threads);
int32_t kvp_threads(void);

/** Instruction set in use: "avx512", "avx2", "neon" or "scalar". */
const char *kvp_isa(void);
/** Forces an ISA (for tests); returns KVP_EINVAL when this CPU/build lacks it. Also read
 *  once from KVPRISM_ISA. */
int kvp_set_isa(const char *name);

/** STREAM-like triad a[i] = b[i] + s·c[i] over 3 arrays of `mib` MiB each, on the pool's
 *  threads; returns the best of `reps` in GB/s (counting 3 arrays moved), or < 0 on error. */
double kvp_stream_triad(int32_t mib, int32_t reps);

/** Advises the kernel to back the 2 MiB-aligned interior of [data, data + bytes) with huge
 *  pages (Linux madvise(MADV_HUGEPAGE); call before the buffer is first written). Returns the
 *  bytes advised: 0 when the range holds no whole 2 MiB page, the platform has no such advice
 *  or the kernel refused. Never fails otherwise; purely a performance hint. */
int64_t kvp_advise_huge_pages(void *data, size_t bytes);

/** A zeroed K/V buffer of `bytes` (> 0) starting on a 2 MiB boundary, advised onto huge pages
 *  where the OS has them (Linux: an anonymous mapping, zero pages until first written). Rows of
 *  the cache then never straddle cache lines and streaming never crosses a 4 KiB page (decode
 *  at 32k f32: 16-byte-offset rows measured 8.5 ms vs 7.9 ms aligned). Free with kvp_free_kv
 *  and the same size. NULL (kvp_last_error says why) when bytes is 0 or memory is short. */
void *kvp_alloc_kv(size_t bytes);
/** Releases a buffer from kvp_alloc_kv; `bytes` as given to it. NULL is ignored. */
void kvp_free_kv(void *data, size_t bytes);

/** Read-only sweep over one array of `mib` MiB on the pool's threads (the traffic of decode
 *  attention, which reads K/V and writes almost nothing); best of `reps` in GB/s, < 0 on error. */
double kvp_stream_read(int32_t mib, int32_t reps);

/* ---- DRAM–flash tier file ---------------------------------------------------------------- */

/** A scratch file holding cold K/V rows, memory-mapped. Created in `dir` and unlinked at once
 *  (a killed process leaves nothing behind); `max_bytes` (> 0) of address space are mapped up
 *  front so regions never move. NULL when the directory is unusable (kvp_last_error says why). */
typedef struct kvp_tier_file kvp_tier_file;
kvp_tier_file *kvp_tier_open(const char *dir, uint64_t max_bytes);
/** Reserves `bytes` of disk for a new region (fallocate: a full disk fails here with an error,
 *  never later as a fault on a mapped page). Returns its address, or NULL when the disk or
 *  max_bytes is full (kvp_last_error names the directory and the bytes asked for). */
void *kvp_tier_alloc(kvp_tier_file *f, uint64_t bytes);
/** Returns a region's disk space (punches a hole; later reads see zeros). */
int kvp_tier_release(kvp_tier_file *f, void *region, uint64_t bytes);
/** Asks the OS to read [data, data + bytes) ahead of use (madvise WILLNEED); advisory. */
int kvp_tier_prefetch(const void *data, uint64_t bytes);
/** Writes the file's dirty pages back and asks the OS to drop them from memory (msync, then
 *  madvise MADV_PAGEOUT): what memory pressure would do, so the next reads come from the device
 *  (for benchmarks). KVP_EINVAL when the write-back fails. */
int kvp_tier_evict(kvp_tier_file *f);
/** Bytes of live regions (allocated, not released). */
uint64_t kvp_tier_live_bytes(const kvp_tier_file *f);
/** Returns all disk space; unmaps and closes the file. f is invalid afterwards. */
void kvp_tier_close(kvp_tier_file *f);

const char *kvp_last_error(void);

#ifdef __cplusplus
}
#endif
#endif /* KVPRISM_H */
