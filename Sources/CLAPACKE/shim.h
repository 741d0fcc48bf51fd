// LAPACKE, the C interface to LAPACK (ssyevd, dsyevd, spotrf, ...).
#include <lapacke.h>
