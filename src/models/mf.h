/*
 * mf.h - internals shared by the files of the mf kind:
 *   mf.c          options, training set-up and the model ops (docs in
 *                 mf.c's opening comment: FPSG, SVD++);
 *   mf_fpsg.c     the FPSG block scheduler and the bucketing of ratings
 *                 into its s x s grid;
 *   mf_kernels.c  the SGD and SVD++ kernels, built for SSE2 and AVX2
 *                 with the same bits (docs/MODELS.md).
 */
#ifndef AISLE_MODELS_MF_H
#define AISLE_MODELS_MF_H

#include "models.h"

#include <pthread.h>

typedef struct rating {
    uint32_t u, i; /* internal (block-ordered) indices */
    float r;
} rating;

/* The FPSG scheduler (mf_fpsg.c): which row and column blocks of the
 * s x s grid are being updated, and how often each block was. */
typedef struct mf_sched {
    pthread_mutex_t lock;
    int s;
    bool *row_busy, *col_busy;
    uint32_t *updates; /* per block */
    int taken;         /* blocks handed out this epoch */
    bool locked;       /* lock initialised (mf_sched_free after a failed init) */
} mf_sched;

/* Training works on its own copy of the parameters, users and items
 * renumbered so that each FPSG row (column) block is a contiguous range:
 * two threads then share a cache line only at a block boundary (with the
 * original numbering, neighbouring biases and unaligned factor rows of
 * different blocks shared lines, and two threads ran 3.5x slower per
 * rating than one).  Rows are padded to dp = a multiple of 8 floats with
 * zeros that stay zero (their gradients are 0), so the kernel has no tail;
 * a user's row holds p, z and acc side by side (one stream per rating). */
typedef struct mf_ctx {
    uint32_t d, dp;    /* factors, padded */
    size_t su;         /* floats per user row: dp, or 3 dp with SVD++ (p | z | acc) */
    float *U, *Q, *Y;  /* users x su, items x dp, items x dp (SVD++) or NULL */
    float *ub, *ib;    /* biases */
    float mean;
    rating *r;         /* train ratings bucketed by block */
    size_t *bstart;    /* s*s + 1 */
    mf_sched sc;
    double *bsse;      /* per block squared error this epoch */
    float lr, reg, reg_bias, reg_y;
    /* SVD++: N(u) and the raters of each item, internal indices */
    size_t *uptr, *iptr;
    uint32_t *uitems, *iusers;
    float *norm;       /* |N(u)|^-1/2 */
} mf_ctx;

/* Allocates the scheduler of an s x s grid (and its mutex). */
int mf_sched_init(mf_sched *sc, int s);
/* Frees it (NULL-safe members; after a failed init too). */
void mf_sched_free(mf_sched *sc);
/* Takes a free block, least updated first; -1 when the epoch's quota (s*s
 * blocks; reset taken to 0 each epoch) is handed out. */
int mf_sched_take(mf_sched *sc);
/* Gives block b back after updating it. */
void mf_sched_release(mf_sched *sc, int b);
/* Buckets the training ratings tr[0..ntr) by grid block into c->r, with
 * c->bstart[b] the first rating of block b (c->sc.s, c->r and c->bstart
 * allocated by the caller). */
int mf_fpsg_bucket(mf_ctx *c, const rating *tr, size_t ntr, uint32_t nu, uint32_t ni);

/* The parallel parts of an epoch (mf_kernels.c), each a core_range_fn over
 * an mf_ctx: the FPSG workers (range: one per thread), the SVD++ implicit
 * sums z_u (range: users) and the y update (range: items).  Picked once for
 * the CPU: AVX2 when it has it, SSE2 otherwise, the same bits either way. */
typedef struct mf_kernels {
    core_range_fn epoch, implicit_sum, implicit_update;
} mf_kernels;
mf_kernels mf_kernels_pick(void);

/* DSGD over processes (mf_dsgd.c; models.h model_mf_hook): this
 * process's ratings (its user block) split by item block, one FPSG
 * sub-context per sub-epoch whose parameter pointers start at the blocks'
 * first rows, so the FPSG worker runs on it unchanged. */
typedef struct mf_dsgd {
    const model_mf_hook *hook;
    mf_ctx *sub;         /* hook->parts sub-contexts */
    rating *r;           /* their ratings (block-local indices), bucketed */
    model_mf_arena arena;
} mf_dsgd;
/* Builds g from c (parameters, grid size, mean and rates set) and the
 * training ratings tr[0..ntr) (internal indices).  AISLE_OK or
 * AISLE_ENOMEM (g then still freeable). */
int mf_dsgd_init(mf_dsgd *g, const model_mf_hook *hook, const mf_ctx *c, const rating *tr, size_t ntr, uint32_t nu,
                 uint32_t ni);
/* One epoch at c->lr: the sub-epochs, each followed by the hook's pass,
 * then its epoch_end; *sse: the squared error summed over processes. */
int mf_dsgd_epoch(mf_dsgd *g, const mf_ctx *c, int threads, core_range_fn epoch, double *sse);
void mf_dsgd_free(mf_dsgd *g);

#endif /* AISLE_MODELS_MF_H */
