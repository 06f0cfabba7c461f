/*
 * als.h - internals shared by the files of the als kind:
 *   als.c     options, the training loop and the model ops;
 *   als_cg.c  the blocked half-iteration solver and loss pass, built for
 *             SSE2, AVX2 and AVX-512 with the same bits, and the fp16 copy
 *             of the fixed side its gathers may read.
 */
#ifndef AISLE_MODELS_ALS_H
#define AISLE_MODELS_ALS_H

#include "models.h"

/* Rows are solved in blocks of consecutive rows: at most ALS_BLOCK_ROWS
 * rows, and as many as keep the block's gathered factor rows within
 * about ALS_BLOCK_BYTES (so all CG passes over a block read them from L2),
 * a longer row forming a block of its own.  Block boundaries depend only
 * on the matrix, never on the thread count. */
#define ALS_BLOCK_ROWS 64
#define ALS_BLOCK_BYTES (512u * 1024u)

/* One half-iteration: solve rows of x given the fixed side y. */
typedef struct als_solver {
    const data_csr *rows; /* by-user (solving users) or by-item view */
    float *x;             /* side being solved (rows x d) */
    const float *y;       /* fixed side */
    /* NULL, or y rounded to fp16 (als_gather_copy): every gathered row is
     * then read from it (2 cache lines a row at d = 64 instead of 4) and
     * widened exactly to fp32, so only the rounding of y changes the bits */
    const uint16_t *y16;
    const float *gram;    /* d x d: Y^T Y + lambda I (solve) or Y^T Y (loss) */
    uint32_t d;
    float alpha;
    int cg_steps;
    bool cholesky;
    const size_t *block_start; /* n_blocks + 1 row offsets (als_plan_blocks) */
    size_t n_blocks;
    void *scratch;         /* per thread: scratch_stride bytes (als_scratch_bytes) */
    size_t scratch_stride; /* bytes, a multiple of 64 */
    double *row_loss;      /* loss pass: one per row */
    /* solve: also store each solved row's observed loss (als_loss_blocks
     * without its x^T G x term) with its new factors in row_loss, read
     * while the block's gathered rows are still in cache; the caller adds
     * the quadratic term for all rows at once (see als.c) */
    bool observed_loss;
} als_solver;

/* out[k] = y[k] rounded to the nearest fp16 (ties to even, as
 * io_f32_to_f16) for k < rows * d, on up to `threads` threads (F16C where
 * the CPU has it, the same values either way).  Returns AISLE_OK. */
int als_gather_copy(const float *y, size_t rows, uint32_t d, uint16_t *out, int threads);

/* Splits the rows of csr into blocks (see ALS_BLOCK_ROWS).  *starts is
 * core_malloc'ed (n + 1 entries).  Returns AISLE_OK or AISLE_ENOMEM. */
int als_plan_blocks(const data_csr *csr, uint32_t d, size_t **starts, size_t *n);
/* Bytes of per-thread scratch the solver and loss pass need (rounded up
 * to 64 so threads never share a cache line). */
size_t als_scratch_bytes(uint32_t d, bool cholesky);
/* core_parallel_for bodies over blocks [begin, end): the CG (or Cholesky)
 * solve of every row (and its observed loss with observed_loss), and the
 * per-row loss x^T G x + sum_obs [c (1-s)^2 - s^2] into row_loss.  Each row's result depends only on its own data, so it is
 * the same for every thread count. */
int als_solve_blocks(void *solver, size_t begin, size_t end, int tid);
int als_loss_blocks(void *solver, size_t begin, size_t end, int tid);
/* als_solve_blocks with a given kernel build (0 plain SSE2, 1 AVX2, 2
 * AVX-512), for tests that check they give the same bits.  Returns
 * AISLE_EUNSUPPORTED when this CPU (or compiler) lacks it. */
int als_solve_blocks_isa(void *solver, size_t begin, size_t end, int tid, int isa);

#endif
