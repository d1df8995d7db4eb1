// The DRAM–flash tier's scratch file (MNN-LLM's hybrid storage): cold K/V rows live in a file
// mapped once, up front, over max_bytes of address space, so a region's address never changes
// (views handed to JS stay valid). Regions are carved off the end; disk is reserved with
// fallocate when a region is made, because a write to a mapped page of a full disk is a SIGBUS,
// not an error. Released regions get their disk back by hole punching. The file is unlinked
// right after it is created: nothing survives the process, killed or not.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include "../../include/kvprism.h"
#include "errors.h"
#include "tier.h"
#if defined(__linux__)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

struct kvp_tier_file {
  int fd = -1;
  char *base = nullptr;
  uint64_t maxBytes = 0;
  uint64_t end = 0;
  uint64_t live = 0;
  std::string dir;
};

namespace {
constexpr uint64_t kPage = 4096;
uint64_t round_page(uint64_t b) { return (b + kPage - 1) / kPage * kPage; }
std::string why(int err) { return std::string(std::strerror(err)) + (err == ENOSPC ? " (ENOSPC)" : ""); }
}  // namespace

#if defined(__linux__)

extern "C" kvp_tier_file *kvp_tier_open(const char *dir, uint64_t max_bytes) {
  if (!dir || !*dir) { kvp::fail("kvp_tier_open: dir must be a directory path"); return nullptr; }
  if (max_bytes == 0 || max_bytes > (uint64_t(1) << 46)) {
    kvp::fail("kvp_tier_open: max_bytes must be in [1, 2^46]; got " + std::to_string(max_bytes));
    return nullptr;
  }
  std::string path = std::string(dir) + "/kvprism-tier-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    kvp::fail("tier file: cannot create a file in " + std::string(dir) + ": " + why(errno));
    return nullptr;
  }
  unlink(path.c_str());
  const uint64_t span = round_page(max_bytes);
  void *base = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) {
    const int err = errno;
    close(fd);
    kvp::fail("tier file in " + std::string(dir) + ": cannot map " + std::to_string(span) + " bytes: " + why(err));
    return nullptr;
  }
  auto *f = new kvp_tier_file();
  f->fd = fd;
  f->base = static_cast<char *>(base);
  f->maxBytes = span;
  f->dir = dir;
  return f;
}

extern "C" void *kvp_tier_alloc(kvp_tier_file *f, uint64_t bytes) {
  if (!f || bytes == 0) { kvp::fail("kvp_tier_alloc: an open tier file and bytes > 0 are required"); return nullptr; }
  const uint64_t size = round_page(bytes);
  if (size > f->maxBytes - f->end) {
    kvp::fail("tier file in " + f->dir + ": no space left for " + std::to_string(bytes) + " more bytes (" + std::to_string(f->end) +
              " of its limit of " + std::to_string(f->maxBytes) + " bytes in use) (ENOSPC)");
    return nullptr;
  }
  // posix_fallocate returns the error (it does not set errno).
  if (const int err = posix_fallocate(f->fd, off_t(f->end), off_t(size))) {
    kvp::fail("tier file in " + f->dir + ": cannot reserve " + std::to_string(bytes) + " bytes on disk: " + why(err));
    return nullptr;
  }
  char *p = f->base + f->end;
  f->end += size;
  f->live += size;
  return p;
}

extern "C" int kvp_tier_release(kvp_tier_file *f, void *region, uint64_t bytes) {
  if (!f || !region) return kvp::fail("kvp_tier_release: an open tier file and a region are required");
  const char *p = static_cast<const char *>(region);
  const uint64_t size = round_page(bytes);
  if (p < f->base || uint64_t(p - f->base) + size > f->end || uint64_t(p - f->base) % kPage)
    return kvp::fail("kvp_tier_release: the region is not one of this tier file's");
  // A failed punch (a file system without holes) only keeps the disk space until close.
  fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(p - f->base), off_t(size));
  f->live -= size < f->live ? size : f->live;
  return KVP_OK;
}

extern "C" int kvp_tier_prefetch(const void *data, uint64_t bytes) {
  if (!data || bytes == 0) return KVP_OK;
  const uintptr_t lo = uintptr_t(data) & ~uintptr_t(kPage - 1);
  const uintptr_t hi = uintptr_t(data) + bytes;
  madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_WILLNEED);  // advisory: a refusal costs only speed
  return KVP_OK;
}

extern "C" int kvp_tier_evict(kvp_tier_file *f) {
  if (!f) return kvp::fail("kvp_tier_evict: an open tier file is required");
  if (f->end == 0) return KVP_OK;
  if (msync(f->base, f->end, MS_SYNC) != 0) return kvp::fail("tier file in " + f->dir + ": write-back failed: " + why(errno));
#if defined(MADV_PAGEOUT)
  madvise(f->base, f->end, MADV_PAGEOUT);  // advisory: a kernel without it keeps the pages
#endif
  posix_fadvise(f->fd, 0, off_t(f->end), POSIX_FADV_DONTNEED);
  return KVP_OK;
}

extern "C" void kvp_tier_close(kvp_tier_file *f) {
  if (!f) return;
  munmap(f->base, f->maxBytes);
  close(f->fd);
  delete f;
}

#else

extern "C" kvp_tier_file *kvp_tier_open(const char *, uint64_t) {
  kvp::fail("tier file: the DRAM–flash tier needs Linux (mmap, fallocate)");
  return nullptr;
}
extern "C" void *kvp_tier_alloc(kvp_tier_file *, uint64_t) { return nullptr; }
extern "C" int kvp_tier_release(kvp_tier_file *, void *, uint64_t) { return KVP_OK; }
extern "C" int kvp_tier_prefetch(const void *, uint64_t) { return KVP_OK; }
extern "C" int kvp_tier_evict(kvp_tier_file *) { return KVP_OK; }
extern "C" void kvp_tier_close(kvp_tier_file *) {}

#endif

extern "C" uint64_t kvp_tier_live_bytes(const kvp_tier_file *f) { return f ? f->live : 0; }

namespace kvp {

int validate_tier(const kvp_kv_layout *kv) {
  if (!kv->cold_lengths) return KVP_OK;
  const auto s = [](long v) { return std::to_string(v); };
  if (kv->dtype != KVP_F32 && kv->dtype != KVP_F16 && kv->dtype != KVP_BF16)
    return fail("kvp_attend: kv.cold_lengths (a DRAM–flash tier) needs dense K/V (KVP_F32, KVP_F16 or KVP_BF16); got dtype " + s(kv->dtype));
  if (kv->cold_capacity < 0 || kv->hot_capacity < 0 || !kv->hot_start)
    return fail("kvp_attend: a tiered layout needs cold_capacity ≥ 0, hot_capacity ≥ 0 and hot_start");
  for (int h = 0; h < kv->kv_heads; h++) {
    const long len = kv->lengths[h], cold = kv->cold_lengths[h], start = kv->hot_start[h];
    if (cold < 0 || cold > len || cold > kv->cold_capacity)
      return fail("kvp_attend: kv.cold_lengths[" + s(h) + "] = " + s(cold) + " is outside [0, min(lengths[" + s(h) + "] = " + s(len) +
                  ", cold_capacity = " + s(kv->cold_capacity) + ")]");
    if (start < 0 || start + (len - cold) > kv->hot_capacity)
      return fail("kvp_attend: kv.hot_start[" + s(h) + "] = " + s(start) + " with " + s(len - cold) + " hot slots runs past hot_capacity = " +
                  s(kv->hot_capacity));
    if (cold > 0 && (!kv->cold_keys || !kv->cold_values)) return fail("kvp_attend: kv.cold_keys and kv.cold_values must not be null");
    if (len > cold && (!kv->keys || !kv->values)) return fail("kvp_attend: kv.keys and kv.values must not be null (head " + s(h) + " has hot slots)");
  }
  return KVP_OK;
}

}  // namespace kvp
