// Node addon entry: registers the kernels and runtime controls (isa, threads, bandwidth sweeps, CUDA).
#include "napi_bindings.h"
#include "napi_util.h"
#ifdef KVPRISM_WITH_CUDA
#include "../cuda/kvprism_cuda.h"
#endif

namespace kvpn {

int cuda_attend(const kvp_attend_args &a, const kvp_kv_layout &kv, kvp_stats_out &st) {
#ifdef KVPRISM_WITH_CUDA
  return kvp_cuda_attend(&a, &kv, &st);
#else
  (void)a; (void)kv; (void)st;
  return KVP_ENODEV;
#endif
}

std::string cuda_unavailable() {
#ifdef KVPRISM_WITH_CUDA
  return kvp_cuda_device_count() > 0 ? "" : std::string("no CUDA device (") + kvp_cuda_device_name() + ")";
#else
  return "the addon was built without CUDA (rebuild with KVPRISM_CUDA=1 npm run build:native; nvcc required)";
#endif
}

namespace {

Napi::Value Info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", kvp_isa());
  o.Set("threads", kvp_threads());
  Napi::Object cuda = Napi::Object::New(env);
#ifdef KVPRISM_WITH_CUDA
  cuda.Set("built", true);
  cuda.Set("devices", kvp_cuda_device_count());
  cuda.Set("device", kvp_cuda_device_name());
#else
  cuda.Set("built", false);
  cuda.Set("devices", 0);
  cuda.Set("device", "not built (set KVPRISM_CUDA=1 with nvcc present)");
#endif
  o.Set("cuda", cuda);
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  check_rc(info.Env(), kvp_set_threads(int32_t(int_arg(info.Env(), info[0], "setThreads: threads", 1, 1024))));
  return info.Env().Undefined();
}

Napi::Value SetIsa(const Napi::CallbackInfo &info) {
  if (!info[0].IsString()) throw_type(info.Env(), "setIsa: name must be a string");
  check_rc(info.Env(), kvp_set_isa(info[0].As<Napi::String>().Utf8Value().c_str()));
  return info.Env().Undefined();
}

// A bandwidth sweep (mib, reps) → best GB/s; `name` prefixes its argument errors.
Napi::Value stream_bench(const Napi::CallbackInfo &info, double (*sweep)(int32_t, int32_t), const std::string &name) {
  Napi::Env env = info.Env();
  const double r = sweep(int32_t(int_arg(env, info[0], name + ": mib", 1, 4096)),
                         int32_t(int_arg(env, info[1], name + ": reps", 1, 1000)));
  if (r < 0) throw_range(env, kvp_last_error());
  return Napi::Number::New(env, r);
}

Napi::Value StreamTriad(const Napi::CallbackInfo &info) { return stream_bench(info, kvp_stream_triad, "streamTriad"); }
Napi::Value StreamRead(const Napi::CallbackInfo &info) { return stream_bench(info, kvp_stream_read, "streamRead"); }

Napi::Value AdviseHugePages(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw_type(env, "adviseHugePages: buffer must be a typed array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  void *base = static_cast<uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  return Napi::Number::New(env, double(kvp_advise_huge_pages(base, ta.ByteLength())));
}

/** allocKV(bytes): a zeroed ArrayBuffer on 2 MiB-aligned huge-page memory (kvp_alloc_kv), freed
 *  when V8 collects it; V8 is told of the external memory so it collects on time. */
Napi::Value AllocKV(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const size_t bytes = size_t(int_arg(env, info[0], "allocKV: bytes", 1, int64_t(1) << 46));
  void *data = kvp_alloc_kv(bytes);
  if (!data) throw_range(env, kvp_last_error());
  Napi::MemoryManagement::AdjustExternalMemory(env, int64_t(bytes));
  auto *size = new size_t(bytes);
  return Napi::ArrayBuffer::New(env, data, bytes, [](Napi::Env e, void *p, size_t *n) {
    kvp_free_kv(p, *n);
    Napi::MemoryManagement::AdjustExternalMemory(e, -int64_t(*n));
    delete n;
  }, size);
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("attend", Napi::Function::New(env, Attend, "attend"));
  exports.Set("attendCuda", Napi::Function::New(env, AttendCuda, "attendCuda"));
  exports.Set("linear", Napi::Function::New(env, Linear, "linear"));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm, "rmsNorm"));
  exports.Set("rope", Napi::Function::New(env, Rope, "rope"));
  exports.Set("siluMul", Napi::Function::New(env, SiluMul, "siluMul"));
  exports.Set("compact", Napi::Function::New(env, Compact, "compact"));
  exports.Set("merge", Napi::Function::New(env, Merge, "merge"));
  exports.Set("nearestCosine", Napi::Function::New(env, NearestCosine, "nearestCosine"));
  exports.Set("topK", Napi::Function::New(env, TopK, "topK"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("streamTriad", Napi::Function::New(env, StreamTriad, "streamTriad"));
  exports.Set("streamRead", Napi::Function::New(env, StreamRead, "streamRead"));
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages, "adviseHugePages"));
  exports.Set("allocKV", Napi::Function::New(env, AllocKV, "allocKV"));
  register_tier(env, exports);
  return exports;
}

}  // namespace
}  // namespace kvpn

static Napi::Object InitKvprism(Napi::Env env, Napi::Object exports) { return kvpn::init(env, exports); }

NODE_API_MODULE(kvprism, InitKvprism)
