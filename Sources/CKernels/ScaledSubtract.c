#include "CKernels.h"

// v ← v − δ·row, the inner loop of the tempered Gibbs sweep (Sources/Models/Samplers/TemperedLaplaceGibbs.swift).
// Every lane multiplies and then subtracts, as the plain loop does: no contraction into fused multiply-adds, so the
// vector clones give the baseline's bits and the samplers' draws do not depend on the CPU.
#pragma STDC FP_CONTRACT OFF

// One loop, compiled three times (the compiler vectorizes each clone for its instruction set) and chosen once when
// the library loads (an ifunc): AVX-512F, AVX, or the baseline.
#if defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("avx512f", "avx", "default")))
#endif
void sk_subtract_scaled(double *restrict v, const double *restrict row, double delta, size_t n) {
    for (size_t j = 0; j < n; j++) v[j] = v[j] - delta * row[j];
}
