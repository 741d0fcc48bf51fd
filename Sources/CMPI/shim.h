// Open MPI's C API (Debian's libopenmpi-dev; include and library paths from pkg-config `ompi-c`).
#include <mpi.h>
