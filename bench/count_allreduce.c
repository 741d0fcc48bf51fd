// Counts a program's MPI_Allreduce calls through the PMPI profiling interface, with the bytes they reduce and the
// seconds spent in them, and prints them per rank at MPI_Finalize (docs/scaling.md, the plan for 100 million
// patches). Build and preload it into every rank:
//   mpicc -O2 -shared -fPIC bench/count_allreduce.c -o /tmp/libcount.so
//   mpirun -np 2 -x LD_PRELOAD=/tmp/libcount.so sk-train sc white.h5 -o m.h5 --latents 64 --epochs 1
// A rank that ends without MPI_Finalize (a failed or interrupted run) prints nothing.
#include <mpi.h>
#include <stdio.h>

static long calls, bytes;
static double seconds;

int MPI_Allreduce(const void *send, void *receive, int count, MPI_Datatype type, MPI_Op op, MPI_Comm communicator) {
    int size;
    MPI_Type_size(type, &size);
    calls++;
    bytes += (long)count * size;
    double start = PMPI_Wtime();
    int status = PMPI_Allreduce(send, receive, count, type, op, communicator);
    seconds += PMPI_Wtime() - start;
    return status;
}

int MPI_Finalize(void) {
    int rank;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "rank %d: %ld MPI_Allreduce calls, %ld bytes, %.3f s inside\n", rank, calls, bytes, seconds);
    return PMPI_Finalize();
}
