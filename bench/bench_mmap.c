/* bench_mmap.c - opening a large model mapped (load option mmap=true)
 * against an ordinary load, and the memory of two processes serving the
 * same file both ways (docs/BENCHMARKS.md, "Mapped models").
 *
 * Builds a bpr model of USERS x DIM and ITEMS x DIM factors (one epoch on
 * one event per user: the numbers do not matter, the bytes do; default
 * 1.6M x 128 and 400k x 128, 1.02 GB of fp32 factors), saves it twice
 * with compression=0 store_int8=true, once also with store_mappable=true
 * (the key tables and the history laid out to be served in place), then
 * times aisle_model_load -- ordinary, mmap (mmap_verify=open), mmap with
 * mmap_verify=none, the mapped ones on both files -- each with the file's
 * pages in the page cache (warm) and evicted from it first (posix_fadvise
 * DONTNEED on this file only: cold), median of 3, plus the first recommend
 * after opening (where a mapped model pays its page faults).  With
 * BENCH_MMAP_QUICK=1 in the environment only the mapped opens of the
 * store_mappable file run (seconds instead of minutes; for a rerun of the
 * open figures).  Then, both ways, two forked processes open the file, serve
 * 2000 users (the int8 scan reads every item row) and, while both are
 * alive, report their Rss, Pss (shared pages split between the processes
 * that map them) and Shared_Clean from /proc/self/smaps_rollup.
 *
 * fp16 row: the model saved a third time with quantize=fp16 (factor
 * tensors served as stored, rows widened as read; int8 copy built from the
 * fp16 values) beside the fp32 store_mappable file: file bytes, mapped
 * open (both verify modes, warm), and in one forked process per file the
 * p50/p99 of top-10 over 2000 users (scan=auto: the int8 scan with
 * re-scoring; scan=fp32: every row read), a batch of those 2000 users
 * (aisle_recommend_batch, each scan) and the Rss after serving.  Runs in
 * BENCH_MMAP_QUICK mode too.
 *
 * Updates to a mapped model (docs/SERVING.md, "A write to a mapped fp16
 * model"): in one forked process per file, the first aisle_update_user
 * (5 events) after opening, then 1000 more on other users (p50, p99, CPU a
 * call), two added users (the first's wall and CPU: a copy of the key
 * dictionary would be paid there), the Rss before, after the updates and
 * after the adds, and the top-10 p50 after the updates.  Runs in BENCH_MMAP_QUICK mode too.
 *
 * Usage: bench_mmap [users items dim [path]]: path.tables is the second
 * file.  Public API only. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aisle.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU seconds of this process (user + system): on a shared machine the
 * wall time of a step depends on the other jobs, its CPU time much less. */
static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_mmap: %s: %s\n", what, aisle_last_error());
    exit(1);
}

static aisle_config *config(const char *text) {
    aisle_config *c;
    if (aisle_config_new(&c) || aisle_config_parse(c, text)) die(text);
    return c;
}

static void evict(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("open for fadvise");
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median open time (wall and CPU) and median first-recommend time of
 * `options`. */
static void time_open(const char *path, const char *options, int cold, double *open_s, double *open_cpu,
                      double *first_s) {
    double o[3], c[3], f[3];
    aisle_config *cfg = config(options);
    for (int r = 0; r < 3; r++) {
        if (cold) evict(path);
        aisle_model *m;
        double t0 = now(), c0 = cpu();
        if (aisle_model_load(&m, path, cfg)) die(options);
        double t1 = now();
        c[r] = cpu() - c0;
        const char *items[10];
        float scores[10];
        size_t n;
        if (aisle_recommend(m, "17", 10, NULL, items, scores, &n)) die("recommend");
        o[r] = t1 - t0, f[r] = now() - t1;
        aisle_model_free(m);
    }
    aisle_config_free(cfg);
    qsort(o, 3, sizeof *o, cmp_double);
    qsort(f, 3, sizeof *f, cmp_double);
    qsort(c, 3, sizeof *c, cmp_double);
    *open_s = o[1], *open_cpu = c[1], *first_s = f[1];
}

/* kB value of one field of /proc/self/smaps_rollup (-1: not available). */
static long rollup(const char *field) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') v = strtol(line + fl + 1, NULL, 10);
    fclose(f);
    return v;
}

static double pct(double *v, size_t n, double p) {
    qsort(v, n, sizeof *v, cmp_double);
    return v[(size_t)(p * (double)(n - 1))];
}

/* Forks: the parent waits for the child and gets NULL; the child gets
 * `path` opened mapped (mmap_verify=none) and ends with _exit. */
static aisle_model *child_open(const char *path, const char *label) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid) {
        waitpid(pid, NULL, 0);
        return NULL;
    }
    aisle_config *cfg = config("mmap=true mmap_verify=none");
    aisle_model *m;
    if (aisle_model_load(&m, path, cfg)) die(label);
    return m;
}

/* aisle_recommend_batch of 2000 users (the tiled sgemm for scan=fp32):
 * wall and CPU time of the call. */
static void batch_line(const aisle_model *m, const aisle_rec_options *o, const char *label, const char *scan,
                       size_t users) {
    static char names[2000][32];
    static const char *keys[2000], *out[2000 * 10];
    static float scores[2000 * 10];
    static size_t counts[2000];
    for (size_t u = 0; u < 2000; u++) snprintf(names[u], sizeof names[u], "%zu", (u * 7919) % users), keys[u] = names[u];
    double t0 = now(), c0 = cpu();
    if (aisle_recommend_batch(m, keys, 2000, 10, o, out, scores, counts)) die("recommend_batch");
    printf("  %-22s scan=%-4s batch of 2000: %8.1f ms wall, %8.1f ms CPU\n", label, scan, (now() - t0) * 1e3,
           (cpu() - c0) * 1e3);
}

/* One forked process maps `path`, serves 200 users to warm up, then times
 * 2000 top-10 calls per scan; prints the percentiles, CPU time and Rss. */
static void latency_row(const char *path, const char *label, size_t users) {
    aisle_model *m = child_open(path, label);
    if (!m) return;
    const char *items[10];
    float scores[10];
    size_t n;
    char key[32];
    static double lat[2000];
    const char *scans[2] = {"auto", "fp32"};
    for (int v = 0; v < 2; v++) {
        aisle_rec_options *o;
        if (aisle_rec_options_new(&o) || aisle_rec_options_set(o, "scan", scans[v])) die("options");
        for (size_t u = 0; u < 200; u++) {
            snprintf(key, sizeof key, "%zu", (u * 104729) % users);
            if (aisle_recommend(m, key, 10, o, items, scores, &n)) die("recommend");
        }
        double c0 = cpu();
        for (size_t u = 0; u < 2000; u++) {
            snprintf(key, sizeof key, "%zu", (u * 7919) % users);
            double t0 = now();
            if (aisle_recommend(m, key, 10, o, items, scores, &n)) die("recommend");
            lat[u] = now() - t0;
        }
        double c = cpu() - c0;
        printf("  %-22s scan=%-4s top-10: p50 %7.3f ms, p99 %7.3f ms wall; %7.3f ms CPU a call; Rss %6.0f MB\n",
               label, scans[v], pct(lat, 2000, 0.5) * 1e3, pct(lat, 2000, 0.99) * 1e3, c / 2000 * 1e3,
               rollup("Rss") / 1024.0);
        batch_line(m, o, label, scans[v], users);
        aisle_rec_options_free(o);
    }
    fflush(stdout);
    _exit(0);
}

/* One forked process maps `path` and updates users: the first update
 * (where a copy of the side would be paid), then 1000 more, one new user;
 * the Rss before and after and a top-10 p50 after. */
static void update_row(const char *path, const char *label, size_t users, size_t items) {
    aisle_model *m = child_open(path, label);
    if (!m) return;
    const char *out[10];
    float scores[10];
    size_t n;
    char key[32], ik[5][32];
    const char *ev[5] = {ik[0], ik[1], ik[2], ik[3], ik[4]};
    if (aisle_recommend(m, "1", 10, NULL, out, scores, &n)) die("recommend"); /* a served model */
    double rss0 = rollup("Rss") / 1024.0;
    static double lat[1001];
    double c0 = cpu(), first_cpu = 0;
    for (size_t u = 0; u <= 1000; u++) {
        snprintf(key, sizeof key, "%zu", (u * 104729 + 17) % users);
        for (int e = 0; e < 5; e++) snprintf(ik[e], sizeof ik[e], "%zu", (u * 31 + (size_t)e * 7919) % items);
        double t0 = now();
        if (aisle_update_user(m, key, ev, NULL, 5)) die("update_user");
        lat[u] = now() - t0;
        if (u == 0) first_cpu = cpu() - c0;
    }
    double c = cpu() - c0 - first_cpu, first = lat[0];
    aisle_server *srv;
    const aisle_model *cur;
    if (aisle_server_new(&srv, m)) die("server");
    double rss_upd = rollup("Rss") / 1024.0, ca = cpu(), t0 = now();
    if (aisle_server_add_user(srv, "bench-newcomer", ev, NULL, 5)) die("add_user");
    double t_add = now() - t0, c_add = cpu() - ca;
    t0 = now();
    if (aisle_server_add_user(srv, "bench-newcomer-2", ev, NULL, 5)) die("add_user");
    double t_add2 = now() - t0;
    double rss1 = rollup("Rss") / 1024.0;
    static double rec[2000];
    if (aisle_server_acquire(srv, &cur)) die("acquire");
    for (size_t u = 0; u < 2000; u++) {
        snprintf(key, sizeof key, "%zu", (u * 7919) % users);
        t0 = now();
        if (aisle_recommend(cur, key, 10, NULL, out, scores, &n)) die("recommend");
        rec[u] = now() - t0;
    }
    printf("  %-22s update_user: first %8.3f ms wall, %8.3f ms CPU; next 1000 p50 %6.3f ms, p99 %6.3f ms wall, "
           "%6.3f ms CPU a call; first add_user %7.3f ms wall, %7.3f ms CPU, second %6.3f ms; Rss %6.0f -> %6.0f "
           "(updates) -> %6.0f MB (2 adds); top-10 p50 after %6.3f ms\n",
           label, first * 1e3, first_cpu * 1e3, pct(lat + 1, 1000, 0.5) * 1e3, pct(lat + 1, 1000, 0.99) * 1e3,
           c / 1000 * 1e3, t_add * 1e3, c_add * 1e3, t_add2 * 1e3, rss0, rss_upd, rss1, pct(rec, 2000, 0.5) * 1e3);
    fflush(stdout);
    _exit(0);
}

/* Two processes serving the same file: open, 2000 users, then (both
 * alive) their memory.  Prints one line per process. */
static void two_processes(const char *path, const char *options, const char *label, size_t users) {
    int ready[2], go[2], done[2];
    if (pipe(ready) || pipe(go) || pipe(done)) die("pipe");
    pid_t pid[2];
    fflush(stdout); /* the children must not print the parent's buffered lines again */
    for (int p = 0; p < 2; p++) {
        pid[p] = fork();
        if (pid[p] < 0) die("fork");
        if (pid[p] == 0) {
            aisle_config *cfg = config(options);
            aisle_model *m;
            double t0 = now();
            if (aisle_model_load(&m, path, cfg)) die(options);
            double t_open = now() - t0;
            const char *items[10];
            float scores[10];
            size_t n;
            char key[32];
            t0 = now();
            for (size_t u = 0; u < 2000; u++) {
                snprintf(key, sizeof key, "%zu", (u * 7919) % users);
                if (aisle_recommend(m, key, 10, NULL, items, scores, &n)) die("recommend");
            }
            double t_serve = now() - t0;
            char c = 'r';
            if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1) _exit(1);
            printf("  %-28s process %d: open %7.3f s, 2000 users %6.3f s, Rss %7.0f MB, Pss %7.0f MB, "
                   "Shared_Clean %7.0f MB\n", label, p, t_open, t_serve, rollup("Rss") / 1024.0,
                   rollup("Pss") / 1024.0, rollup("Shared_Clean") / 1024.0);
            fflush(stdout);
            /* stay mapped until both have measured */
            if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) != 1) _exit(1);
            aisle_model_free(m);
            aisle_config_free(cfg);
            _exit(0);
        }
    }
    char c;
    for (int p = 0; p < 2; p++)
        if (read(ready[0], &c, 1) != 1) die("child did not get ready");
    c = 'g';
    for (int p = 0; p < 2; p++)
        if (write(go[1], &c, 1) != 1) die("release children");
    for (int p = 0; p < 2; p++) /* both measure while both are alive */
        if (read(ready[0], &c, 1) != 1) die("child did not measure");
    for (int p = 0; p < 2; p++)
        if (write(done[1], &c, 1) != 1) die("release children");
    for (int p = 0; p < 2; p++) waitpid(pid[p], NULL, 0);
    close(ready[0]), close(ready[1]), close(go[0]), close(go[1]), close(done[0]), close(done[1]);
}

int main(int argc, char **argv) {
    size_t users = argc > 3 ? strtoull(argv[1], NULL, 10) : 1600000;
    size_t items = argc > 3 ? strtoull(argv[2], NULL, 10) : 400000;
    size_t dim = argc > 3 ? strtoull(argv[3], NULL, 10) : 128;
    const char *path = argc > 4 ? argv[4] : "/tmp/aisle-bench-mmap.aisle";
    if (users < items || items < 10 || dim < 1) {
        fprintf(stderr, "usage: bench_mmap [users items dim [path]] (users >= items >= 10)\n");
        return 2;
    }
    uint32_t *u = malloc(users * sizeof *u), *it = malloc(users * sizeof *it);
    if (!u || !it) die("malloc");
    for (size_t e = 0; e < users; e++) u[e] = (uint32_t)e, it[e] = (uint32_t)((e * 2654435761u) % items);
    for (size_t j = 0; j < items; j++) it[j] = (uint32_t)j; /* every item once */
    aisle_dataset *ds;
    if (aisle_dataset_new(&ds) || aisle_dataset_add_indexed(ds, users, items, u, it, NULL, NULL, users, "purchase"))
        die("dataset");
    free(u), free(it);
    char text[160];
    snprintf(text, sizeof text, "model=bpr factors=%zu epochs=1 threads=2 seed=1", dim);
    char tables[4200], f16[4200];
    snprintf(tables, sizeof tables, "%s.tables", path);
    snprintf(f16, sizeof f16, "%s.fp16", path);
    bool quick = getenv("BENCH_MMAP_QUICK") && strcmp(getenv("BENCH_MMAP_QUICK"), "1") == 0;
    aisle_config *tc = config(text), *sc = config("compression=0 store_int8=true"),
                 *sm = config("compression=0 store_int8=true store_mappable=true"),
                 *sh = config("compression=0 quantize=fp16 store_int8=true store_mappable=true");
    aisle_model *m;
    double t0 = now();
    if (aisle_model_train(ds, tc, &m)) die("train");
    double t_train = now() - t0;
    t0 = now();
    if (!quick && aisle_model_save(m, path, sc)) die("save");
    double t_save = now() - t0;
    if (aisle_model_save(m, tables, sm)) die("save store_mappable");
    if (aisle_model_save(m, f16, sh)) die("save quantize=fp16");
    aisle_model_free(m);
    aisle_dataset_free(ds);
    aisle_config_free(tc), aisle_config_free(sc), aisle_config_free(sm), aisle_config_free(sh);
    struct stat st, st2;
    if ((!quick && stat(path, &st)) || stat(tables, &st2)) die("stat");
    printf("bpr %zu users x %zu items x %zu factors: file %.1f MB (fp32 factors %.1f MB, int8 copy stored), "
           "%.1f MB with store_mappable; train %.1f s, save %.1f s\n", users, items, dim,
           quick ? 0.0 : st.st_size / 1e6, (users + items) * dim * 4 / 1e6, st2.st_size / 1e6, t_train, t_save);
    /* the ordinary load is the same for both files (it skips the tables) */
    static const char *const modes[5] = {"mmap=false", "mmap=true", "mmap=true mmap_verify=none", "mmap=true",
                                         "mmap=true mmap_verify=none"};
    double base[2] = {0, 0}, base_cpu[2] = {0, 0};
    for (int cold = 0; cold < 2; cold++) {
        printf("open, %s page cache (median of 3):\n", cold ? "cold" : "warm");
        for (int k = quick ? 3 : 0; k < 5; k++) {
            double o, oc, f;
            time_open(k < 3 ? path : tables, modes[k], cold, &o, &oc, &f);
            if (k == 0) base[cold] = o, base_cpu[cold] = oc;
            char ratio[2][32] = {"", ""};
            if (!quick) {
                snprintf(ratio[0], sizeof ratio[0], " (%6.1fx the ordinary load's)", base[cold] / o);
                snprintf(ratio[1], sizeof ratio[1], " (%6.1fx)", base_cpu[cold] / oc);
            }
            printf("  %-28s %-14s open %9.1f ms wall%s, %8.1f ms CPU%s; first recommend %7.4f s\n", modes[k],
                   k < 3 ? "" : "store_mappable", o * 1e3, ratio[0], oc * 1e3, ratio[1], f);
        }
    }
    struct stat st3;
    if (stat(f16, &st3)) die("stat");
    printf("fp16 factors served as stored (quantize=fp16 store_int8=true store_mappable=true): file %.1f MB "
           "(%.3fx the fp32 store_mappable file's %.1f MB)\n", st3.st_size / 1e6, (double)st3.st_size / st2.st_size,
           st2.st_size / 1e6);
    for (int k = 3; k < 5; k++) {
        double o, oc, f, o32, oc32, f32;
        time_open(f16, modes[k], 0, &o, &oc, &f);
        time_open(tables, modes[k], 0, &o32, &oc32, &f32);
        printf("  %-28s fp16 open %9.1f ms wall, %8.1f ms CPU; fp32 %9.1f ms wall, %8.1f ms CPU (warm)\n", modes[k],
               o * 1e3, oc * 1e3, o32 * 1e3, oc32 * 1e3);
    }
    printf("top-10 latency, one process per file, mapped (mmap_verify=none), 2000 users after 200 to warm up:\n");
    latency_row(tables, "fp32 store_mappable", users);
    latency_row(f16, "fp16 store_mappable", users);
    printf("updates to the mapped model (mmap_verify=none), one process per file:\n");
    update_row(tables, "fp32 store_mappable", users, items);
    update_row(f16, "fp16 store_mappable", users, items);
    unlink(f16);
    if (quick) {
        unlink(tables);
        return 0;
    }
    printf("two processes serving the file at once:\n");
    two_processes(path, "mmap=false", "mmap=false", users);
    two_processes(path, "mmap=true", "mmap=true", users);
    two_processes(tables, "mmap=true", "mmap=true store_mappable", users);
    unlink(path);
    unlink(tables);
    return 0;
}
