// Cache maintenance for Node: compact, merge, nearestCosine, topK (see native/include/kvprism.h).
#include "napi_bindings.h"
#include "napi_util.h"

namespace kvpn {

Napi::Value Compact(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw_type(env, "compact: rows must be a typed array [heads][capacity][rowElems]");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const int64_t rowElems = int_arg(env, info[1], "compact: rowElems", 1, kMaxI32);
  const int64_t heads = int_arg(env, info[2], "compact: heads", 1, kMaxI32);
  const int64_t cap = int_arg(env, info[3], "compact: capacity", 0, kMaxI32);
  const int64_t head = int_arg(env, info[4], "compact: head", 0, heads - 1);
  const int64_t want = checked_product(env, "compact: heads×capacity×rowElems", {heads, cap, rowElems});
  if (int64_t(ta.ElementLength()) != want)
    throw_range(env, "compact: rows has " + std::to_string(ta.ElementLength()) + " elements; expected heads×capacity×rowElems = " + std::to_string(want));
  size_t keepLen = 0;
  const int32_t *keep = typed_arg<int32_t>(env, info[5], "compact: keep (Int32Array of slot indices)", napi_int32_array, -1, &keepLen);
  const size_t elem = ta.ByteLength() / (ta.ElementLength() ? ta.ElementLength() : 1);
  void *base = static_cast<uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (int64_t(keepLen) > cap) throw_range(env, "compact: keep has more entries than capacity");
  check_rc(env, kvp_compact(base, elem ? elem : 1, int32_t(rowElems), int32_t(heads), int32_t(cap), int32_t(head), keep, int32_t(keepLen)));
  return env.Undefined();
}

Napi::Value Merge(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const kvp_dtype dt = dtype_arg(env, info[1], "merge: dtype");
  const int64_t slots = int_arg(env, info[2], "merge: slots", 0, kMaxI32);
  const int64_t dim = int_arg(env, info[3], "merge: dim", 1, kMaxI32);
  void *rows = const_cast<void *>(kv_buffer(env, info[0], "merge: rows ([slots][dim])", dt, checked_product(env, "merge: slots×dim", {slots, dim})));
  const int64_t into = int_arg(env, info[4], "merge: into", 0, slots - 1);
  size_t count = 0;
  const int32_t *from = typed_arg<int32_t>(env, info[5], "merge: from (Int32Array)", napi_int32_array, -1, &count);
  const float *w = typed_arg<float>(env, info[6], "merge: weights (Float32Array, one per from)", napi_float32_array, int64_t(count));
  check_rc(env, kvp_merge(rows, dt, int32_t(slots), int32_t(dim), int32_t(into), from, w, int32_t(count)));
  return env.Undefined();
}

Napi::Value NearestCosine(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const kvp_dtype xd = dtype_arg(env, info[1], "nearestCosine: xDtype");
  const int64_t n = int_arg(env, info[2], "nearestCosine: n", 0, kMaxI32);
  const kvp_dtype pd = dtype_arg(env, info[4], "nearestCosine: pivotDtype");
  const int64_t m = int_arg(env, info[5], "nearestCosine: m", 0, kMaxI32);
  const int64_t dim = int_arg(env, info[6], "nearestCosine: dim", 1, kMaxI32);
  const void *x = kv_buffer(env, info[0], "nearestCosine: x ([n][dim])", xd, checked_product(env, "nearestCosine: n×dim", {n, dim}));
  const void *p = kv_buffer(env, info[3], "nearestCosine: pivots ([m][dim])", pd, checked_product(env, "nearestCosine: m×dim", {m, dim}));
  Napi::Int32Array idx = Napi::Int32Array::New(env, size_t(n));
  Napi::Float32Array sim = Napi::Float32Array::New(env, size_t(n));
  check_rc(env, kvp_nearest_cosine(x, xd, int32_t(n), p, pd, int32_t(m), int32_t(dim), idx.Data(), sim.Data()));
  Napi::Object r = Napi::Object::New(env);
  r.Set("index", idx);
  r.Set("similarity", sim);
  return r;
}

Napi::Value TopK(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t n = 0;
  const float *s = typed_arg<float>(env, info[0], "topK: scores", napi_float32_array, -1, &n);
  const int64_t k = int_arg(env, info[1], "topK: k", 0, int64_t(n));
  Napi::Int32Array out = Napi::Int32Array::New(env, size_t(k));
  check_rc(env, kvp_topk(s, int32_t(n), int32_t(k), out.Data()));
  return out;
}

}  // namespace kvpn
