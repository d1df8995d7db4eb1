// attend(args) for Node: args mirrors AttendArgs (src/attention/backend.ts). Returns
// { out, stats } with slot-aligned statistics as flat [kvHeads][capacity] Float32Arrays
// (the TS side takes each head's first lengths[h] entries), flows as [kvHeads][16] Float64Array
// and rowEntropy as [kvHeads][n] Float32Array. args.statsInto (optional, same keys and shapes)
// hands in arrays to overwrite instead of allocating.
#include <type_traits>
#include <vector>
#include "napi_bindings.h"
#include "napi_util.h"

namespace kvpn {

namespace {

struct Needs {
  bool cumulative = false, lastQuery = false, textColumn = false, redistributed = false, flows = false, rowEntropy = false;
  int64_t window = 0;
};

Needs read_needs(Napi::Env env, Napi::Value v) {
  Needs n;
  if (v.IsUndefined() || v.IsNull()) return n;
  Napi::Object o = object_arg(env, v, "args.needs");
  auto flag = [&](const char *k) { Napi::Value x = o.Get(k); return !x.IsUndefined() && !x.IsNull() && x.ToBoolean().Value(); };
  n.cumulative = flag("cumulative");
  n.lastQuery = flag("lastQuery");
  n.textColumn = flag("textColumn");
  n.redistributed = flag("redistributed");
  n.flows = flag("flows");
  n.rowEntropy = flag("rowEntropy");
  Napi::Value w = o.Get("window");
  if (!w.IsUndefined() && !w.IsNull()) n.window = int_arg(env, w, "args.needs.window", 0, kMaxI32);
  return n;
}

}  // namespace

/** Reads and checks args.kv into `kv` (all buffers' lengths against the shape); a quantized
 *  layer's codes (args.kv.coded) go into `coded`. */
void read_layout(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, const std::string &where, CodedHeads *coded) {
  Napi::Object o = object_arg(env, v, where);
  kv.kv_heads = int32_t(int_arg(env, o.Get("kvHeads"), where + ".kvHeads", 1, 1 << 16));
  kv.head_dim = int32_t(int_arg(env, o.Get("headDim"), where + ".headDim", 1, 1 << 16));
  kv.capacity = int32_t(int_arg(env, o.Get("capacity"), where + ".capacity", 0, kMaxI32));
  const Napi::Value codedV = o.Get("coded");
  const bool isCoded = !codedV.IsUndefined() && !codedV.IsNull();
  if (isCoded && !coded) throw_range(env, where + ".coded: quantized K/V are not accepted here");
  const int64_t slots = checked_product(env, where + " kvHeads×capacity", {kv.kv_heads, kv.capacity});
  // A DRAM–flash tier (napi_tier.cpp): keys / values hold the hot rows, [kvHeads][hotCapacity][headDim].
  const Napi::Value tierV = o.Get("tier");
  const bool isTier = !tierV.IsUndefined() && !tierV.IsNull();
  if (isTier && (isCoded || !coded)) throw_range(env, where + ".tier: a tier is accepted with dense K/V in attention only");
  if (!isCoded) {
    kv.dtype = dtype_arg(env, o.Get("dtype"), where + ".dtype");
    const int64_t rows = isTier ? int_arg(env, object_arg(env, tierV, where + ".tier").Get("hotCapacity"), where + ".tier.hotCapacity", 0, kMaxI32) : kv.capacity;
    const std::string shape = isTier ? "([kvHeads][tier.hotCapacity][headDim])" : "([kvHeads][capacity][headDim])";
    const int64_t elems = checked_product(env, where + " kvHeads×rows×headDim", {kv.kv_heads, rows, kv.head_dim});
    kv.keys = kv_buffer(env, o.Get("keys"), where + ".keys " + shape, kv.dtype, elems);
    kv.values = kv_buffer(env, o.Get("values"), where + ".values " + shape, kv.dtype, elems);
  }
  int32_t *lengths = typed_arg<int32_t>(env, o.Get("lengths"), where + ".lengths ([kvHeads])", napi_int32_array, kv.kv_heads);
  for (int h = 0; h < kv.kv_heads; h++)
    if (lengths[h] < 0 || lengths[h] > kv.capacity)
      throw_range(env, where + ".lengths[" + std::to_string(h) + "] = " + std::to_string(lengths[h]) + " is outside [0, capacity = " + std::to_string(kv.capacity) + "]");
  kv.lengths = lengths;
  kv.positions = typed_arg<int32_t>(env, o.Get("positions"), where + ".positions ([kvHeads][capacity])", napi_int32_array, slots);
  kv.modality = typed_arg<uint8_t>(env, o.Get("modality"), where + ".modality ([kvHeads][capacity])", napi_uint8_array, slots);
  for (int h = 0; h < kv.kv_heads; h++)
    for (int j = 0; j < lengths[h]; j++)
      if (kv.modality[size_t(h) * kv.capacity + j] >= KVP_MODALITIES)
        throw_range(env, where + ".modality[" + std::to_string(h) + "][" + std::to_string(j) + "] is not a modality code 0..3");
  if (isCoded) read_coded(env, codedV, kv, *coded, where + ".coded");
  const Napi::Value prunedV = o.Get("prunedKeys");
  if (!prunedV.IsUndefined() && !prunedV.IsNull()) {
    if (isCoded) throw_range(env, where + ".prunedKeys applies to dense keys only; this layout is coded");
    read_pruned_keys(env, prunedV, kv, where + ".prunedKeys");
  }
  if (isTier) read_tier(env, tierV, kv, where + ".tier", coded->regions);
  if (kv.key_channels && kv.cold_lengths) throw_range(env, where + ": pruned keys (prunedKeys, ThinK) and a DRAM–flash tier cannot be combined in one layout");
}

/** args.kv.prunedKeys { keyDim, channels [kvHeads][keyDim] Int32Array, split [kvHeads] } (ThinK):
 *  checked in full here, so the kernels can trust every index. */
void read_pruned_keys(Napi::Env env, Napi::Value v, kvp_kv_layout &kv, const std::string &where) {
  Napi::Object o = object_arg(env, v, where);
  kv.key_dim = int32_t(int_arg(env, o.Get("keyDim"), where + ".keyDim", 1, kv.head_dim));
  const int64_t n = checked_product(env, where + " kvHeads×keyDim", {kv.kv_heads, kv.key_dim});
  const int32_t *ch = typed_arg<int32_t>(env, o.Get("channels"), where + ".channels ([kvHeads][keyDim])", napi_int32_array, n);
  const int32_t *split = typed_arg<int32_t>(env, o.Get("split"), where + ".split ([kvHeads])", napi_int32_array, kv.kv_heads);
  for (int h = 0; h < kv.kv_heads; h++) {
    if (split[h] < 0 || split[h] > kv.lengths[h])
      throw_range(env, where + ".split[" + std::to_string(h) + "] = " + std::to_string(split[h]) + " is outside [0, lengths[" + std::to_string(h) + "] = " + std::to_string(kv.lengths[h]) + "]");
    int prev = -1;
    for (int c = 0; c < kv.key_dim; c++) {
      const int x = ch[size_t(h) * kv.key_dim + c];
      if (x <= prev || x >= kv.head_dim)
        throw_range(env, where + ".channels[" + std::to_string(h) + "][" + std::to_string(c) + "] = " + std::to_string(x) + "; channels must be strictly ascending in [0, headDim = " + std::to_string(kv.head_dim) + ")");
      prev = x;
    }
  }
  kv.key_channels = ch;
  kv.key_split = split;
}

namespace {

Napi::Value attend_on(const Napi::CallbackInfo &info, bool cuda) {
  Napi::Env env = info.Env();
  if (cuda) {
    const std::string why = cuda_unavailable();
    if (!why.empty()) throw_range(env, "attendCuda: " + why);
  }
  Napi::Object o = object_arg(env, info[0], "attend: args");
  kvp_kv_layout kv{};
  CodedHeads coded;
  read_layout(env, o.Get("kv"), kv, "attend: args.kv", &coded);
  if (cuda && kv.coded) throw_range(env, "attendCuda: CUDA attention reads dense f32 / f16 / bf16 K/V only; quantized storage runs on the CPU kernels");
  if (cuda && kv.key_channels) throw_range(env, "attendCuda: CUDA attention reads whole key rows only; pruned keys (args.kv.prunedKeys, ThinK) run on the CPU kernels");
  if (cuda && kv.cold_lengths) throw_range(env, "attendCuda: CUDA attention reads DRAM K/V only; a tiered layer runs on the CPU kernels");
  kvp_attend_args a{};
  a.n = int32_t(int_arg(env, o.Get("n"), "attend: args.n", 0, kMaxI32));
  a.q_heads = int32_t(int_arg(env, o.Get("qHeads"), "attend: args.qHeads", 1, 1 << 20));
  if (a.q_heads % kv.kv_heads)
    throw_range(env, "attend: args.qHeads = " + std::to_string(a.q_heads) + " must be a multiple of args.kv.kvHeads = " + std::to_string(kv.kv_heads) + " (GQA)");
  const double scale = num_arg(env, o.Get("scale"), "attend: args.scale");
  if (!std::isfinite(scale) || !(scale > 0)) throw_range(env, "attend: args.scale must be a finite number > 0 (usually 1/sqrt(headDim))");
  a.scale = float(scale);
  const int64_t qLen = checked_product(env, "attend: n×qHeads×headDim", {a.n, a.q_heads, kv.head_dim});
  a.q = typed_arg<float>(env, o.Get("q"), "attend: args.q ([n][qHeads][headDim])", napi_float32_array, qLen);
  for (int64_t i = 0; i < qLen; i++)
    if (!std::isfinite(a.q[i])) throw_range(env, "attend: args.q[" + std::to_string(i) + "] is not finite; queries must be finite");
  a.q_positions = typed_arg<int32_t>(env, o.Get("qPositions"), "attend: args.qPositions ([n])", napi_int32_array, a.n);
  Napi::Value qm = o.Get("qModality");
  if (!qm.IsUndefined() && !qm.IsNull()) {
    a.q_modality = typed_arg<uint8_t>(env, qm, "attend: args.qModality ([n])", napi_uint8_array, a.n);
    for (int i = 0; i < a.n; i++)
      if (a.q_modality[i] >= KVP_MODALITIES) throw_range(env, "attend: args.qModality[" + std::to_string(i) + "] is not a modality code 0..3");
  }
  const Needs needs = read_needs(env, o.Get("needs"));
  if ((needs.textColumn || needs.flows) && !a.q_modality)
    throw_range(env, "attend: args.qModality ([n] Uint8Array of modality codes) is required when needs.textColumn or needs.flows is set");
  Napi::Value outV = o.Get("out");
  Napi::Float32Array out;
  if (outV.IsUndefined() || outV.IsNull()) {
    out = Napi::Float32Array::New(env, size_t(qLen));
  } else {
    typed_arg<float>(env, outV, "attend: args.out ([n][qHeads][headDim])", napi_float32_array, qLen);
    out = outV.As<Napi::Float32Array>();
  }
  a.out = out.Data();
  if (ranges_overlap(a.out, qLen * 4, a.q, qLen * 4)) throw_range(env, "attend: args.out must not overlap args.q");

  const size_t slots = size_t(kv.kv_heads) * kv.capacity;
  Napi::Object stats = Napi::Object::New(env);
  kvp_stats_out st{};
  // args.statsInto: caller-owned arrays the kernels overwrite instead of allocating fresh
  // ones (a decode step would otherwise page-fault in megabytes of new arrays per layer).
  Napi::Value intoV = o.Get("statsInto");
  const bool haveInto = !intoV.IsUndefined() && !intoV.IsNull();
  Napi::Object into = haveInto ? object_arg(env, intoV, "attend: args.statsInto") : Napi::Object();
  // A reused array must not alias what the kernels read or write elsewhere.
  std::vector<std::pair<const void *, size_t>> taken = {{a.q, size_t(qLen) * 4}, {a.out, size_t(qLen) * 4}};
  taken.insert(taken.end(), coded.regions.begin(), coded.regions.end());  // codes, or a tier's cold rows
  if (!kv.coded) {
    const size_t rows = size_t(kv.kv_heads) * (kv.cold_lengths ? kv.hot_capacity : kv.capacity);
    const size_t kvBytes = rows * size_t(kv.head_dim) * (kv.dtype == KVP_F32 ? 4 : 2);
    taken.push_back({kv.keys, kvBytes});
    taken.push_back({kv.values, kvBytes});
  }
  auto claim = [&](Napi::TypedArray arr, const char *name) {
    const void *p = static_cast<uint8_t *>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    const size_t bytes = arr.ByteLength();
    for (auto &[q, n] : taken)
      if (ranges_overlap(p, bytes, q, n))
        throw_range(env, std::string("attend: args.statsInto.") + name + " overlaps q, out, the K/V buffers or another statistic");
    taken.push_back({p, bytes});
  };
  auto reused = [&](const char *name) -> Napi::Value {
    if (!haveInto) return env.Undefined();
    Napi::Value v = into.Get(name);
    return v.IsUndefined() || v.IsNull() ? env.Undefined() : v;
  };
  // One statistic: the caller's array when statsInto has it (checked), else a fresh one.
  auto statArray = [&](auto *tag, const char *name, const char *shape, size_t count, napi_typedarray_type type) {
    using T = std::remove_pointer_t<decltype(tag)>;
    using Arr = Napi::TypedArrayOf<T>;
    Napi::Value r = reused(name);
    Arr arr;
    if (r.IsUndefined()) {
      arr = Arr::New(env, count);
    } else {
      typed_arg<T>(env, r, std::string("attend: args.statsInto.") + name + " (" + shape + ")", type, int64_t(count));
      arr = r.As<Arr>();
      claim(arr, name);
    }
    stats.Set(name, arr);
    return arr.Data();
  };
  auto slotStat = [&](bool on, const char *name) -> float * {
    return on ? statArray(static_cast<float *>(nullptr), name, "[kvHeads][capacity]", slots, napi_float32_array) : nullptr;
  };
  st.cumulative = slotStat(needs.cumulative, "cumulative");
  st.window = slotStat(needs.window > 0, "window");
  st.window_tokens = int32_t(needs.window);
  st.last_query = slotStat(needs.lastQuery, "lastQuery");
  st.text_column = slotStat(needs.textColumn, "textColumn");
  st.redistributed = slotStat(needs.redistributed, "redistributed");
  if (needs.flows)
    st.flows = statArray(static_cast<double *>(nullptr), "flows", "[kvHeads][16]", size_t(kv.kv_heads) * KVP_MODALITIES * KVP_MODALITIES, napi_float64_array);
  if (needs.rowEntropy)
    st.row_entropy = statArray(static_cast<float *>(nullptr), "rowEntropy", "[kvHeads][n]", size_t(kv.kv_heads) * a.n, napi_float32_array);
  check_rc(env, cuda ? cuda_attend(a, kv, st) : kvp_attend(&a, &kv, &st));
  Napi::Object result = Napi::Object::New(env);
  result.Set("out", out);
  result.Set("stats", stats);
  return result;
}

}  // namespace

Napi::Value Attend(const Napi::CallbackInfo &info) { return attend_on(info, false); }
Napi::Value AttendCuda(const Napi::CallbackInfo &info) { return attend_on(info, true); }

}  // namespace kvpn
