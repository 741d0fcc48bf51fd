// OpenBLAS's CBLAS interface (Debian: /usr/include/<triplet>/cblas.h).
#include <cblas.h>
