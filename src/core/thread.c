/* thread.c - a small fork-join parallel for over pthreads.
 *
 * core_parallel_for creates its threads per call: the work units most of
 * aisle parallelises (an epoch, a batch of users) take milliseconds or
 * more; its chunks are handed out from one atomic counter so uneven rows
 * balance themselves.  Training loops that split every step several times
 * (sasrec) use a core_pool instead, owned by the caller for the length of
 * the run: a thread creation and join costs ~35 us of CPU and ~80 us of
 * wall, a wake-up of a sleeping worker a few us.  A pool gives each
 * thread a home range of the chunks and lets a thread that has finished
 * its own take chunks from the far end of the others' ranges: a loop that
 * splits the same data the same way every step then finds each chunk's
 * data in the cache of the core that wrote it last step (on the 2-vCPU
 * test VM, handing AdamW's chunks out first-come made a 2-thread step
 * cost 1.7x the CPU of the 1-thread one, lines moving between cores). */
#include "core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* A pool thread's home chunks [front, back), packed in one word (front in
 * the low half) so the owner's take from the front and a thief's from the
 * back are single compare-and-swaps; one cache line each. */
typedef struct pool_range {
    _Atomic uint64_t span;
    char pad[64 - sizeof(uint64_t)];
} pool_range;

typedef struct pf_shared {
    core_range_fn fn;
    void *ctx;
    size_t n, grain;
    pool_range *ranges; /* a pool's: one per thread; NULL: the shared counter */
    int n_ranges;
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

/* The next chunk of range r: its front (the owner) or its back (a thief). */
static bool range_take(pool_range *r, bool back, size_t *chunk) {
    uint64_t s = atomic_load_explicit(&r->span, memory_order_relaxed);
    for (;;) {
        uint32_t front = (uint32_t)s, end = (uint32_t)(s >> 32);
        if (front >= end) return false;
        uint64_t next = back ? (uint64_t)front | (uint64_t)(end - 1) << 32 : s + 1;
        if (atomic_compare_exchange_weak(&r->span, &s, next)) {
            *chunk = back ? end - 1 : front;
            return true;
        }
    }
}

/* Thread tid's next chunk: its own range first, then the others'. */
static bool pf_next(pf_shared *sh, int tid, size_t *begin) {
    size_t chunk;
    if (!sh->ranges) {
        *begin = atomic_fetch_add(&sh->next, sh->grain);
        return *begin < sh->n;
    }
    for (int k = 0; k < sh->n_ranges; k++)
        if (range_take(&sh->ranges[(tid + k) % sh->n_ranges], k > 0, &chunk)) {
            *begin = chunk * sh->grain;
            return true;
        }
    return false;
}

static void pf_run(pf_shared *sh, int tid) {
    size_t begin;
    for (;;) {
        if (atomic_load_explicit(&sh->failed, memory_order_relaxed)) return;
        if (!pf_next(sh, tid, &begin)) return;
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
    void *ranges_mem;   /* started + 1 home ranges, 64-byte aligned in it */
    pool_range *ranges;
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
    pool->ranges_mem = core_malloc(((size_t)threads + 1) * sizeof(pool_range));
    if (!pool->tids || !pool->workers || !pool->ranges_mem) {
        core_free(pool->tids);
        core_free(pool->workers);
        core_free(pool->ranges_mem);
        core_free(pool);
        return core_oom("thread pool");
    }
    uintptr_t at = ((uintptr_t)pool->ranges_mem + sizeof(pool_range) - 1) & ~(uintptr_t)(sizeof(pool_range) - 1);
    pool->ranges = (pool_range *)at;
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
    core_free(pool->ranges_mem);
    core_free(pool);
}

int core_pool_threads(const core_pool *pool) { return pool ? pool->started + 1 : 1; }

int core_pool_for(core_pool *pool, size_t n, size_t grain, core_range_fn fn, void *ctx) {
    if (grain == 0) grain = 1;
    if (!pool || pool->started == 0 || n <= grain) return core_parallel_for(1, n, grain, fn, ctx);
    pf_shared sh;
    pf_init(&sh, n, grain, fn, ctx);
    pthread_mutex_init(&sh.lock, NULL);
    size_t chunks = (n + grain - 1) / grain;
    if (chunks <= UINT32_MAX) { /* home ranges: thread t's chunks [t C / P, (t + 1) C / P) */
        size_t P = (size_t)pool->started + 1;
        for (size_t t = 0; t < P; t++)
            atomic_store_explicit(&pool->ranges[t].span, (uint64_t)(t * chunks / P) | (uint64_t)((t + 1) * chunks / P) << 32,
                                  memory_order_relaxed);
        sh.ranges = pool->ranges;
        sh.n_ranges = (int)P;
    }
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
