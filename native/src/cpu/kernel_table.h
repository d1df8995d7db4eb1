// One ISA's kernels as function pointers; dispatch.cpp picks a table at run time.
#pragma once
#include <cstddef>
#include <cstdint>
#include "attend_plan.h"
#include "linear_plan.h"

namespace kvp {

struct KernelTable {
  const char *name;
  void (*attendPass1)(const AttendPlan &, int task);
  void (*attendCombine)(const AttendPlan &, int task);
  void (*attendPass2)(const AttendPlan &, int task);
  void (*linearTask)(const LinearPlan &, int task);
  float (*dot)(const float *, const float *, int);
  void (*siluMul)(const float *, const float *, float *, size_t);
  void (*cvt16)(const uint16_t *, float *, int, bool isBf16);
};

const KernelTable *table_scalar();
const KernelTable *table_avx2();    // null when not built for x86-64
const KernelTable *table_avx512();  // null when not built for x86-64
const KernelTable *table_neon();    // null when not built for aarch64

/** The table in use (KVPRISM_ISA / kvp_set_isa, else the best this CPU runs). */
const KernelTable &kernels();

}  // namespace kvp
