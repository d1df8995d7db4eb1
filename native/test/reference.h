// Scalar double-precision reference of kvp_attend (materialises every probability) and of
// the model ops: the oracle of the native tests. Written from src/attention/stats.ts.
#pragma once
#include <cstdint>
#include <vector>
#include "kvprism.h"

namespace ref {

struct Stats {
  std::vector<double> cumulative, window, lastQuery, textColumn, redistributed;  // [kvHeads][cap]
  std::vector<double> flows;                                                     // [kvHeads][16]
  std::vector<double> rowEntropy;                                                // [kvHeads][n]
};

/** K/V element (h, slot, d) as f32, decoded from the layout's dtype. */
float kv_at(const kvp_kv_layout &kv, const void *buf, int h, int slot, int d);

void attend(const kvp_attend_args &a, const kvp_kv_layout &kv, int windowTokens, std::vector<double> &out, Stats &st);

void linear(const float *x, int m, const kvp_kv_layout &wAsRows, int N, int K, const float *bias, std::vector<double> &y);

}  // namespace ref
