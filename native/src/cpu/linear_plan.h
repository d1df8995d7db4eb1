// y[m][N] = x[m][K] · Wᵀ (+ bias), W [N][K]: tasks are blocks of `rowsPerTask` output features.
#pragma once
#include <cstdint>
#include "../../include/kvprism.h"

namespace kvp {

struct LinearPlan {
  const float *x;
  int m;
  const void *w;
  kvp_dtype dtype;
  int N, K;
  const float *bias;
  float *y;
  int rowsPerTask;
  int tasks() const { return (N + rowsPerTask - 1) / rowsPerTask; }
};

}  // namespace kvp
