// Device discovery. cudart is linked statically, so without a driver these report 0 devices
// and a reason instead of failing to load.
#include <string>
#include "cuda_common.cuh"
#include "kvprism_cuda.h"

namespace {
std::string deviceName;
}

extern "C" int kvp_cuda_device_count(void) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    deviceName = std::string("no CUDA device: ") + cudaGetErrorString(e);
    return 0;
  }
  return n;
}

extern "C" const char *kvp_cuda_device_name(void) {
  if (kvp_cuda_device_count() > 0) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) deviceName = prop.name;
  } else if (deviceName.empty()) {
    deviceName = "no CUDA device";
  }
  return deviceName.c_str();
}
