/* mf_fpsg.c - the FPSG block scheduler (Chin, Zhuang, Juan & Lin, ACM TIST
 * 2015): users and items are permuted into s x s blocks; a thread takes a
 * free block -- one whose row block and column block no other thread is
 * updating -- preferring the least updated, so concurrent blocks touch
 * disjoint parameters and SGD needs no locks.  Only the scheduler takes a
 * mutex. */
#include "mf.h"

#include <string.h>

int mf_sched_init(mf_sched *sc, int s) {
    sc->s = s;
    sc->taken = 0;
    sc->row_busy = core_calloc((size_t)s, sizeof(bool));
    sc->col_busy = core_calloc((size_t)s, sizeof(bool));
    sc->updates = core_calloc((size_t)s * s, sizeof(uint32_t));
    if (!sc->row_busy || !sc->col_busy || !sc->updates) {
        mf_sched_free(sc);
        return core_oom("mf training");
    }
    pthread_mutex_init(&sc->lock, NULL);
    sc->locked = true;
    return AISLE_OK;
}

void mf_sched_free(mf_sched *sc) {
    if (sc->locked) pthread_mutex_destroy(&sc->lock);
    core_free(sc->row_busy);
    core_free(sc->col_busy);
    core_free(sc->updates);
    sc->row_busy = sc->col_busy = NULL;
    sc->updates = NULL;
    sc->locked = false;
}

/* Takes a free block, least updated first (lowest index on ties, which
 * keeps one thread's order fixed); -1 when the epoch's quota is handed out. */
int mf_sched_take(mf_sched *sc) {
    pthread_mutex_lock(&sc->lock);
    int best = -1;
    if (sc->taken < sc->s * sc->s) {
        for (int b = 0; b < sc->s * sc->s; b++) {
            int br = b / sc->s, bc = b % sc->s;
            if (sc->row_busy[br] || sc->col_busy[bc]) continue;
            if (best < 0 || sc->updates[b] < sc->updates[best]) best = b;
        }
        if (best >= 0) {
            sc->row_busy[best / sc->s] = sc->col_busy[best % sc->s] = true;
            sc->taken++;
        }
    }
    pthread_mutex_unlock(&sc->lock);
    return best;
}

void mf_sched_release(mf_sched *sc, int b) {
    pthread_mutex_lock(&sc->lock);
    sc->row_busy[b / sc->s] = sc->col_busy[b % sc->s] = false;
    sc->updates[b]++;
    pthread_mutex_unlock(&sc->lock);
}


/* Block of internal row (column) index k: position * s / count, which
 * keeps each block a contiguous range and balances the grid. */
int mf_fpsg_bucket(mf_ctx *c, const rating *tr, size_t ntr, uint32_t nu, uint32_t ni) {
    int sb = c->sc.s;
#define MF_RBLOCK(k) ((uint64_t)(k) * (uint64_t)sb / nu)
#define MF_CBLOCK(k) ((uint64_t)(k) * (uint64_t)sb / ni)
    for (size_t k = 0; k < ntr; k++) c->bstart[MF_RBLOCK(tr[k].u) * sb + MF_CBLOCK(tr[k].i) + 1]++;
    for (int b = 0; b < sb * sb; b++) c->bstart[b + 1] += c->bstart[b];
    size_t *fill = core_malloc((size_t)sb * sb * sizeof *fill);
    if (!fill) return core_oom("mf training");
    memcpy(fill, c->bstart, (size_t)sb * sb * sizeof *fill);
    for (size_t k = 0; k < ntr; k++) c->r[fill[MF_RBLOCK(tr[k].u) * sb + MF_CBLOCK(tr[k].i)]++] = tr[k];
    core_free(fill);
#undef MF_RBLOCK
#undef MF_CBLOCK
    return AISLE_OK;
}
