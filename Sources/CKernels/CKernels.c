#include "CKernels.h"

#include <math.h>

// The vector and scalar paths must round alike: no contraction of a·b + c into fused multiply-adds.
#pragma STDC FP_CONTRACT OFF

/// One parameter: the operations of the vector paths, in their order (no contraction into fused multiply-adds).
static inline void adam_lane(float *theta, float g, float *m, float *v, float b1, float b2, float c1, float c2,
                             float alpha, float eps) {
    float mi = b1 * *m + c1 * g;
    float vi = b2 * *v + c2 * g * g;
    *m = mi;
    *v = vi;
    *theta = *theta - alpha * mi / (sqrtf(vi) + eps);
}

#if defined(__x86_64__)
#include <immintrin.h>

/// Eight lanes per instruction (AVX): only called when the CPU has it.
__attribute__((target("avx")))
static void adam_avx(float *theta, const float *g, float *m, float *v, size_t n, float b1, float b2, float c1,
                     float c2, float alpha, float eps) {
    const __m256 B1 = _mm256_set1_ps(b1), B2 = _mm256_set1_ps(b2), C1 = _mm256_set1_ps(c1), C2 = _mm256_set1_ps(c2);
    const __m256 ALPHA = _mm256_set1_ps(alpha), EPS = _mm256_set1_ps(eps), ZERO = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = g ? _mm256_loadu_ps(g + i) : ZERO;
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(B1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(C1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(B2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(C2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(ALPHA, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), EPS));
        _mm256_storeu_ps(theta + i, _mm256_sub_ps(_mm256_loadu_ps(theta + i), step));
    }
    for (; i < n; i++) adam_lane(theta + i, g ? g[i] : 0, m + i, v + i, b1, b2, c1, c2, alpha, eps);
}
#endif

void sk_adam_update_portable(float *theta, const float *g, float *m, float *v, size_t n, float b1, float b2,
                             float alpha, float eps) {
    for (size_t i = 0; i < n; i++) adam_lane(theta + i, g ? g[i] : 0, m + i, v + i, b1, b2, 1 - b1, 1 - b2, alpha, eps);
}

void sk_adam_update(float *theta, const float *g, float *m, float *v, size_t n, float b1, float b2, float alpha,
                    float eps) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx")) {
        adam_avx(theta, g, m, v, n, b1, b2, 1 - b1, 1 - b2, alpha, eps);
        return;
    }
#endif
    sk_adam_update_portable(theta, g, m, v, n, b1, b2, alpha, eps);
}
