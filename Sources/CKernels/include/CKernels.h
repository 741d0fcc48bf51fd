#ifndef SPARSEKIT_CKERNELS_H
#define SPARSEKIT_CKERNELS_H

#include <stddef.h>

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

#endif
