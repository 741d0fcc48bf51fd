// Loopback latency and bandwidth of MPI_Allreduce (sum, in place), the collective distributed training uses
// (docs/scaling.md). Build and run with Open MPI:
//   mpicc -O2 bench/allreduce.c -o /tmp/allreduce && mpirun --oversubscribe -np 2 /tmp/allreduce
// Prints, per message size, the median time per call over `reps` calls (after a warm-up) on rank 0.
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0) printf("ranks %d\n%12s %12s %14s %12s\n", size, "doubles", "bytes", "median µs", "GB/s");
    for (long count = 1; count <= (1L << 21); count *= 4) {
        double *x = malloc(count * sizeof(double));
        for (long i = 0; i < count; i++) x[i] = 1.0 / (i + 1);
        int reps = count < 4096 ? 2000 : count < (1L << 18) ? 200 : 30;
        double *times = malloc(reps * sizeof(double));
        for (int r = 0; r < 20; r++) MPI_Allreduce(MPI_IN_PLACE, x, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        for (int r = 0; r < reps; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, x, (int)count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            times[r] = MPI_Wtime() - start;
        }
        qsort(times, reps, sizeof(double), compare);
        double median = times[reps / 2];
        if (rank == 0) printf("%12ld %12ld %14.2f %12.3f\n", count, count * 8, median * 1e6, count * 8 / median / 1e9);
        free(times);
        free(x);
    }
    MPI_Finalize();
    return 0;
}
