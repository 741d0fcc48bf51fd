#include "CBLASShim.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static const char *replaced_core = NULL;

const char *sk_blas_replaced_core(void) { return replaced_core; }

/// The core this CPU's feature flags support, by OpenBLAS's OPENBLAS_CORETYPE names; NULL for none beyond Prescott.
static const char *core_for_flags(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

/// Runs once when the program loads, after OpenBLAS's own constructor and before any BLAS call: OpenBLAS's
/// gotoblas_dynamic_quit and gotoblas_dynamic_init (exported by its DYNAMIC_ARCH builds, looked up so that any other
/// build is left alone) redo its selection with OPENBLAS_CORETYPE set for the call, which is then unset again.
__attribute__((constructor)) static void choose_blas_core(void) {
    if (getenv("OPENBLAS_CORETYPE") != NULL) return;
    const char *current = openblas_get_corename();
    if (current == NULL || strcmp(current, "Prescott") != 0) return;
    const char *better = core_for_flags();
    void (*quit)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit");
    void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init");
    if (better == NULL || quit == NULL || init == NULL) return;
    if (setenv("OPENBLAS_CORETYPE", better, 1) != 0) return;
    quit();
    init();
    unsetenv("OPENBLAS_CORETYPE");
    replaced_core = "Prescott";
}
