// The DRAM–flash tier inside the kernels: validation of a tiered kvp_kv_layout (tier_file.cpp).
#pragma once
#include "../../include/kvprism.h"

namespace kvp {
/** Checks the tier fields of kv (KVP_OK when it has none); KVP_EINVAL with kvp_last_error. */
int validate_tier(const kvp_kv_layout *kv);
}  // namespace kvp
