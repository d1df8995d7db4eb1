// Model ops and cache maintenance against scalar references, on every ISA this CPU runs.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>
#include "harness.h"
#include "reference.h"
#include "test_util.h"

namespace {

bool close(double got, double want, double atol, double rtol) { return std::fabs(got - want) <= atol + rtol * std::fabs(want); }

}  // namespace

TEST_CASE("linear matches the reference (f32/f16/bf16, GEMV and GEMM, odd sizes)") {
  const int shapes[][3] = {{1, 1, 1}, {1, 37, 63}, {3, 5, 7}, {5, 17, 130}, {8, 64, 128}, {2, 33, 300}, {13, 9, 16}};
  for (const std::string &isa : available_isas()) {
    kvp_set_isa(isa.c_str());
    kt::Rng rng(99);
    for (auto &sh : shapes)
      for (kvp_dtype dt : {KVP_F32, KVP_F16, KVP_BF16}) {
        const int m = sh[0], N = sh[1], K = sh[2];
        TestCache w = make_cache(1, K, N, dt, {N}, true, rng);  // W [N][K] as one "head"
        std::vector<float> x(size_t(m) * K), bias(N), y(size_t(m) * N, -1.f);
        for (auto &v : x) v = rng.uniform(-1, 1);
        for (auto &v : bias) v = rng.uniform(-1, 1);
        const bool withBias = (N % 2) == 1;
        CHECK(kvp_linear(x.data(), m, w.kv.keys, dt, N, K, withBias ? bias.data() : nullptr, y.data()) == KVP_OK, kvp_last_error());
        std::vector<double> want;
        ref::linear(x.data(), m, w.kv, N, K, withBias ? bias.data() : nullptr, want);
        for (size_t i = 0; i < y.size(); i++)
          if (!close(y[i], want[i], 1e-4, 1e-4)) {
            CHECK(false, isa + " linear m=" + std::to_string(m) + " N=" + std::to_string(N) + " K=" + std::to_string(K) + " y[" + std::to_string(i) + "]");
            break;
          }
      }
  }
}

TEST_CASE("rms_norm, rope and silu_mul match the reference") {
  for (const std::string &isa : available_isas()) {
    kvp_set_isa(isa.c_str());
    kt::Rng rng(5);
    const int rows = 7, dim = 77;
    std::vector<float> x(rows * dim), w(dim), y(rows * dim);
    for (auto &v : x) v = rng.uniform(-2, 2);
    for (auto &v : w) v = rng.uniform(0.5, 1.5);
    CHECK(kvp_rms_norm(x.data(), rows, dim, w.data(), 1e-5f, y.data()) == KVP_OK, "rms_norm");
    for (int r = 0; r < rows; r++) {
      double ss = 0;
      for (int i = 0; i < dim; i++) ss += double(x[r * dim + i]) * x[r * dim + i];
      const double inv = 1 / std::sqrt(ss / dim + 1e-5);
      for (int i = 0; i < dim; i++) CHECK(close(y[r * dim + i], x[r * dim + i] * inv * w[i], 1e-5, 1e-5), isa + " rms_norm value");
    }
    const int n = 3, heads = 2, hd = 10, rd = 6, half = rd / 2;
    std::vector<float> q(n * heads * hd), cs(n * half), sn(n * half);
    for (auto &v : q) v = rng.uniform(-1, 1);
    for (int i = 0; i < n * half; i++) { cs[i] = std::cos(0.3f * i); sn[i] = std::sin(0.3f * i); }
    std::vector<float> q0 = q;
    CHECK(kvp_rope(q.data(), n, heads, hd, rd, cs.data(), sn.data()) == KVP_OK, "rope");
    for (int t = 0; t < n; t++)
      for (int h = 0; h < heads; h++)
        for (int i = 0; i < hd; i++) {
          const float *b = q0.data() + (t * heads + h) * hd;
          double want = b[i];
          if (i < half) want = b[i] * cs[t * half + i] - b[i + half] * sn[t * half + i];
          else if (i < rd) want = b[i] * cs[t * half + i - half] + b[i - half] * sn[t * half + i - half];
          CHECK(close(q[(t * heads + h) * hd + i], want, 1e-6, 1e-6), isa + " rope value");
        }
    CHECK(kvp_rope(q.data(), n, heads, hd, 7, cs.data(), sn.data()) == KVP_EINVAL, "odd rotary_dim must fail");
    std::vector<float> g(1001), u(1001), o(1001);
    for (auto &v : g) v = rng.uniform(-30, 30);
    for (auto &v : u) v = rng.uniform(-1, 1);
    CHECK(kvp_silu_mul(g.data(), u.data(), o.data(), g.size()) == KVP_OK, "silu_mul");
    for (size_t i = 0; i < g.size(); i++) CHECK(close(o[i], g[i] / (1 + std::exp(-double(g[i]))) * u[i], 1e-6, 1e-5), isa + " silu value");
  }
}

TEST_CASE("compact, merge, nearest_cosine and topk") {
  kt::Rng rng(3);
  // compact: head 1 of a [2][6][3] f32 buffer keeps slots 1, 4, 5.
  std::vector<float> rows(2 * 6 * 3);
  std::iota(rows.begin(), rows.end(), 0.f);
  const int32_t keep[] = {1, 4, 5};
  CHECK(kvp_compact(rows.data(), 4, 3, 2, 6, 1, keep, 3) == KVP_OK, "compact");
  for (int s = 0; s < 3; s++)
    for (int d = 0; d < 3; d++) CHECK(rows[(6 + s) * 3 + d] == float((6 + keep[s]) * 3 + d), "compact moved rows");
  CHECK(rows[0] == 0.f && rows[17] == 17.f, "compact left head 0 alone");
  const int32_t bad[] = {2, 2};
  CHECK(kvp_compact(rows.data(), 4, 3, 2, 6, 0, bad, 2) == KVP_EINVAL, "non-increasing keep must fail");
  // merge in bf16: row 0 = 0.25·row0 + 0.75·row2.
  for (kvp_dtype dt : {KVP_F32, KVP_F16, KVP_BF16}) {
    TestCache c = make_cache(1, 5, 4, dt, {4}, true, rng);
    std::vector<float> r0(5), r2(5);
    for (int d = 0; d < 5; d++) { r0[d] = ref::kv_at(c.kv, c.kv.keys, 0, 0, d); r2[d] = ref::kv_at(c.kv, c.kv.keys, 0, 2, d); }
    const int32_t from[] = {0, 2};
    const float wts[] = {0.25f, 0.75f};
    CHECK(kvp_merge(const_cast<void *>(c.kv.keys), dt, 4, 5, 0, from, wts, 2) == KVP_OK, "merge");
    const double tol = dt == KVP_F32 ? 1e-6 : dt == KVP_F16 ? 1e-3 : 8e-3;
    for (int d = 0; d < 5; d++) CHECK(close(ref::kv_at(c.kv, c.kv.keys, 0, 0, d), 0.25 * r0[d] + 0.75 * r2[d], tol, 0), "merge value");
  }
  // nearest cosine: pivots are scaled copies of rows 3 and 7, so those rows find themselves.
  const int n = 10, m = 3, dim = 33;
  std::vector<float> x(n * dim), piv(m * dim);
  for (auto &v : x) v = rng.uniform(-1, 1);
  for (int d = 0; d < dim; d++) { piv[d] = 2 * x[3 * dim + d]; piv[dim + d] = 0.5f * x[7 * dim + d]; piv[2 * dim + d] = rng.uniform(-1, 1); }
  std::vector<int32_t> idx(n);
  std::vector<float> sim(n);
  CHECK(kvp_nearest_cosine(x.data(), KVP_F32, n, piv.data(), KVP_F32, m, dim, idx.data(), sim.data()) == KVP_OK, "nearest");
  CHECK(idx[3] == 0 && close(sim[3], 1, 1e-5, 0), "row 3 → pivot 0 with cosine 1");
  CHECK(idx[7] == 1 && close(sim[7], 1, 1e-5, 0), "row 7 → pivot 1 with cosine 1");
  for (int i = 0; i < n; i++) {
    double best = -2; int bi = -1;
    for (int j = 0; j < m; j++) {
      double dot = 0, nx = 0, np = 0;
      for (int d = 0; d < dim; d++) { dot += x[i * dim + d] * piv[j * dim + d]; nx += x[i * dim + d] * x[i * dim + d]; np += piv[j * dim + d] * piv[j * dim + d]; }
      const double cs = dot / std::sqrt(nx * np);
      if (cs > best) { best = cs; bi = j; }
    }
    CHECK(idx[i] == bi && close(sim[i], best, 1e-5, 0), "nearest matches brute force");
  }
  // topk: ties go to the lower index; NaN ranks lowest; output in ascending index order.
  const float sc[] = {0.5f, NAN, 2.f, 0.5f, -1.f, 2.f, 0.5f};
  int32_t top[4];
  CHECK(kvp_topk(sc, 7, 4, top) == KVP_OK, "topk");
  CHECK(top[0] == 0 && top[1] == 2 && top[2] == 3 && top[3] == 5, "topk picks 2, 5, then 0 and 3 of the 0.5 ties");
  CHECK(kvp_topk(sc, 7, 8, top) == KVP_EINVAL, "k > n must fail");
}

TEST_CASE("stream triad and read sweeps report a positive bandwidth and reject bad sizes") {
  const double gbs = kvp_stream_triad(8, 2);
  CHECK(gbs > 0.1, "triad GB/s = " + std::to_string(gbs));
  const double rd = kvp_stream_read(8, 2);
  CHECK(rd > 0.1, "read GB/s = " + std::to_string(rd));
  CHECK(kvp_stream_read(0, 1) < 0 && kvp_stream_read(8, 0) < 0, "read sweep: mib 0 or reps 0 must fail");
}

TEST_CASE("advise_huge_pages advises whole 2 MiB pages inside the range, never more") {
  CHECK(kvp_advise_huge_pages(nullptr, 1 << 22) == 0, "null buffer: nothing advised");
  std::vector<float> small(1024);
  CHECK(kvp_advise_huge_pages(small.data(), small.size() * sizeof(float)) == 0, "4 KiB holds no 2 MiB page");
  std::vector<float> big(size_t(3) << 20);  // 12 MiB
  const int64_t got = kvp_advise_huge_pages(big.data(), big.size() * sizeof(float));
  CHECK(got >= 0 && got % (int64_t(2) << 20) == 0 && got <= int64_t(big.size() * sizeof(float)), "advised " + std::to_string(got) + " bytes");
}

TEST_CASE("alloc_kv gives zeroed 2 MiB-aligned memory and rejects 0 and absurd sizes") {
  const size_t bytes = (size_t(5) << 20) + 12;
  auto *p = static_cast<uint8_t *>(kvp_alloc_kv(bytes));
  CHECK(p != nullptr, std::string("kvp_alloc_kv(5 MiB) failed: ") + kvp_last_error());
  if (!p) return;
  CHECK(uintptr_t(p) % (uintptr_t(2) << 20) == 0, "2 MiB-aligned");
  bool zero = true;
  for (size_t i = 0; i < bytes; i += 4093) zero &= p[i] == 0;
  CHECK(zero && p[bytes - 1] == 0, "zeroed");
  p[0] = 1;
  p[bytes - 1] = 2;
  CHECK(p[0] == 1 && p[bytes - 1] == 2, "writable to the last byte");
  kvp_free_kv(p, bytes);
  kvp_free_kv(nullptr, 10);  // ignored
  CHECK(kvp_alloc_kv(0) == nullptr && std::string(kvp_last_error()).find("bytes must be > 0") != std::string::npos, "0 bytes refused");
  CHECK(kvp_alloc_kv(size_t(1) << 50) == nullptr && std::string(kvp_last_error()).find("kvp_alloc_kv") != std::string::npos, "2^50 bytes refused");
}
