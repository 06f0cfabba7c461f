/* thread.c - a small fork-join parallel for over pthreads.
 *
 * core_parallel_for creates its threads per call: the work units most of
 * aisle parallelises (an epoch, a batch of users) take milliseconds or
 * more.  Training loops that split every step several times (sasrec) use a
 * core_pool instead, owned by the caller for the length of the run: a
 * thread creation and join costs ~35 us of CPU and ~80 us of wall, a
 * wake-up of a sleeping worker a few us.  Either way work is handed out in
 * chunks from an atomic counter so uneven rows balance themselves. */
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

static void pf_init(pf_shared *sh, size_t n, size_t grain, core_range_fn fn, void *ctx) {
    memset(sh, 0, sizeof *sh);
    sh->fn = fn;
    sh->ctx = ctx;
    sh->n = n;
    sh->grain = grain;
    atomic_init(&sh->next, 0);
    atomic_init(&sh->failed, 0);
}

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
    pf_init(&sh, n, grain, fn, ctx);
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

/* ---- the persistent pool ----
 * A call publishes its job under the lock and bumps `generation`; each
 * worker runs the job once per generation and the last one to finish
 * wakes the caller.  All hand-over goes through the mutex, so the job's
 * inputs and the workers' results are ordered for the caller (and TSan). */
typedef struct pool_worker {
    core_pool *pool;
    int tid;
} pool_worker;

struct core_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    uint64_t generation;
    int busy;  /* workers still on the current job */
    bool stop;
    pf_shared *job;
    int started; /* workers */
    pthread_t *tids;
    pool_worker *workers;
};

static void *pool_main(void *arg) {
    pool_worker *w = arg;
    core_pool *pool = w->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stop && pool->generation == seen) pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stop) break;
        seen = pool->generation;
        pf_shared *job = pool->job;
        pthread_mutex_unlock(&pool->lock);
        pf_run(job, w->tid);
        pthread_mutex_lock(&pool->lock);
        if (--pool->busy == 0) pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

int core_pool_new(core_pool **out, int threads) {
    *out = NULL;
    if (threads < 1) threads = 1;
    if (threads > 256) threads = 256;
    core_pool *pool = core_calloc(1, sizeof *pool);
    if (!pool) return core_oom("thread pool");
    size_t workers = (size_t)threads - 1;
    pool->tids = core_malloc((workers ? workers : 1) * sizeof *pool->tids);
    pool->workers = core_malloc((workers ? workers : 1) * sizeof *pool->workers);
    if (!pool->tids || !pool->workers) {
        core_free(pool->tids);
        core_free(pool->workers);
        core_free(pool);
        return core_oom("thread pool");
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (size_t t = 0; t < workers; t++) {
        pool->workers[t].pool = pool;
        pool->workers[t].tid = (int)t + 1;
        if (pthread_create(&pool->tids[t], NULL, pool_main, &pool->workers[t]) != 0) break;
        pool->started++;
    }
    *out = pool;
    return AISLE_OK;
}

void core_pool_free(core_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int t = 0; t < pool->started; t++) pthread_join(pool->tids[t], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    core_free(pool->tids);
    core_free(pool->workers);
    core_free(pool);
}

int core_pool_threads(const core_pool *pool) { return pool ? pool->started + 1 : 1; }

int core_pool_for(core_pool *pool, size_t n, size_t grain, core_range_fn fn, void *ctx) {
    if (grain == 0) grain = 1;
    if (!pool || pool->started == 0 || n <= grain) return core_parallel_for(1, n, grain, fn, ctx);
    pf_shared sh;
    pf_init(&sh, n, grain, fn, ctx);
    pthread_mutex_init(&sh.lock, NULL);
    pthread_mutex_lock(&pool->lock);
    pool->job = &sh;
    pool->busy = pool->started;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    pf_run(&sh, 0);
    pthread_mutex_lock(&pool->lock);
    while (pool->busy > 0) pthread_cond_wait(&pool->done, &pool->lock);
    pool->job = NULL;
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_destroy(&sh.lock);
    if (sh.first_rc) return core_error(sh.first_rc, "%s", sh.first_msg);
    return AISLE_OK;
}
