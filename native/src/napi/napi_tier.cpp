// The DRAM–flash tier for Node (kvprism.h kvp_tier_*): a session's scratch file and the cold
// K/V regions carved from it, handed to JS as ArrayBuffers over the mapping (zero copy: the
// cache writes cold rows straight into the file, the kernels read them from there).
//   tierOpen(dir, maxBytes) → file handle      tierAlloc(file, bytes) → ArrayBuffer
//   tierRelease(file, buffer)   tierPrefetch(view)   tierLiveBytes(file)   tierEvict(file)   tierClose(file)
// The mapping lives until the handle and every region's ArrayBuffer are collected, so a view
// kept after tierClose never points at unmapped memory; tierClose returns the disk at once.
// Also read_tier: args.kv.tier for attention.
#include <memory>
#include <vector>
#include "napi_bindings.h"
#include "napi_util.h"

namespace kvpn {

namespace {

/** One open tier file; freed (unmapped, closed) when the last reference goes. */
struct TierFile {
  kvp_tier_file *file;
  bool closed = false;
  struct Region { void *data; uint64_t bytes; bool live; };
  std::vector<Region> regions;
  explicit TierFile(kvp_tier_file *f) : file(f) {}
  ~TierFile() { kvp_tier_close(file); }
};
using TierRef = std::shared_ptr<TierFile>;

TierRef &handle_arg(Napi::Env env, Napi::Value v, const char *fn) {
  if (!v.IsExternal()) throw_type(env, std::string(fn) + ": file must be a handle from tierOpen");
  return *v.As<Napi::External<TierRef>>().Data();
}

Napi::Value TierOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_type(env, "tierOpen: dir must be a string (a directory path)");
  const std::string dir = info[0].As<Napi::String>().Utf8Value();
  const int64_t maxBytes = int_arg(env, info[1], "tierOpen: maxBytes", 1, int64_t(1) << 46);
  kvp_tier_file *f = kvp_tier_open(dir.c_str(), uint64_t(maxBytes));
  if (!f) throw_range(env, kvp_last_error());
  return Napi::External<TierRef>::New(env, new TierRef(std::make_shared<TierFile>(f)), [](Napi::Env, TierRef *r) { delete r; });
}

Napi::Value TierAlloc(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  TierRef &t = handle_arg(env, info[0], "tierAlloc");
  const int64_t bytes = int_arg(env, info[1], "tierAlloc: bytes", 1, int64_t(1) << 46);
  if (t->closed) throw_range(env, "tierAlloc: the tier file is closed");
  void *data = kvp_tier_alloc(t->file, uint64_t(bytes));
  if (!data) throw_range(env, kvp_last_error());
  t->regions.push_back({data, uint64_t(bytes), true});
  // The buffer keeps the mapping alive: its finalizer drops a reference to the file. V8 is told
  // of its bytes so that dropped caches are collected (and their disk freed) on time.
  struct Hold { TierRef file; int64_t bytes; };
  Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
  return Napi::ArrayBuffer::New(env, data, size_t(bytes), [](Napi::Env e, void *, Hold *h) {
    Napi::MemoryManagement::AdjustExternalMemory(e, -h->bytes);
    delete h;
  }, new Hold{t, bytes});
}

/** The live region behind `buffer`'s ArrayBuffer (whole), or a thrown error naming fn. */
TierFile::Region &region_of(Napi::Env env, TierRef &t, Napi::Value v, const char *fn) {
  if (!v.IsArrayBuffer()) throw_type(env, std::string(fn) + ": buffer must be an ArrayBuffer from tierAlloc");
  void *data = v.As<Napi::ArrayBuffer>().Data();
  for (auto &r : t->regions)
    if (r.data == data && r.live) return r;
  throw_range(env, std::string(fn) + ": buffer is not a live region of this tier file");
}

Napi::Value TierRelease(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  TierRef &t = handle_arg(env, info[0], "tierRelease");
  TierFile::Region &r = region_of(env, t, info[1], "tierRelease");
  check_rc(env, kvp_tier_release(t->file, r.data, r.bytes));
  r.live = false;
  return env.Undefined();
}

Napi::Value TierPrefetch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw_type(env, "tierPrefetch: view must be a typed array");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const uint8_t *p = static_cast<const uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  check_rc(env, kvp_tier_prefetch(p, ta.ByteLength()));
  return env.Undefined();
}

Napi::Value TierLiveBytes(const Napi::CallbackInfo &info) {
  TierRef &t = handle_arg(info.Env(), info[0], "tierLiveBytes");
  return Napi::Number::New(info.Env(), double(kvp_tier_live_bytes(t->file)));
}

Napi::Value TierEvict(const Napi::CallbackInfo &info) {
  TierRef &t = handle_arg(info.Env(), info[0], "tierEvict");
  check_rc(info.Env(), kvp_tier_evict(t->file));
  return info.Env().Undefined();
}

Napi::Value TierClose(const Napi::CallbackInfo &info) {
  TierRef &t = handle_arg(info.Env(), info[0], "tierClose");
  for (auto &r : t->regions)
    if (r.live) { kvp_tier_release(t->file, r.data, r.bytes); r.live = false; }
  t->closed = true;
  return info.Env().Undefined();
}

}  // namespace

void read_tier(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, const std::string &where, std::vector<std::pair<const void *, size_t>> &regions) {
  Napi::Object o = object_arg(env, v, where);
  if (kv.dtype != KVP_F32 && kv.dtype != KVP_F16 && kv.dtype != KVP_BF16) throw_range(env, where + ": a tier needs dense K/V (f32, f16 or bf16)");
  kv.cold_capacity = int32_t(int_arg(env, o.Get("coldCapacity"), where + ".coldCapacity", 0, kMaxI32));
  kv.hot_capacity = int32_t(int_arg(env, o.Get("hotCapacity"), where + ".hotCapacity", 0, kMaxI32));
  kv.cold_lengths = typed_arg<int32_t>(env, o.Get("coldLengths"), where + ".coldLengths ([kvHeads])", napi_int32_array, kv.kv_heads);
  kv.hot_start = typed_arg<int32_t>(env, o.Get("hotStart"), where + ".hotStart ([kvHeads])", napi_int32_array, kv.kv_heads);
  const int64_t coldElems = checked_product(env, where + " kvHeads×coldCapacity×headDim", {kv.kv_heads, kv.cold_capacity, kv.head_dim});
  kv.cold_keys = kv_buffer(env, o.Get("coldKeys"), where + ".coldKeys ([kvHeads][coldCapacity][headDim])", kv.dtype, coldElems);
  kv.cold_values = kv_buffer(env, o.Get("coldValues"), where + ".coldValues ([kvHeads][coldCapacity][headDim])", kv.dtype, coldElems);
  const size_t bytes = size_t(coldElems) * (kv.dtype == KVP_F32 ? 4 : 2);
  regions.push_back({kv.cold_keys, bytes});
  regions.push_back({kv.cold_values, bytes});
  for (int h = 0; h < kv.kv_heads; h++) {
    const int64_t len = kv.lengths[h], cold = kv.cold_lengths[h], start = kv.hot_start[h];
    if (cold < 0 || cold > len || cold > kv.cold_capacity)
      throw_range(env, where + ".coldLengths[" + std::to_string(h) + "] = " + std::to_string(cold) + " is outside [0, min(lengths[h], coldCapacity)]");
    if (start < 0 || start + (len - cold) > kv.hot_capacity)
      throw_range(env, where + ".hotStart[" + std::to_string(h) + "] = " + std::to_string(start) + " with " + std::to_string(len - cold) +
                           " hot slots runs past hotCapacity = " + std::to_string(kv.hot_capacity));
  }
}

void register_tier(Napi::Env env, Napi::Object exports) {
  exports.Set("tierOpen", Napi::Function::New(env, TierOpen, "tierOpen"));
  exports.Set("tierAlloc", Napi::Function::New(env, TierAlloc, "tierAlloc"));
  exports.Set("tierRelease", Napi::Function::New(env, TierRelease, "tierRelease"));
  exports.Set("tierPrefetch", Napi::Function::New(env, TierPrefetch, "tierPrefetch"));
  exports.Set("tierLiveBytes", Napi::Function::New(env, TierLiveBytes, "tierLiveBytes"));
  exports.Set("tierEvict", Napi::Function::New(env, TierEvict, "tierEvict"));
  exports.Set("tierClose", Napi::Function::New(env, TierClose, "tierClose"));
}

}  // namespace kvpn
