#ifndef SPARSEKIT_CKERNELS_H
#define SPARSEKIT_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Adam's update of n parameters in place (Sources/Models/Networks/Adam.swift, the step-size form):
///   m ← b1·m + (1−b1)·g,  v ← b2·v + (1−b2)·g²,  θ ← θ − alpha·m / (√v + eps).
/// Each lane does the same IEEE operations in the same order whatever the instruction set, so the result is the
/// same bit for bit on every machine; on x86-64 CPUs with AVX (checked at run time) eight lanes go at once.
/// `g` may be NULL for a zero gradient.
void sk_adam_update(float *theta, const float *g, float *m, float *v, size_t n, float b1, float b2, float alpha,
                    float eps);

/// The same update one lane at a time, on every CPU (what sk_adam_update does without AVX; for tests).
void sk_adam_update_portable(float *theta, const float *g, float *m, float *v, size_t n, float b1, float b2,
                             float alpha, float eps);

/// Whether this CPU runs sk_essc_sweep_blocks (x86-64 with AVX2 and FMA, checked at run time).
int sk_essc_sweep_available(void);

/// One sweep of ES-SC's coordinate-ascent E-step (Sources/Models/SparseCoding/CoordinateAscentEStep.swift, which
/// documents the update and has the portable path) over the blocks first ..< last of eight points each. Every
/// per-point array holds, per block, h groups of eight floats (latent k of the block's eight points at
/// [(block·h + k)·8 ...]): mu, rho = log s, gram_mu = G μ, scale = s, gauss = exp(−t²) and erf_t = erf(t) at the
/// current (μ, ρ) with t = μ/(√2 s), and c = Wᵀx. gram is G = WᵀW (h × h), p[k] = β_prior/λ̂_k, a = β_lik/σ̂², q = β_post.
/// Only call when sk_essc_sweep_available() returns 1.
void sk_essc_sweep_blocks(size_t first, size_t last, size_t h, const float *gram, const float *p, float a, float q,
                          float *mu, float *rho, float *gram_mu, float *scale, float *gauss, float *erf_t, const float *c);

/// v ← v − delta·row over n doubles (the tempered Gibbs sweep's update of v = Wᵀx − G z after one coordinate moves);
/// v and row must not overlap. Each lane multiplies, then subtracts (no fused multiply-add), so the result is the same
/// bit for bit on every machine; on x86-64 Linux the loop is compiled for AVX-512F, AVX and the baseline, and the
/// clone for this CPU is chosen when the library loads.
void sk_subtract_scaled(double *v, const double *row, double delta, size_t n);

/// target ← target + x·source over n floats (a sparse layer's products: one stored entry times one weight row); the
/// two must not overlap. Each lane multiplies, then adds (no fused multiply-add), so the result is the same bit for bit
/// on every machine; on x86-64 Linux the loop is compiled for AVX-512F, AVX and the baseline, and the clone for this
/// CPU is chosen when the library loads.
void sk_add_scaled(float *target, const float *source, float x, size_t n);

/// An ES-SC model and AIS schedule for sk_ais_coordinate_chains (Sources/Models/SparseCoding/AnnealedImportanceSampling.swift).
typedef struct {
    size_t latents;                /// H
    const double *gram;            /// G = WᵀW, H × H row-major
    const double *inverse_scales;  /// 1/λ_h
    const double *scales;          /// λ_h (the prior draws that start forward chains)
    double sigma2;                 /// σ²
    double log_noise_normalizer;   /// −(D/2) log(2πσ²)
    const double *schedule;        /// β_0 = 0, …, β_T = 1
    size_t temperatures;           /// T
    size_t refresh_interval;       /// v = c − G z is recomputed after the sweeps at t ≡ 0 (mod this)
} sk_ais_chains_model;

/// Whether this CPU runs sk_ais_coordinate_chains (x86-64 Linux with AVX-512F and AVX-512DQ, checked at run time).
int sk_ais_chains_available(void);

/// Eight AIS chains of one point with the coordinate transition, one per AVX-512 lane, through the whole schedule:
/// forward from prior draws when exact_latent is NULL, else in reverse from exact_latent (H values). c = Wᵀx (H),
/// squared_norm = ‖x‖². state holds the chains' xoshiro256** generators (word w of lane k at [w·8 + k]) and is
/// advanced; z and v are H × 8 workspaces; log_weights receives the eight log-weights. Lane k follows the Swift chain
/// with the same generator operation for operation; only exp, log, cos and erfc (glibc's libmvec here) may differ
/// in their last bits. Only call when sk_ais_chains_available() returns 1.
void sk_ais_coordinate_chains(const sk_ais_chains_model *model, const double *c, double squared_norm,
                              const double *exact_latent, uint64_t *state, double *z, double *v, double *log_weights);

#endif
