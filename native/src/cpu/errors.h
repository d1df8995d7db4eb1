// Thread-local last-error message behind kvp_last_error().
#pragma once
#include <string>
#include "../../include/kvprism.h"

namespace kvp {
/** Records msg as the last error and returns KVP_EINVAL (or code). */
int fail(const std::string &msg, int code = KVP_EINVAL);
}  // namespace kvp
