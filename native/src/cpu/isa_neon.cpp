// AArch64 NEON kernels (ASIMD is baseline on aarch64: no runtime check needed).
#include "kernel_table.h"
#if defined(__aarch64__)
#include "isa_table.h"
#include "simd/simd_neon.h"
namespace kvp {
const KernelTable *table_neon() { return make_table<SimdNeon>(); }
}  // namespace kvp
#else
namespace kvp {
const KernelTable *table_neon() { return nullptr; }
}  // namespace kvp
#endif
