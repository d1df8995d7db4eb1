// Instantiates every templated kernel for one ISA struct S into a KernelTable.
#pragma once
#include "attend_impl.h"
#include "kernel_table.h"
#include "linear_impl.h"

namespace kvp {

template <class S> const KernelTable *make_table() {
  static const KernelTable t = {
      S::name,
      &AttendKernels<S>::pass1,
      &AttendKernels<S>::combine,
      &AttendKernels<S>::pass2,
      &LinearKernels<S>::task,
      &Vec<S>::dot,
      &Vec<S>::silu_mul,
      &S::cvt16,
  };
  return &t;
}

}  // namespace kvp
