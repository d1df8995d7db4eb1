// Functions of the Node addon (registered in addon.cpp).
#pragma once
#include <napi.h>
#include <string>
#include <utility>
#include <vector>
#include "kvprism.h"

namespace kvpn {

/** The coded heads args.kv.coded points the kernels at, and the byte ranges of their arrays or
 *  of a tier's cold rows (a statistics array handed in for reuse must not overlap them). */
struct CodedHeads {
  std::vector<kvp_coded_head> heads;
  std::vector<std::pair<const void *, size_t>> regions;
};

/** Reads args.kv; a quantized layer (kv.coded present) or a tiered one (kv.tier) needs `coded`. */
void read_layout(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, const std::string &where, CodedHeads *coded = nullptr);
/** Reads args.kv.prunedKeys (ThinK's packed key rows) into kv.key_dim, key_channels, key_split. */
void read_pruned_keys(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, const std::string &where);
/** Reads args.kv.coded (napi_coded.cpp) into kv.dtype, kv.group and kv.coded. */
void read_coded(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, CodedHeads &store, const std::string &where);
/** Reads args.kv.tier (napi_tier.cpp) into kv's tier fields; records the cold buffers' bytes. */
void read_tier(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, const std::string &where, std::vector<std::pair<const void *, size_t>> &regions);
/** Adds tierOpen, tierAlloc, tierRelease, tierPrefetch, tierLiveBytes, tierClose to exports. */
void register_tier(Napi::Env env, Napi::Object exports);
/** CUDA attention (copies in, runs, copies out); KVP_ENODEV when built without CUDA. */
int cuda_attend(const kvp_attend_args &a, const kvp_kv_layout &kv, kvp_stats_out &st);
/** Why CUDA attention cannot run here (empty when it can). */
std::string cuda_unavailable();

Napi::Value Attend(const Napi::CallbackInfo &info);
Napi::Value AttendCuda(const Napi::CallbackInfo &info);
Napi::Value Linear(const Napi::CallbackInfo &info);
Napi::Value RmsNorm(const Napi::CallbackInfo &info);
Napi::Value Rope(const Napi::CallbackInfo &info);
Napi::Value SiluMul(const Napi::CallbackInfo &info);
Napi::Value Compact(const Napi::CallbackInfo &info);
Napi::Value Merge(const Napi::CallbackInfo &info);
Napi::Value NearestCosine(const Napi::CallbackInfo &info);
Napi::Value TopK(const Napi::CallbackInfo &info);

}  // namespace kvpn
