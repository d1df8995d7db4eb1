// Functions of the Node addon (registered in addon.cpp).
#pragma once
#include <napi.h>
#include <string>
#include "kvprism.h"

namespace kvpn {

void read_layout(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, const std::string &where);
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
