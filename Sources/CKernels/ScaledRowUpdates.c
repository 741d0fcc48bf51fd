#include "CKernels.h"

// Scaled row updates, the inner loops of the tempered Gibbs sweep (Sources/Models/Samplers/TemperedLaplaceGibbs.swift)
// and of a sparse layer's products (Sources/DataKit/LinearAlgebra/CSRMatrix.swift). Every lane multiplies and then
// adds or subtracts, as the plain loop does: no contraction into fused multiply-adds, so the vector clones give the
// baseline's bits and neither the samplers' draws nor training depend on the CPU.
#pragma STDC FP_CONTRACT OFF

// Each loop is compiled three times (the compiler vectorizes each clone for its instruction set) and the clone is
// chosen once when the library loads (an ifunc): AVX-512F, AVX, or the baseline.
#if defined(__x86_64__) && defined(__linux__)
#define SK_ROW_UPDATE __attribute__((target_clones("avx512f", "avx", "default")))
#else
#define SK_ROW_UPDATE
#endif

SK_ROW_UPDATE
void sk_subtract_scaled(double *restrict v, const double *restrict row, double delta, size_t n) {
    for (size_t j = 0; j < n; j++) v[j] = v[j] - delta * row[j];
}

SK_ROW_UPDATE
void sk_add_scaled(float *restrict target, const float *restrict source, float x, size_t n) {
    for (size_t j = 0; j < n; j++) target[j] = target[j] + x * source[j];
}
