/* bench_load.c - event loader throughput on a generated numeric TSV.
 *
 * Writes ROWS rows "user<TAB>item<TAB>value<TAB>time" (100k users, 50k
 * items, skewed like shop logs) to a file in /tmp, loads it with
 * aisle_dataset_load and prints rows per second and the peak RSS, against
 * the 5 million rows/s target.  Usage: bench_load [rows] (default 3e6). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "aisle.h"

/* CPU seconds (user + system); *sys receives the system part. */
static double cpu_seconds(double *sys) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *sys = (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + *sys;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    long rows = argc > 1 ? atol(argv[1]) : 3000000;
    if (rows <= 0) rows = 3000000;
    char path[64];
    snprintf(path, sizeof path, "/tmp/aisle_bench_load.%ld.tsv", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    uint64_t x = 88172645463325252ull;
    long t = 1600000000;
    for (long i = 0; i < rows; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        unsigned user = (unsigned)(x % 100000);
        unsigned item = (unsigned)((x >> 20) % 50000);
        item = item * item / 50000; /* a popular head */
        t += (long)((x >> 40) % 3);
        fprintf(f, "%u\t%u\t%u\t%ld\n", user, item, (unsigned)(1 + (x >> 50) % 5), t);
    }
    fclose(f);

    aisle_dataset *ds;
    if (aisle_dataset_new(&ds)) return 1;
    double s0, s1, t0 = now(), c0 = cpu_seconds(&s0);
    int rc = aisle_dataset_load(ds, path, NULL);
    double secs = now() - t0, cpu = cpu_seconds(&s1) - c0;
    unlink(path);
    if (rc) {
        fprintf(stderr, "load failed: %s\n", aisle_last_error());
        return 1;
    }
    size_t events, users, items;
    aisle_dataset_event_count(ds, &events);
    aisle_dataset_user_count(ds, &users);
    aisle_dataset_item_count(ds, &items);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* On a shared machine wall time includes waiting for a CPU; the load
     * is single-threaded, so CPU time is the figure to compare. */
    double rate = (double)events / secs, cpu_rate = (double)events / cpu;
    printf("bench_load: %zu rows (%zu users, %zu items): wall %.3f s = %.2f M rows/s, cpu %.3f s (%.3f s system) = "
           "%.2f M rows/s, peak RSS %.1f MiB\n",
           events, users, items, secs, rate / 1e6, cpu, s1 - s0, cpu_rate / 1e6, (double)ru.ru_maxrss / 1024.0);
    printf("bench_load: target 5 M rows/s (cpu): %s (%.0f%% of target)\n", cpu_rate >= 5e6 ? "met" : "NOT met",
           100.0 * cpu_rate / 5e6);
    aisle_dataset_free(ds);
    return 0;
}
