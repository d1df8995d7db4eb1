// AVX-512F kernels, selected at run time. Everything shared with other translation units
// (std templates, plan structs) is included BEFORE the target pragma so that no inline
// function the linker may merge across TUs is ever compiled with AVX-512 instructions.
#include "kernel_table.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <algorithm>
#include <cmath>
#include <immintrin.h>
#include <limits>
#include <vector>
#include "attend_plan.h"
#include "half.h"
#include "linear_plan.h"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
#include "isa_table.h"
#include "simd/simd_avx512.h"
namespace kvp {
const KernelTable *table_avx512() { return make_table<SimdAvx512>(); }
}  // namespace kvp
#pragma GCC pop_options
#else
namespace kvp {
const KernelTable *table_avx512() { return nullptr; }
}  // namespace kvp
#endif
