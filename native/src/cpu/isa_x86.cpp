// x86-64 AVX2 + FMA + F16C kernels: the build baseline (-mavx2 -mfma -mf16c).
#include "kernel_table.h"
#if defined(__x86_64__) || defined(_M_X64)
#include "isa_table.h"
#include "simd/simd_avx2.h"
namespace kvp {
const KernelTable *table_avx2() { return make_table<SimdAvx2>(); }
}  // namespace kvp
#else
namespace kvp {
const KernelTable *table_avx2() { return nullptr; }
}  // namespace kvp
#endif
