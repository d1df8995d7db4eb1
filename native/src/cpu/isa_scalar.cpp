// Scalar kernels: the portable fallback (and a reference path the tests compare against).
#include "isa_table.h"
#include "simd/simd_scalar.h"

namespace kvp {
const KernelTable *table_scalar() { return make_table<SimdScalar>(); }
}  // namespace kvp
