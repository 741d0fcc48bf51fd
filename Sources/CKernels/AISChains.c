#include "CKernels.h"

// Eight AIS chains of one point at once, one chain per AVX-512 lane: the coordinate transition of
// Sources/Models/SparseCoding/AnnealedImportanceSampling.swift with the draws of
// Sources/Models/Samplers/TemperedLaplaceGibbs.swift and Sources/Models/Numerics/GaussianTail.swift, written lane for
// lane as the Swift code writes them (the same operations in the same order, each lane consuming its own xoshiro256**
// stream exactly as SeededGenerator does), so a lane gives the Swift chain's draws up to the last bits of exp, log,
// cos and erfc, which come from glibc's vector math library (libmvec) here and from libm there.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#include <math.h>

#define AVX512 __attribute__((target("avx512f,avx512dq")))

// libmvec's AVX-512 variants (vector ABI "e", eight doubles in a zmm register), glibc ≥ 2.35 for erfc.
AVX512 __m512d _ZGVeN8v_exp(__m512d);
AVX512 __m512d _ZGVeN8v_log(__m512d);
AVX512 __m512d _ZGVeN8v_cos(__m512d);
AVX512 __m512d _ZGVeN8v_erfc(__m512d);
#define SET1 _mm512_set1_pd

int sk_ais_chains_available(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

/// Eight xoshiro256** generators, word w of lane k in lane k of s[w].
typedef struct { __m512i s[4]; } lanes_rng;

/// The next output of every lane (SeededGenerator.next()); only the lanes in `active` advance.
static inline AVX512 __m512i next_bits(lanes_rng *g, __mmask8 active) {
    __m512i s0 = g->s[0], s1 = g->s[1];
    __m512i times5 = _mm512_add_epi64(_mm512_slli_epi64(s1, 2), s1);
    __m512i rotated = _mm512_rol_epi64(times5, 7);
    __m512i result = _mm512_add_epi64(_mm512_slli_epi64(rotated, 3), rotated);  // · 9
    __m512i t = _mm512_slli_epi64(s1, 17);
    __m512i s2 = _mm512_xor_si512(g->s[2], s0);
    __m512i s3 = _mm512_xor_si512(g->s[3], s1);
    s1 = _mm512_xor_si512(s1, s2);
    s0 = _mm512_xor_si512(s0, s3);
    s2 = _mm512_xor_si512(s2, t);
    s3 = _mm512_rol_epi64(s3, 45);
    g->s[0] = _mm512_mask_mov_epi64(g->s[0], active, s0);
    g->s[1] = _mm512_mask_mov_epi64(g->s[1], active, s1);
    g->s[2] = _mm512_mask_mov_epi64(g->s[2], active, s2);
    g->s[3] = _mm512_mask_mov_epi64(g->s[3], active, s3);
    return result;
}

/// uniform(): [0, 1) from the top 53 bits.
static inline AVX512 __m512d uniform(lanes_rng *g, __mmask8 active) {
    __m512d top = _mm512_cvtepu64_pd(_mm512_srli_epi64(next_bits(g, active), 11));
    return _mm512_mul_pd(top, SET1(0x1.0p-53));
}

/// uniformOpen(): (0, 1), never zero.
static inline AVX512 __m512d uniform_open(lanes_rng *g, __mmask8 active) {
    __m512d top = _mm512_cvtepu64_pd(_mm512_srli_epi64(next_bits(g, active), 11));
    return _mm512_mul_pd(_mm512_add_pd(top, SET1(0.5)), SET1(0x1.0p-53));
}

static inline AVX512 __m512d negate(__m512d x) { return _mm512_xor_pd(x, SET1(-0.0)); }
static inline AVX512 __mmask8 less(__m512d a, __m512d b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }

/// laplace(scale:) per lane.
static inline AVX512 __m512d laplace(lanes_rng *g, __m512d scale) {
    __m512d u = _mm512_sub_pd(uniform_open(g, 0xFF), SET1(0.5));
    __mmask8 below = less(u, _mm512_setzero_pd());
    __m512d twice = _mm512_mul_pd(SET1(2), u);
    __m512d logs = _ZGVeN8v_log(_mm512_mask_blend_pd(below, _mm512_sub_pd(SET1(1), twice), _mm512_add_pd(SET1(1), twice)));
    return _mm512_mask_blend_pd(below, _mm512_mul_pd(negate(scale), logs), _mm512_mul_pd(scale, logs));
}

/// GaussianTail.millsRatio: √(π/2) erfcx(t/√2) for t ≥ 0 (its continued fraction from t/√2 = 25 on), and
/// √(π/2) erfc(t/√2) exp(t²/2) for t < 0. Lanes beyond t ≈ −37.6 overflow; millsShare never uses them.
static AVX512 __m512d mills_ratio(__m512d t) {
    const __m512d root = SET1(sqrt(M_PI / 2));
    __m512d y = _mm512_div_pd(t, SET1(sqrt(2.0)));
    __mmask8 nonnegative = _mm512_cmp_pd_mask(t, _mm512_setzero_pd(), _CMP_GE_OQ);
    __m512d tail = _ZGVeN8v_erfc(y);
    __m512d exponent = _mm512_mask_blend_pd(nonnegative, _mm512_div_pd(_mm512_mul_pd(t, t), SET1(2)), _mm512_mul_pd(y, y));
    __m512d growth = _ZGVeN8v_exp(exponent);
    __m512d ratio = _mm512_mask_blend_pd(nonnegative, _mm512_mul_pd(_mm512_mul_pd(root, tail), growth),
                                         _mm512_mul_pd(root, _mm512_mul_pd(growth, tail)));
    __mmask8 far = _mm512_cmp_pd_mask(y, SET1(25), _CMP_GE_OQ);
    if (far) {
        __m512d fraction = y;
        for (int k = 12; k >= 1; k--) fraction = _mm512_add_pd(y, _mm512_div_pd(SET1((double)k / 2), fraction));
        __m512d erfcx = _mm512_div_pd(SET1(1), _mm512_mul_pd(SET1(sqrt(M_PI)), fraction));
        ratio = _mm512_mask_blend_pd(far, ratio, _mm512_mul_pd(root, erfcx));
    }
    return ratio;
}

/// GaussianTail.sampleAbove per lane: t ~ N(0, 1) given t > α, by plain normal draws for α < 0.5 and Robert's
/// translated exponential beyond; each try takes two numbers from the lane's stream, and a lane stops drawing once
/// it accepts.
static AVX512 __m512d sample_above(__m512d alpha, lanes_rng *g) {
    __mmask8 plain = less(alpha, SET1(0.5)), pending = 0xFF;
    __m512d rate = _mm512_div_pd(_mm512_add_pd(alpha, _mm512_sqrt_pd(_mm512_add_pd(_mm512_mul_pd(alpha, alpha), SET1(4)))), SET1(2));
    __m512d result = _mm512_setzero_pd();
    while (pending) {
        __m512d first = uniform_open(g, pending), second = uniform(g, pending);
        __m512d logs = _ZGVeN8v_log(first), candidate = _mm512_setzero_pd();
        __mmask8 accepted = 0;
        if (pending & plain) {  // normal(): √(−2 log u₁) cos(2π u₂)
            __m512d normal = _mm512_mul_pd(_mm512_sqrt_pd(_mm512_mul_pd(SET1(-2), logs)),
                                           _ZGVeN8v_cos(_mm512_mul_pd(SET1(2 * M_PI), second)));
            candidate = normal;
            accepted |= plain & _mm512_cmp_pd_mask(normal, alpha, _CMP_GT_OQ);
        }
        if (pending & ~plain) {  // α − log(u₁)/rate, kept if u₂ < exp(−(t − rate)²/2)
            __m512d shifted = _mm512_sub_pd(alpha, _mm512_div_pd(logs, rate));
            __m512d excess = _mm512_sub_pd(shifted, rate);
            __m512d bound = _ZGVeN8v_exp(_mm512_div_pd(_mm512_mul_pd(negate(excess), excess), SET1(2)));
            candidate = _mm512_mask_blend_pd(plain, shifted, candidate);
            accepted |= ~plain & less(second, bound);
        }
        accepted &= pending;
        result = _mm512_mask_blend_pd(accepted, result, candidate);
        pending &= ~accepted;
    }
    return result;
}

/// A draw of coordinate c in every lane from its conditional at inverse temperature β (scale = β/σ²), given its
/// current value and v_c (TemperedLaplaceGibbs.drawCoordinate): a two-piece truncated normal, or the prior for an
/// all-zero column.
static inline AVX512 __m512d draw_coordinate(const sk_ais_chains_model *m, double scale, size_t c, __m512d old,
                                             __m512d vc, lanes_rng *g) {
    const double gcc = m->gram[c * m->latents + c], a = scale * gcc, r = m->inverse_scales[c];
    if (!(a > 0)) return laplace(g, SET1(1 / r));
    const double s = 1 / sqrt(a);
    __m512d b = _mm512_mul_pd(SET1(scale), _mm512_add_pd(vc, _mm512_mul_pd(SET1(gcc), old)));
    __m512d upper = _mm512_mul_pd(_mm512_sub_pd(b, SET1(r)), SET1(s));          // u₊
    __m512d lower = _mm512_mul_pd(negate(_mm512_add_pd(b, SET1(r))), SET1(s));  // u₋
    __m512d alphaPlus = negate(upper), alphaMinus = negate(lower);
    __m512d u = uniform(g, 0xFF);
    __m512d ratioPlus = mills_ratio(alphaPlus);
    __m512d share = _mm512_div_pd(ratioPlus, _mm512_add_pd(ratioPlus, mills_ratio(alphaMinus)));
    share = _mm512_mask_blend_pd(less(alphaMinus, SET1(-37)), share, _mm512_setzero_pd());
    share = _mm512_mask_blend_pd(less(alphaPlus, SET1(-37)), share, SET1(1));
    __mmask8 positive = less(u, share);
    __m512d t = sample_above(_mm512_mask_blend_pd(positive, alphaMinus, alphaPlus), g);
    return _mm512_mask_blend_pd(positive, _mm512_mul_pd(SET1(-s), _mm512_add_pd(lower, t)),
                                _mm512_mul_pd(SET1(s), _mm512_add_pd(upper, t)));
}

/// Coordinates drawn between two passes of the update of v over all H latents.
enum { SWEEP_BLOCK = 16 };

/// v_j −= δ_c G_jc for c = from … end − 1 in order, for each j in [first_j, last_j); δ_c is deltas[c mod the block
/// size] (blocks start at multiples of it). Four
/// rows at a time, so that four independent chains of subtractions hide each other's latency.
static inline AVX512 void apply_block(const double *gram, size_t h, size_t first_j, size_t last_j, size_t from,
                                      size_t end, const __m512d *deltas, double *v) {
    size_t j = first_j;
    for (; j + 4 <= last_j; j += 4) {
        const double *r0 = gram + j * h, *r1 = r0 + h, *r2 = r1 + h, *r3 = r2 + h;
        __m512d v0 = _mm512_loadu_pd(v + j * 8), v1 = _mm512_loadu_pd(v + j * 8 + 8);
        __m512d v2 = _mm512_loadu_pd(v + j * 8 + 16), v3 = _mm512_loadu_pd(v + j * 8 + 24);
        for (size_t c = from; c < end; c++) {
            __m512d d = deltas[c % SWEEP_BLOCK];
            v0 = _mm512_sub_pd(v0, _mm512_mul_pd(d, SET1(r0[c])));
            v1 = _mm512_sub_pd(v1, _mm512_mul_pd(d, SET1(r1[c])));
            v2 = _mm512_sub_pd(v2, _mm512_mul_pd(d, SET1(r2[c])));
            v3 = _mm512_sub_pd(v3, _mm512_mul_pd(d, SET1(r3[c])));
        }
        _mm512_storeu_pd(v + j * 8, v0);
        _mm512_storeu_pd(v + j * 8 + 8, v1);
        _mm512_storeu_pd(v + j * 8 + 16, v2);
        _mm512_storeu_pd(v + j * 8 + 24, v3);
    }
    for (; j < last_j; j++) {
        const double *row = gram + j * h;
        __m512d vj = _mm512_loadu_pd(v + j * 8);
        for (size_t c = from; c < end; c++) vj = _mm512_sub_pd(vj, _mm512_mul_pd(deltas[c % SWEEP_BLOCK], SET1(row[c])));
        _mm512_storeu_pd(v + j * 8, vj);
    }
}

/// One systematic sweep h = 0 … H−1 of the eight chains at inverse temperature β (TemperedLaplaceGibbs.sweep): z and
/// v = c − G z, lane-minor (latent j of lane k at [j·8 + k]), in place.
///
/// The update v −= δ_c G_c· after each draw is deferred block by block: within a block of coordinates only the v_j
/// the block's later draws read are brought up to date; after it, every v_j takes the block's remaining updates in
/// one pass (G = Gᵀ exactly, so G_cj is read from row j). Each v_j still takes δ_c G_cj for c = 0, 1, … in order, one
/// multiply and one subtract each (as sk_subtract_scaled), so its bits are those of the update after every draw,
/// while v goes through memory once per block instead of once per coordinate.
static AVX512 void sweep(const sk_ais_chains_model *m, double beta, double *z, double *v, lanes_rng *g) {
    const size_t h = m->latents;
    const double scale = beta / m->sigma2;
    __m512d deltas[SWEEP_BLOCK];
    for (size_t first = 0; first < h; first += SWEEP_BLOCK) {
        const size_t end = first + SWEEP_BLOCK < h ? first + SWEEP_BLOCK : h;
        for (size_t c = first; c < end; c++) {
            __m512d old = _mm512_loadu_pd(z + c * 8);
            __m512d drawn = draw_coordinate(m, scale, c, old, _mm512_loadu_pd(v + c * 8), g);
            __m512d delta = deltas[c - first] = _mm512_sub_pd(drawn, old);
            _mm512_storeu_pd(z + c * 8, drawn);
            const double *row = m->gram + c * h;
            for (size_t j = c + 1; j < end; j++) {  // the block's later coordinates now
                __m512d vj = _mm512_loadu_pd(v + j * 8);
                _mm512_storeu_pd(v + j * 8, _mm512_sub_pd(vj, _mm512_mul_pd(delta, SET1(row[j]))));
            }
        }
        // Every v_j: the block's updates it has not had, in order (for the block's own coordinates, from c = j on).
        apply_block(m->gram, h, 0, first, first, end, deltas, v);
        for (size_t j = first; j < end; j++) apply_block(m->gram, h, j, j + 1, j, end, deltas, v);
        apply_block(m->gram, h, end, h, first, end, deltas, v);
    }
}

/// v = c − G z (TemperedLaplaceGibbs.residualCorrelation), each lane summing in the same order.
static AVX512 void residual(const sk_ais_chains_model *m, const double *c, const double *z, double *v) {
    const size_t h = m->latents;
    for (size_t r = 0; r < h; r++) {
        const double *row = m->gram + r * h;
        __m512d dot = _mm512_setzero_pd();
        for (size_t j = 0; j < h; j++) dot = _mm512_add_pd(dot, _mm512_mul_pd(SET1(row[j]), _mm512_loadu_pd(z + j * 8)));
        _mm512_storeu_pd(v + r * 8, _mm512_sub_pd(SET1(c[r]), dot));
    }
}

/// log p(x | z) = −(D/2) log(2πσ²) − max(0, ‖x‖² − Σ_j (c_j + v_j) z_j)/(2σ²) (TemperedLaplaceGibbs.logLikelihood).
static AVX512 __m512d log_likelihood(const sk_ais_chains_model *m, const double *c, double squared_norm,
                                     const double *z, const double *v) {
    __m512d dot = _mm512_setzero_pd();
    for (size_t j = 0; j < m->latents; j++)
        dot = _mm512_add_pd(dot, _mm512_mul_pd(_mm512_add_pd(SET1(c[j]), _mm512_loadu_pd(v + j * 8)), _mm512_loadu_pd(z + j * 8)));
    __m512d residual = _mm512_max_pd(_mm512_setzero_pd(), _mm512_sub_pd(SET1(squared_norm), dot));
    return _mm512_sub_pd(SET1(m->log_noise_normalizer), _mm512_div_pd(residual, SET1(2 * m->sigma2)));
}

AVX512 void sk_ais_coordinate_chains(const sk_ais_chains_model *m, const double *c, double squared_norm,
                                     const double *exact_latent, uint64_t *state, double *z, double *v,
                                     double *log_weights) {
    const size_t h = m->latents, temperatures = m->temperatures, refresh = m->refresh_interval;
    const double *beta = m->schedule;
    lanes_rng g;
    for (int w = 0; w < 4; w++) g.s[w] = _mm512_loadu_si512(state + w * 8);
    for (size_t j = 0; j < h; j++)
        _mm512_storeu_pd(z + j * 8, exact_latent ? SET1(exact_latent[j]) : laplace(&g, SET1(m->scales[j])));
    residual(m, c, z, v);
    __m512d weight = _mm512_setzero_pd();
    if (!exact_latent) {  // forward: Σ_t (β_t − β_{t−1}) log p(x | z_{t−1}), a sweep at β_t between
        for (size_t t = 1; t <= temperatures; t++) {
            weight = _mm512_add_pd(weight, _mm512_mul_pd(SET1(beta[t] - beta[t - 1]), log_likelihood(m, c, squared_norm, z, v)));
            if (t < temperatures) {
                sweep(m, beta[t], z, v, &g);
                if (t % refresh == 0) residual(m, c, z, v);
            }
        }
    } else {  // reverse from the exact latent: Σ_t (β_{t−1} − β_t) log p(x | z_t), a sweep at β_{t−1} between
        for (size_t t = temperatures; t >= 1; t--) {
            weight = _mm512_add_pd(weight, _mm512_mul_pd(SET1(beta[t - 1] - beta[t]), log_likelihood(m, c, squared_norm, z, v)));
            if (t > 1) {
                sweep(m, beta[t - 1], z, v, &g);
                if ((t - 1) % refresh == 0) residual(m, c, z, v);
            }
        }
    }
    _mm512_storeu_pd(log_weights, weight);
    for (int w = 0; w < 4; w++) _mm512_storeu_si512(state + w * 8, g.s[w]);
}

#else

int sk_ais_chains_available(void) { return 0; }

void sk_ais_coordinate_chains(const sk_ais_chains_model *m, const double *c, double squared_norm,
                              const double *exact_latent, uint64_t *state, double *z, double *v,
                              double *log_weights) {
    __builtin_trap();  // only called when sk_ais_chains_available() returns 1
}

#endif
