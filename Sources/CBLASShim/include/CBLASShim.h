#ifndef SPARSEKIT_CBLASSHIM_H
#define SPARSEKIT_CBLASSHIM_H
// OpenBLAS picks its kernels from the CPU's model number when it loads. Version 0.3.21 (Debian 12) does not know CPUs
// newer than itself (an Emerald Rapids Xeon, model 207, under KVM) and falls back to its Prescott kernels: SSE3, no
// AVX. When that happened, a constructor here re-runs OpenBLAS's own core selection, before main, with the core
// that the CPU's feature flags support (SkylakeX with AVX-512 F/CD/BW/DQ/VL, else Haswell with AVX2 and FMA), as
// OPENBLAS_CORETYPE would have chosen it at load. A core the user set with OPENBLAS_CORETYPE is never changed.

/// The core OpenBLAS fell back to before SparseKit replaced it ("Prescott"), or NULL when OpenBLAS's own choice
/// stands (a CPU it knows, OPENBLAS_CORETYPE set, no better core, or an OpenBLAS without run-time core selection).
const char *sk_blas_replaced_core(void);

#endif
