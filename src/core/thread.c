/* thread.c - a small fork-join parallel for over pthreads.
 *
 * Threads are created per call: the work units aisle parallelises (an
 * epoch, a batch of users) take milliseconds or more, so a persistent pool
 * would save little and would add process-wide state.  Work is handed out
 * in chunks from an atomic counter so uneven rows balance themselves. */
#include "core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

typedef struct pf_shared {
    core_range_fn fn;
    void *ctx;
    size_t n, grain;
    atomic_size_t next;
    atomic_int failed;
    pthread_mutex_t lock;
    int first_rc;
    char first_msg[1024];
} pf_shared;

typedef struct pf_worker {
    pf_shared *sh;
    int tid;
} pf_worker;

static void pf_run(pf_shared *sh, int tid) {
    for (;;) {
        if (atomic_load_explicit(&sh->failed, memory_order_relaxed)) return;
        size_t begin = atomic_fetch_add(&sh->next, sh->grain);
        if (begin >= sh->n) return;
        size_t end = begin + sh->grain < sh->n ? begin + sh->grain : sh->n;
        int rc = sh->fn(sh->ctx, begin, end, tid);
        if (rc) {
            /* The message lives in this thread's error slot: carry it to the
             * caller's thread with the code. */
            pthread_mutex_lock(&sh->lock);
            if (!sh->first_rc) {
                sh->first_rc = rc;
                strncpy(sh->first_msg, aisle_last_error(), sizeof sh->first_msg - 1);
                sh->first_msg[sizeof sh->first_msg - 1] = '\0';
            }
            pthread_mutex_unlock(&sh->lock);
            atomic_store(&sh->failed, 1);
            return;
        }
    }
}

static void *pf_main(void *arg) {
    pf_worker *w = arg;
    pf_run(w->sh, w->tid);
    return NULL;
}

int core_thread_count(int64_t requested) {
    if (requested <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        requested = n > 0 ? n : 1;
    }
    if (requested > 256) requested = 256;
    return (int)requested;
}

int core_parallel_for(int threads, size_t n, size_t grain, core_range_fn fn, void *ctx) {
    if (n == 0) return AISLE_OK;
    if (grain == 0) grain = 1;
    size_t chunks = (n + grain - 1) / grain;
    if (threads < 1) threads = 1;
    if ((size_t)threads > chunks) threads = (int)chunks;
    if (threads == 1) {
        /* Same chunking as the threaded path, so results that depend on
         * chunk boundaries do not change with the thread count. */
        for (size_t b = 0; b < n; b += grain) {
            int rc = fn(ctx, b, b + grain < n ? b + grain : n, 0);
            if (rc) return rc;
        }
        return AISLE_OK;
    }
    pf_shared sh;
    memset(&sh, 0, sizeof sh);
    sh.fn = fn;
    sh.ctx = ctx;
    sh.n = n;
    sh.grain = grain;
    atomic_init(&sh.next, 0);
    atomic_init(&sh.failed, 0);
    pthread_mutex_init(&sh.lock, NULL);
    pthread_t tids[256];
    pf_worker workers[256];
    int started = 0;
    for (int t = 1; t < threads; t++) {
        workers[t].sh = &sh;
        workers[t].tid = t;
        if (pthread_create(&tids[t], NULL, pf_main, &workers[t]) != 0) break;
        started++;
    }
    pf_run(&sh, 0);
    for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    pthread_mutex_destroy(&sh.lock);
    if (sh.first_rc) return core_error(sh.first_rc, "%s", sh.first_msg);
    return AISLE_OK;
}
