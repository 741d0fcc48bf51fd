#include "CKernels.h"

// v ← v − δ·row, the inner loop of the tempered Gibbs sweep (Sources/Models/Samplers/TemperedLaplaceGibbs.swift).
// Every lane multiplies and then subtracts, as the portable loop does: no contraction into fused multiply-adds, so
// the vector paths give the same bits as the portable one and the samplers' draws do not depend on the CPU.
#pragma STDC FP_CONTRACT OFF

void sk_subtract_scaled_portable(double *v, const double *row, double delta, size_t n) {
    for (size_t j = 0; j < n; j++) v[j] = v[j] - delta * row[j];
}

#if defined(__x86_64__)
#include <immintrin.h>

/// Eight lanes per instruction (AVX-512F).
__attribute__((target("avx512f")))
static void subtract_scaled_avx512(double *v, const double *row, double delta, size_t n) {
    const __m512d d = _mm512_set1_pd(delta);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) _mm512_storeu_pd(v + j, _mm512_sub_pd(_mm512_loadu_pd(v + j), _mm512_mul_pd(d, _mm512_loadu_pd(row + j))));
    for (; j < n; j++) v[j] = v[j] - delta * row[j];
}

/// Four lanes per instruction (AVX).
__attribute__((target("avx")))
static void subtract_scaled_avx(double *v, const double *row, double delta, size_t n) {
    const __m256d d = _mm256_set1_pd(delta);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) _mm256_storeu_pd(v + j, _mm256_sub_pd(_mm256_loadu_pd(v + j), _mm256_mul_pd(d, _mm256_loadu_pd(row + j))));
    for (; j < n; j++) v[j] = v[j] - delta * row[j];
}
#endif

void sk_subtract_scaled(double *v, const double *row, double delta, size_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) { subtract_scaled_avx512(v, row, delta, n); return; }
    if (__builtin_cpu_supports("avx")) { subtract_scaled_avx(v, row, delta, n); return; }
#endif
    sk_subtract_scaled_portable(v, row, delta, n);
}
