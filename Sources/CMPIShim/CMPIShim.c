#include "CMPIShim.h"

MPI_Comm sk_mpi_comm_world(void) { return MPI_COMM_WORLD; }
MPI_Datatype sk_mpi_double(void) { return MPI_DOUBLE; }
MPI_Datatype sk_mpi_float(void) { return MPI_FLOAT; }
MPI_Datatype sk_mpi_int(void) { return MPI_INT; }
MPI_Datatype sk_mpi_int64(void) { return MPI_INT64_T; }
MPI_Datatype sk_mpi_byte(void) { return MPI_BYTE; }
MPI_Op sk_mpi_sum(void) { return MPI_SUM; }
MPI_Op sk_mpi_max(void) { return MPI_MAX; }
void *sk_mpi_in_place(void) { return MPI_IN_PLACE; }
MPI_Request sk_mpi_request_null(void) { return MPI_REQUEST_NULL; }
MPI_Status *sk_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
