#include "CKernels.h"

// The AVX2 + FMA path of ES-SC's coordinate-ascent E-step; the portable path and the derivation are in
// Sources/Models/SparseCoding/CoordinateAscentEStep.swift. Lanes are points: eight at once.

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

/// e^x as VectorMath.exp: x = k ln 2 + r, e^r by its degree-7 Taylor polynomial, 2^k in the exponent bits; NaN
/// passes through.
AVX2 __m256 exp8(__m256 x) {
    const __m256 shifter = _mm256_set1_ps(12582912.0f);
    x = _mm256_min_ps(_mm256_set1_ps(88.72283f), _mm256_max_ps(_mm256_set1_ps(-87.33654f), x));
    __m256 shifted = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504f), shifter);
    __m256 k = _mm256_sub_ps(shifted, shifter);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.69314575f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.4286068e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1));
    __m256i integer = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_castps_si256(shifter));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(integer, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(p, scale);
}

/// erf(t) given e = exp(−t²), as VectorMath.erf: Taylor for |t| < 0.5, Abramowitz & Stegun 7.1.26 beyond.
AVX2 __m256 erf8(__m256 t, __m256 e) {
    __m256 t2 = _mm256_mul_ps(t, t);
    __m256 series = _mm256_set1_ps(-1.0f / 1320);
    series = _mm256_fmadd_ps(series, t2, _mm256_set1_ps(1.0f / 216));
    series = _mm256_fmadd_ps(series, t2, _mm256_set1_ps(-1.0f / 42));
    series = _mm256_fmadd_ps(series, t2, _mm256_set1_ps(1.0f / 10));
    series = _mm256_fmadd_ps(series, t2, _mm256_set1_ps(-1.0f / 3));
    series = _mm256_fmadd_ps(series, t2, _mm256_set1_ps(1));
    __m256 small = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(1.12837917f), t), series);
    __m256 sign = _mm256_and_ps(t, _mm256_set1_ps(-0.0f));
    __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), t);
    __m256 tau = _mm256_div_ps(_mm256_set1_ps(1), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), magnitude, _mm256_set1_ps(1)));
    __m256 poly = _mm256_set1_ps(1.061405429f);
    poly = _mm256_fmadd_ps(poly, tau, _mm256_set1_ps(-1.453152027f));
    poly = _mm256_fmadd_ps(poly, tau, _mm256_set1_ps(1.421413741f));
    poly = _mm256_fmadd_ps(poly, tau, _mm256_set1_ps(-0.284496736f));
    poly = _mm256_fmadd_ps(poly, tau, _mm256_set1_ps(0.254829592f));
    __m256 tail = _mm256_fnmadd_ps(_mm256_mul_ps(poly, tau), e, _mm256_set1_ps(1));
    __m256 large = _mm256_or_ps(tail, sign);
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(magnitude, _mm256_set1_ps(0.5f), _CMP_LT_OQ));
}

/// exp(−t²) and erf(t) at t = μ/(√2 s).
AVX2 void moments8(__m256 m, __m256 s, __m256 *gauss, __m256 *erf_t) {
    __m256 t = _mm256_mul_ps(_mm256_div_ps(m, s), _mm256_set1_ps(0.70710677f));
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(t, t)));
    *gauss = e;
    *erf_t = erf8(t, e);
}

__attribute__((target("avx2,fma")))
static void sweep_avx2(size_t first, size_t last, size_t h, const float *gram, const float *pk, float a_, float q_,
                       float *mu, float *rho, float *gram_mu, float *scale, float *gauss, float *erf_t, const float *c) {
    const __m256 a = _mm256_set1_ps(a_), q = _mm256_set1_ps(q_), k2 = _mm256_set1_ps(0.79788456f);
    const __m256 zero = _mm256_setzero_ps(), half = _mm256_set1_ps(0.5f), two = _mm256_set1_ps(2);
    for (size_t block = first; block < last; block++) {
        const size_t base = block * h;
        for (size_t k = 0; k < h; k++) {
            const size_t i = (base + k) * 8;
            const __m256 gkk = _mm256_set1_ps(gram[k * h + k]), p = _mm256_set1_ps(pk[k]);
            const __m256 m = _mm256_loadu_ps(mu + i), r = _mm256_loadu_ps(rho + i);
            const __m256 e0 = _mm256_loadu_ps(gauss + i), f0 = _mm256_loadu_ps(erf_t + i);
            const __m256 s = _mm256_loadu_ps(scale + i);
            const __m256 u = _mm256_fmadd_ps(gkk, m, _mm256_sub_ps(_mm256_loadu_ps(c + i), _mm256_loadu_ps(gram_mu + i)));
            const __m256 kE = _mm256_mul_ps(k2, e0);
            const __m256 ag = _mm256_mul_ps(a, gkk);
            const __m256 pkE = _mm256_mul_ps(p, kE);
            // Gradient and Hessian of φ in (μ, ρ).
            const __m256 fm = _mm256_fnmadd_ps(p, f0, _mm256_mul_ps(a, _mm256_fnmadd_ps(gkk, m, u)));
            const __m256 fr = _mm256_sub_ps(_mm256_sub_ps(q, _mm256_mul_ps(pkE, s)), _mm256_mul_ps(_mm256_mul_ps(ag, s), s));
            const __m256 hmm = _mm256_sub_ps(zero, _mm256_add_ps(ag, _mm256_div_ps(pkE, s)));
            const __m256 hrr = _mm256_sub_ps(zero, _mm256_add_ps(_mm256_mul_ps(pkE, _mm256_add_ps(s, _mm256_div_ps(_mm256_mul_ps(m, m), s))),
                                                                 _mm256_mul_ps(_mm256_mul_ps(two, ag), _mm256_mul_ps(s, s))));
            const __m256 hmr = _mm256_div_ps(_mm256_mul_ps(pkE, m), s);
            const __m256 det = _mm256_fmsub_ps(hmm, hrr, _mm256_mul_ps(hmr, hmr));
            const __m256 valid = _mm256_cmp_ps(det, zero, _CMP_GT_OQ);
            __m256 dm = _mm256_and_ps(valid, _mm256_div_ps(_mm256_fmsub_ps(hmr, fr, _mm256_mul_ps(hrr, fm)), det));
            __m256 dr = _mm256_div_ps(_mm256_fmsub_ps(hmr, fm, _mm256_mul_ps(hmm, fr)), det);
            dr = _mm256_and_ps(valid, _mm256_min_ps(two, _mm256_max_ps(_mm256_set1_ps(-2), dr)));
            // φ relative to its q ρ term, at the current point; a step is taken where it raises φ.
            const __m256 old = _mm256_sub_ps(
                _mm256_fmsub_ps(_mm256_mul_ps(a, u), m, _mm256_mul_ps(p, _mm256_fmadd_ps(s, kE, _mm256_mul_ps(m, f0)))),
                _mm256_mul_ps(_mm256_mul_ps(half, ag), _mm256_fmadd_ps(m, m, _mm256_mul_ps(s, s))));
            __m256 newM = m, newR = r, newS = s, newE = e0, newF = f0;
            __m256 open = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
            for (int tries = 0; tries < 5 && _mm256_movemask_ps(open); tries++) {
                const __m256 cm = _mm256_add_ps(m, dm), cr = _mm256_add_ps(r, dr);
                const __m256 cs = exp8(cr);
                __m256 ce, cf;
                moments8(cm, cs, &ce, &cf);
                const __m256 absNew = _mm256_fmadd_ps(_mm256_mul_ps(cs, k2), ce, _mm256_mul_ps(cm, cf));
                const __m256 value = _mm256_sub_ps(
                    _mm256_fmadd_ps(_mm256_mul_ps(a, u), cm, _mm256_fnmadd_ps(p, absNew, _mm256_mul_ps(q, dr))),
                    _mm256_mul_ps(_mm256_mul_ps(half, ag), _mm256_fmadd_ps(cm, cm, _mm256_mul_ps(cs, cs))));
                const __m256 better = _mm256_and_ps(open, _mm256_cmp_ps(value, old, _CMP_GE_OQ));
                newM = _mm256_blendv_ps(newM, cm, better);
                newR = _mm256_blendv_ps(newR, cr, better);
                newS = _mm256_blendv_ps(newS, cs, better);
                newE = _mm256_blendv_ps(newE, ce, better);
                newF = _mm256_blendv_ps(newF, cf, better);
                open = _mm256_andnot_ps(better, open);
                dm = _mm256_mul_ps(dm, half);
                dr = _mm256_mul_ps(dr, half);
            }
            const __m256 delta = _mm256_sub_ps(newM, m);
            _mm256_storeu_ps(mu + i, newM);
            _mm256_storeu_ps(rho + i, newR);
            _mm256_storeu_ps(scale + i, newS);
            _mm256_storeu_ps(gauss + i, newE);
            _mm256_storeu_ps(erf_t + i, newF);
            if (_mm256_movemask_ps(_mm256_cmp_ps(delta, zero, _CMP_NEQ_UQ))) {
                const float *column = gram + k * h;  // G is symmetric: its row k is column k
                float *target = gram_mu + base * 8;
                for (size_t j = 0; j < h; j++) {
                    _mm256_storeu_ps(target + j * 8, _mm256_fmadd_ps(_mm256_set1_ps(column[j]), delta, _mm256_loadu_ps(target + j * 8)));
                }
            }
        }
    }
}
#endif

int sk_essc_sweep_available(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void sk_essc_sweep_blocks(size_t first, size_t last, size_t h, const float *gram, const float *p, float a, float q,
                          float *mu, float *rho, float *gram_mu, float *scale, float *gauss, float *erf_t, const float *c) {
#if defined(__x86_64__)
    sweep_avx2(first, last, h, gram, p, a, q, mu, rho, gram_mu, scale, gauss, erf_t, c);
#else
    (void)first; (void)last; (void)h; (void)gram; (void)p; (void)a; (void)q;
    (void)mu; (void)rho; (void)gram_mu; (void)scale; (void)gauss; (void)erf_t; (void)c;
#endif
}
