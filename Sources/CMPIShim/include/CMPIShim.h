#ifndef SPARSEKIT_CMPISHIM_H
#define SPARSEKIT_CMPISHIM_H
// mpi.h spells its predefined handles as macros over the addresses of library globals (MPI_COMM_WORLD is
// `(MPI_Comm) &ompi_mpi_comm_world`), which Swift cannot import, so each one used is exposed here as a function.
// Nothing else lives in this file; the MPI calls themselves are made from Swift (the `Distributed` module).
#include <mpi.h>

MPI_Comm sk_mpi_comm_world(void);
MPI_Datatype sk_mpi_double(void);
MPI_Datatype sk_mpi_float(void);
MPI_Datatype sk_mpi_int(void);
MPI_Datatype sk_mpi_int64(void);
MPI_Datatype sk_mpi_byte(void);
MPI_Op sk_mpi_sum(void);
MPI_Op sk_mpi_max(void);
void *sk_mpi_in_place(void);
MPI_Request sk_mpi_request_null(void);
MPI_Status *sk_mpi_status_ignore(void);

#endif
