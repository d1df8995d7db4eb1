// Model ops for Node: linear, rmsNorm, rope, siluMul (semantics of src/attention/reference-ops.ts).
#include "napi_bindings.h"
#include "napi_util.h"

namespace kvpn {

namespace {

/** The optional `out` argument at index i, checked, or a new Float32Array of `len`. */
Napi::Float32Array out_arg(const Napi::CallbackInfo &info, size_t i, const std::string &name, int64_t len) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return Napi::Float32Array::New(env, size_t(len));
  typed_arg<float>(env, info[i], name, napi_float32_array, len);
  return info[i].As<Napi::Float32Array>();
}

}  // namespace

Napi::Value Linear(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t xLen = 0;
  const float *x = typed_arg<float>(env, info[0], "linear: x ([m][in])", napi_float32_array, -1, &xLen);
  const int64_t m = int_arg(env, info[1], "linear: m", 0, kMaxI32);
  Napi::Object w = object_arg(env, info[2], "linear: w");
  const kvp_dtype dt = dtype_arg(env, w.Get("dtype"), "linear: w.dtype");
  const int64_t N = int_arg(env, w.Get("outFeatures"), "linear: w.outFeatures", 0, kMaxI32);
  const int64_t K = int_arg(env, w.Get("inFeatures"), "linear: w.inFeatures", 0, kMaxI32);
  const void *wd = kv_buffer(env, w.Get("data"), "linear: w.data ([out][in])", dt, checked_product(env, "linear: out×in", {N, K}));
  if (int64_t(xLen) < checked_product(env, "linear: m×in", {m, K}))
    throw_range(env, "linear: x has " + std::to_string(xLen) + " elements; expected m×in = " + std::to_string(m) + "×" + std::to_string(K));
  const float *bias = nullptr;
  if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull())
    bias = typed_arg<float>(env, info[3], "linear: bias ([out])", napi_float32_array, N);
  const int64_t yLen = checked_product(env, "linear: m×out", {m, N});
  Napi::Float32Array y = out_arg(info, 4, "linear: out ([m][out])", yLen);
  if (ranges_overlap(y.Data(), yLen * 4, x, xLen * 4)) throw_range(env, "linear: out must not overlap x");
  check_rc(env, kvp_linear(x, int32_t(m), wd, dt, int32_t(N), int32_t(K), bias, y.Data()));
  return y;
}

Napi::Value RmsNorm(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t xLen = 0;
  const float *x = typed_arg<float>(env, info[0], "rmsNorm: x ([rows][dim])", napi_float32_array, -1, &xLen);
  const int64_t rows = int_arg(env, info[1], "rmsNorm: rows", 0, kMaxI32);
  const int64_t dim = int_arg(env, info[2], "rmsNorm: dim", 1, kMaxI32);
  const float *w = typed_arg<float>(env, info[3], "rmsNorm: weight ([dim])", napi_float32_array, dim);
  const double eps = num_arg(env, info[4], "rmsNorm: eps");
  if (!std::isfinite(eps) || eps < 0) throw_range(env, "rmsNorm: eps must be a finite number ≥ 0");
  const int64_t len = checked_product(env, "rmsNorm: rows×dim", {rows, dim});
  if (int64_t(xLen) < len) throw_range(env, "rmsNorm: x has " + std::to_string(xLen) + " elements; expected rows×dim = " + std::to_string(len));
  Napi::Float32Array y = out_arg(info, 5, "rmsNorm: out ([rows][dim])", len);
  check_rc(env, kvp_rms_norm(x, int32_t(rows), int32_t(dim), w, float(eps), y.Data()));
  return y;
}

Napi::Value Rope(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t xLen = 0, cLen = 0, sLen = 0;
  float *x = typed_arg<float>(env, info[0], "rope: x ([n][heads][headDim])", napi_float32_array, -1, &xLen);
  const int64_t n = int_arg(env, info[1], "rope: n", 0, kMaxI32);
  const int64_t heads = int_arg(env, info[2], "rope: heads", 0, kMaxI32);
  const int64_t hd = int_arg(env, info[3], "rope: headDim", 1, kMaxI32);
  const int64_t rd = int_arg(env, info[4], "rope: rotaryDim", 0, hd);
  if (rd % 2) throw_range(env, "rope: rotaryDim " + std::to_string(rd) + " must be even and ≤ headDim " + std::to_string(hd));
  const float *cs = typed_arg<float>(env, info[5], "rope: cos ([n][rotaryDim/2])", napi_float32_array, -1, &cLen);
  const float *sn = typed_arg<float>(env, info[6], "rope: sin ([n][rotaryDim/2])", napi_float32_array, -1, &sLen);
  if (int64_t(xLen) < checked_product(env, "rope: n×heads×headDim", {n, heads, hd})) throw_range(env, "rope: x is shorter than n×heads×headDim");
  const int64_t tab = checked_product(env, "rope: n×rotaryDim/2", {n, rd / 2});
  if (int64_t(cLen) < tab || int64_t(sLen) < tab) throw_range(env, "rope: cos/sin need n×rotaryDim/2 = " + std::to_string(tab) + " entries");
  check_rc(env, kvp_rope(x, int32_t(n), int32_t(heads), int32_t(hd), int32_t(rd), cs, sn));
  return env.Undefined();
}

Napi::Value SiluMul(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t gLen = 0;
  const float *g = typed_arg<float>(env, info[0], "siluMul: gate", napi_float32_array, -1, &gLen);
  const float *u = typed_arg<float>(env, info[1], "siluMul: up (same length as gate)", napi_float32_array, int64_t(gLen));
  Napi::Float32Array out = out_arg(info, 2, "siluMul: out (same length as gate)", int64_t(gLen));
  check_rc(env, kvp_silu_mul(g, u, out.Data(), gLen));
  return out;
}

}  // namespace kvpn
