// args.kv.coded for Node: a quantized layer's codes handed to the kernels as they lie in the
// cache's typed arrays (no f32 copy). Shape (src/attention/native/addon.ts RawCodedKV):
//   { storage: 'int8-fp8' | 'int4' | 'int2', group: G, heads: [kvHeads] of
//     { keyCodes, valueCodes: Uint8Array, keyScaleMin, valueScale: Float32Array,
//       KIVI also: coded, keyGroups: integers, groupLen: Int32Array, residualKeys, residualValues: Float32Array } }
// Arrays may be longer than needed (the cache grows them by doubling); each must hold at least
// what lengths[h] needs, checked here. The structure (group sizes tiling the coded slots) is
// checked by kvp_attend.
#include <vector>
#include "napi_bindings.h"
#include "napi_util.h"

namespace kvpn {

namespace {

/** A typed array of `type` holding at least `need` elements; records its bytes in `regions`. */
template <class T>
const T *at_least(Napi::Env env, Napi::Object o, const char *key, const std::string &where, napi_typedarray_type type, int64_t need,
                  std::vector<std::pair<const void *, size_t>> &regions) {
  size_t len = 0;
  const std::string name = where + "." + key;
  const T *p = typed_arg<T>(env, o.Get(key), name, type, -1, &len);
  if (int64_t(len) < need)
    throw_range(env, name + " has " + std::to_string(len) + " elements; the head's slots need at least " + std::to_string(need));
  regions.push_back({p, len * sizeof(T)});
  return p;
}

kvp_dtype coded_dtype(Napi::Env env, Napi::Value v, const std::string &name) {
  if (!v.IsString()) throw_type(env, name + " must be 'int8-fp8', 'int4' or 'int2'");
  const std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "int8-fp8") return KVP_INT8_FP8;
  if (s == "int4") return KVP_INT4;
  if (s == "int2") return KVP_INT2;
  throw_range(env, name + " must be 'int8-fp8', 'int4' or 'int2'; got '" + s + "'");
}

}  // namespace

void read_coded(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, CodedHeads &store, const std::string &where) {
  Napi::Object o = object_arg(env, v, where);
  kv.dtype = coded_dtype(env, o.Get("storage"), where + ".storage");
  kv.group = int32_t(int_arg(env, o.Get("group"), where + ".group (G)", 1, KVP_MAX_GROUP));
  Napi::Value hv = o.Get("heads");
  if (!hv.IsArray()) throw_type(env, where + ".heads must be an array of kvHeads coded heads");
  Napi::Array arr = hv.As<Napi::Array>();
  if (int64_t(arr.Length()) != kv.kv_heads)
    throw_range(env, where + ".heads has " + std::to_string(arr.Length()) + " entries; expected kvHeads = " + std::to_string(kv.kv_heads));
  const int64_t D = kv.head_dim, G = kv.group, ng = (D + G - 1) / G;
  const int bits = kv.dtype == KVP_INT4 ? 4 : kv.dtype == KVP_INT2 ? 2 : 8;
  const int64_t rowBytes = (D * bits + 7) / 8;
  store.heads.assign(size_t(kv.kv_heads), kvp_coded_head{});
  store.regions.clear();
  for (int h = 0; h < kv.kv_heads; h++) {
    const std::string at = where + ".heads[" + std::to_string(h) + "]";
    Napi::Object ho = object_arg(env, arr.Get(uint32_t(h)), at);
    const int64_t len = kv.lengths[h];
    kvp_coded_head &c = store.heads[size_t(h)];
    if (kv.dtype == KVP_INT8_FP8) {
      c.key_codes = at_least<uint8_t>(env, ho, "keyCodes", at, napi_uint8_array, len * D, store.regions);
      c.value_codes = at_least<uint8_t>(env, ho, "valueCodes", at, napi_uint8_array, len * D, store.regions);
      c.key_scale_min = at_least<float>(env, ho, "keyScaleMin", at, napi_float32_array, len * ng * 2, store.regions);
      c.value_scale = at_least<float>(env, ho, "valueScale", at, napi_float32_array, len * ng, store.regions);
      continue;
    }
    c.coded = int32_t(int_arg(env, ho.Get("coded"), at + ".coded", 0, len));
    c.key_groups = int32_t(int_arg(env, ho.Get("keyGroups"), at + ".keyGroups", 0, c.coded));
    const int64_t coded = c.coded, residual = len - coded;
    c.group_len = at_least<int32_t>(env, ho, "groupLen", at, napi_int32_array, c.key_groups, store.regions);
    c.key_codes = at_least<uint8_t>(env, ho, "keyCodes", at, napi_uint8_array, coded * rowBytes, store.regions);
    c.value_codes = at_least<uint8_t>(env, ho, "valueCodes", at, napi_uint8_array, coded * rowBytes, store.regions);
    c.key_scale_min = at_least<float>(env, ho, "keyScaleMin", at, napi_float32_array, int64_t(c.key_groups) * D * 2, store.regions);
    c.value_scale = at_least<float>(env, ho, "valueScale", at, napi_float32_array, coded * ng * 2, store.regions);
    c.residual_keys = at_least<float>(env, ho, "residualKeys", at, napi_float32_array, residual * D, store.regions);
    c.residual_values = at_least<float>(env, ho, "residualValues", at, napi_float32_array, residual * D, store.regions);
  }
  kv.coded = store.heads.data();
  kv.keys = kv.values = nullptr;
}

}  // namespace kvpn
