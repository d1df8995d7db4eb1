// Argument readers for the Node binding: every one checks type, range and length and throws
// a JS error that names the argument and the expected form. Nothing reaches a kernel unchecked.
#pragma once
#include <napi.h>
#include <cmath>
#include <cstdint>
#include <string>
#include "kvprism.h"

namespace kvpn {

[[noreturn]] inline void throw_range(Napi::Env env, const std::string &msg) {
  throw Napi::RangeError::New(env, "kvprism native " + msg);
}
[[noreturn]] inline void throw_type(Napi::Env env, const std::string &msg) {
  throw Napi::TypeError::New(env, "kvprism native " + msg);
}

/** Integer in [lo, hi] (JS number). */
inline int64_t int_arg(Napi::Env env, Napi::Value v, const std::string &name, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) throw_type(env, name + " must be an integer; got " + (v.IsUndefined() ? "undefined" : "a non-number"));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < double(lo) || d > double(hi))
    throw_range(env, name + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]; got " + std::to_string(d));
  return int64_t(d);
}

inline double num_arg(Napi::Env env, Napi::Value v, const std::string &name) {
  if (!v.IsNumber()) throw_type(env, name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

inline const char *typed_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint8_array: return "Uint8Array";
    default: return "another typed array";
  }
}

/** A typed array of exactly `type`; when `want` ≥ 0 its element count must equal it. */
template <class T>
T *typed_arg(Napi::Env env, Napi::Value v, const std::string &name, napi_typedarray_type type, int64_t want, size_t *lenOut = nullptr) {
  if (!v.IsTypedArray()) throw_type(env, name + " must be a " + typed_name(type));
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != type) throw_type(env, name + " must be a " + typed_name(type) + "; got a " + typed_name(ta.TypedArrayType()));
  const size_t len = ta.ElementLength();
  if (want >= 0 && int64_t(len) != want)
    throw_range(env, name + " has " + std::to_string(len) + " elements; expected " + std::to_string(want));
  if (lenOut) *lenOut = len;
  uint8_t *base = static_cast<uint8_t *>(ta.ArrayBuffer().Data());
  return reinterpret_cast<T *>(base + ta.ByteOffset());
}

inline kvp_dtype dtype_arg(Napi::Env env, Napi::Value v, const std::string &name) {
  if (!v.IsString()) throw_type(env, name + " must be 'f32', 'f16' or 'bf16'");
  const std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "f32") return KVP_F32;
  if (s == "f16") return KVP_F16;
  if (s == "bf16") return KVP_BF16;
  throw_range(env, name + " must be 'f32', 'f16' or 'bf16'; got '" + s + "'");
}

/** Storage of a K/V or weight buffer: Float32Array for f32, Uint16Array for f16/bf16. */
inline const void *kv_buffer(Napi::Env env, Napi::Value v, const std::string &name, kvp_dtype dt, int64_t want) {
  if (dt == KVP_F32) return typed_arg<float>(env, v, name, napi_float32_array, want);
  return typed_arg<uint16_t>(env, v, name, napi_uint16_array, want);
}

inline Napi::Object object_arg(Napi::Env env, Napi::Value v, const std::string &name) {
  if (!v.IsObject() || v.IsTypedArray() || v.IsArray()) throw_type(env, name + " must be an object");
  return v.As<Napi::Object>();
}

/** Product of shape factors, refusing anything past 2^40 elements (no overflow downstream). */
inline int64_t checked_product(Napi::Env env, const std::string &what, std::initializer_list<int64_t> xs) {
  double p = 1;
  for (int64_t x : xs) p *= double(x);
  if (p > double(int64_t(1) << 40)) throw_range(env, what + " is too large");
  return int64_t(p);
}

/** Throws the kernel's message when a C ABI call fails (validation the binding left to it). */
inline void check_rc(Napi::Env env, int rc) {
  if (rc != KVP_OK) throw_range(env, kvp_last_error());
}

inline bool ranges_overlap(const void *a, size_t an, const void *b, size_t bn) {
  const uint8_t *pa = static_cast<const uint8_t *>(a), *pb = static_cast<const uint8_t *>(b);
  return an && bn && pa < pb + bn && pb < pa + an;
}

constexpr int64_t kMaxI32 = 2147483647;

}  // namespace kvpn
