/* c2c: the one-way latency of handing a cache line between two OpenMP
 * threads, in nanoseconds (the median of 9 rounds of 20000 hand-offs).
 *
 * bench/run.py runs it before and after every timing at 2 or more threads.
 * On a VM the two vCPUs may share an L3 (about 45 ns here) or sit on
 * different ones (about 175 ns); in the second placement every layer that
 * reads what the other thread wrote waits on such transfers: dlc's
 * 2-thread times grew 15-50 %, ONNX Runtime's on MobileNetV2 too, on
 * ResNet-50 hardly.  The figure says which placement a 2-thread row was
 * measured in.
 *
 * Build: cc -O2 -fopenmp c2c.c -o c2c; run with OMP_PROC_BIND=true. */
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define HANDOFFS 20000
#define ROUNDS 9

/* Thread 0 writes 2i + 1 after seeing 2i, thread 1 writes 2i + 2 after
 * seeing 2i + 1: 2 * HANDOFFS one-way transfers of the line. */
static double one_round(void)
{
    static _Alignas(64) atomic_long flag;
    double t0 = 0.0, t1 = 0.0;
    int team = 0;
    atomic_store(&flag, 0);
#pragma omp parallel num_threads(2)
    {
        long me = omp_get_thread_num(), i;
        /* a team of one would wait forever for the other thread */
        long n = omp_get_num_threads() == 2 ? HANDOFFS : 0;
#pragma omp barrier
        if (me == 0) {
            team = omp_get_num_threads();
            t0 = omp_get_wtime();
        }
        for (i = 0; i < n; i++) {
            long want = 2 * i + me;
            while (atomic_load_explicit(&flag, memory_order_acquire) != want)
                ;
            atomic_store_explicit(&flag, want + 1, memory_order_release);
        }
        if (me == 0)
            t1 = omp_get_wtime();
    }
    return team == 2 ? (t1 - t0) / (2.0 * HANDOFFS) * 1e9 : -1.0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    double ns[ROUNDS];
    int r;
    if (omp_get_max_threads() < 2 || omp_get_num_procs() < 2) {
        fprintf(stderr, "c2c: needs 2 threads on 2 CPUs\n");
        return 1;
    }
    for (r = 0; r < ROUNDS; r++)
        if ((ns[r] = one_round()) < 0.0) {
            fprintf(stderr, "c2c: the OpenMP team did not get 2 threads\n");
            return 1;
        }
    qsort(ns, ROUNDS, sizeof ns[0], by_value);
    printf("%.0f\n", ns[ROUNDS / 2]);
    return 0;
}
