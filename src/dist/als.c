/* als.c - distributed ALS (Hu, Koren & Volinsky 2008, as src/models/als.c).
 *
 * Rank r owns a contiguous block of users and one of items.  A half
 * iteration that solves users needs Y^T Y and, for each owned user, the
 * factor rows of the items that user touched.  The item rows are
 * all-gathered (every rank receives (n_items - own) x d floats), and Y^T Y
 * is computed from them on every rank (below: why not an all-reduce of
 * partial Gram matrices).  All-gathering is simple and optimal while the
 * factor matrix fits in a
 * rank's memory -- docs/SCALING.md gives the volume and when point-to-point
 * exchange of only the needed rows pays.  Then each rank solves its rows
 * with the same per-row solver as one process (model_als_solve_rows).
 *
 * Equality with one process: initial factors come from the same seeded
 * stream (every rank draws the whole stream and keeps its rows), the
 * history and its ruled weights are bit for bit the one-process ones
 * (events.c), each row's solve is the same arithmetic, and the Gram
 * matrix is computed by the same call on the same full matrix.  So the
 * model is bit-identical to one process's for any rank count
 * (tests/mpi).  The price: each rank computes the n x d^2 Gram product
 * itself (one BLAS-3 call, cheap next to the solves up to a few dozen
 * ranks).  Summing the ranks' partial Gram matrices (an all-reduce of d^2
 * floats) would divide that work by the rank count but changes the
 * summation order: measured 2e-5 per factor after 4 epochs, which the
 * warm-started CG carries forward, so equality would only hold to ~1e-4.
 * docs/SCALING.md weighs the two.
 *
 * Checkpoints: rank 0, which holds the full factors after every epoch
 * anyway, saves them with the epoch and a fingerprint of the data and
 * options (checkpoint.c, shared with the other kinds).  A run started with an
 * existing checkpoint resumes after its epoch; since an epoch depends only
 * on the factors before it, the final model is the uninterrupted one.
 *
 * Test hook: AISLE_DIST_KILL (checkpoint.c, dist_kill_hook). */
#include "dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A hash of the ruled training pairs that does not depend on how the rows
 * are spread over ranks: each user row's hash (its global index, columns
 * and weights), summed over the rows (mod 2^64) and then over the ranks.
 * Event weights, weight_scale and weight_cap all change it. */
static int pairs_hash(dist_comm *c, const dist_rows *by_user, uint64_t *out) {
    uint64_t sum = 0;
    const data_csr *m = &by_user->csr;
    for (uint32_t r = 0; r < m->rows; r++) {
        uint64_t user = by_user->lo + r, h = model_ckpt_hash(0xcbf29ce484222325ull, &user, sizeof user);
        size_t lo = m->indptr[r], n = m->indptr[r + 1] - lo;
        h = model_ckpt_hash(h, m->indices + lo, n * sizeof *m->indices);
        sum += model_ckpt_hash(h, m->values + lo, n * sizeof *m->values);
    }
    int rc = MPI_Allreduce(&sum, out, 1, MPI_UINT64_T, MPI_SUM, c->comm);
    return rc == MPI_SUCCESS ? AISLE_OK : dist_mpi_error(rc, "hashing the training pairs");
}

/* The Gram matrix of a whole factor matrix, which every rank holds after
 * the all-gather: the very call one process makes, so the sums are the
 * same bit for bit (see the top of this file for the cost). */
static int gram_full(const float *all, size_t n, uint32_t d, float *g) {
    model_factors_gram(all, n, d, g);
    return AISLE_OK;
}

int dist_als_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out) {
    dist_comm *c = &d->comm;
    const model_ops *ops = model_find_kind("als");
    const option_spec *t = ops->options;
    int p = c->size, rc = AISLE_OK;
    uint32_t dim = (uint32_t)config_int(cfg, t, "factors"), nu = (uint32_t)d->users.n, ni = (uint32_t)d->items.n;
    int epochs = (int)config_int(cfg, t, "epochs");
    float reg = (float)config_float(cfg, t, "regularization");
    model_weight_rule rule;
    model_weight_params(cfg, &rule);
    double bytes0 = c->bytes_sent;

    dist_rows hist = {0}, bu = {0}, bi = {0};
    data_csr all_hist = {0};
    rc = dist_user_history(d, &hist);
    if (!rc) rc = dist_ruled_views(d, &hist, &rule, &bu, &bi);
    if (rc) goto out0;
    uint32_t ulo = bu.lo, nul = bu.csr.rows, ilo = bi.lo, nil = bi.csr.rows;
    size_t *ucount = core_malloc(2 * (size_t)p * sizeof *ucount), *icount = ucount ? ucount + p : NULL;
    float *xfull = core_malloc(((size_t)nu * dim + 1) * sizeof *xfull);
    float *yfull = core_malloc(((size_t)ni * dim + 1) * sizeof *yfull);
    float *yown = core_malloc(((size_t)nil * dim + 1) * sizeof *yown);
    float *gram = core_malloc((size_t)dim * dim * sizeof *gram);
    float *gram_reg = core_malloc((size_t)dim * dim * sizeof *gram_reg);
    double *row_loss = core_malloc((nul ? nul : 1) * sizeof *row_loss);
    if (!ucount || !xfull || !yfull || !yown || !gram || !gram_reg || !row_loss) rc = core_oom("distributed als");
    rc = dist_agree(c, rc);
    if (rc) goto out;
    for (int r = 0; r < p; r++) {
        ucount[r] = (size_t)(dist_lo(nu, p, r + 1) - dist_lo(nu, p, r)) * dim;
        icount[r] = (size_t)(dist_lo(ni, p, r + 1) - dist_lo(ni, p, r)) * dim;
    }
    /* the one-process initial factors: users then items from one stream */
    core_rng rng;
    rng_seed(&rng, (uint64_t)config_int(cfg, t, "seed"));
    float std = (float)config_float(cfg, t, "init_std");
    for (size_t k = 0; k < (size_t)nu * dim; k++) xfull[k] = std * rng_normal(&rng);
    for (size_t k = 0; k < (size_t)ni * dim; k++) yfull[k] = std * rng_normal(&rng);
    float *xown = xfull + (size_t)ulo * dim; /* own rows are solved in place */

    double pairs = (double)bu.csr.nnz;
    if ((rc = dist_allreduce_d(c, &pairs, 1))) goto out;
    reg = model_als_effective_reg(cfg, pairs, nu, ni); /* as one process scales it */
    uint64_t phash = 0, start = 0;
    if (checkpoint && (rc = dist_agree(c, pairs_hash(c, &bu, &phash)))) goto out;
    /* the fingerprint: keys, pairs and their weights, every option but
     * epochs; not the rank count (the model does not depend on it) */
    dist_ckpt ck;
    static const char *const not_fingerprinted[] = {"epochs", NULL};
    dist_ckpt_init(&ck, c, cfg, checkpoint, every, "als", NULL);
    dist_ckpt_field(&ck, "users", dist_ckpt_keys_hash(&d->users));
    dist_ckpt_field(&ck, "items", dist_ckpt_keys_hash(&d->items));
    dist_ckpt_field(&ck, "pairs", (uint64_t)pairs);
    dist_ckpt_field(&ck, "pair_weights", phash);
    dist_ckpt_options(&ck, t, not_fingerprinted);
    ck.max_done = (uint64_t)epochs;
    model_ckpt_part parts[2] = {{"user", xfull, (uint64_t)nu * dim, 4}, {"item", yfull, (uint64_t)ni * dim, 4}};
    if (checkpoint && (rc = dist_ckpt_load(&ck, parts, 2, &start))) goto out;
    memcpy(yown, yfull + (size_t)ilo * dim, (size_t)nil * dim * sizeof *yown);
    rc = dist_agree(c, gram_full(yfull, ni, dim, gram));
    model_als_rows solve = {.dim = dim,
                            .alpha = (float)config_float(cfg, t, "alpha"),
                            .solver = config_string(cfg, t, "solver"),
                            .cg_steps = (int)config_int(cfg, t, "cg_steps"),
                            .threads = core_thread_count(config_int(cfg, t, "threads"))};
    core_progress prog;
    core_progress_init(&prog, c->rank == 0 ? cfg : NULL);
    for (int ep = (int)start + 1; !rc && ep <= epochs; ep++) {
        double epoch_bytes0 = c->bytes_sent;
        dist_kill_hook(c->rank, ep);
        /* users given items (yfull and its Gram matrix are current) */
        memcpy(gram_reg, gram, (size_t)dim * dim * sizeof *gram);
        for (uint32_t k = 0; k < dim; k++) gram_reg[(size_t)k * dim + k] += reg;
        solve.rows = &bu.csr, solve.x = xown, solve.y = yfull, solve.gram = gram_reg;
        rc = dist_agree(c, model_als_solve_rows(&solve, NULL));
        /* items given users */
        if (!rc) rc = dist_agree(c, dist_allgather_f(c, xown, ucount, xfull));
        if (!rc) rc = dist_agree(c, gram_full(xfull, nu, dim, gram_reg));
        if (rc) break;
        for (uint32_t k = 0; k < dim; k++) gram_reg[(size_t)k * dim + k] += reg;
        solve.rows = &bi.csr, solve.x = yown, solve.y = xfull, solve.gram = gram_reg;
        rc = dist_agree(c, model_als_solve_rows(&solve, NULL));
        /* fresh items everywhere; their Gram matrix serves the loss and
         * the next epoch */
        if (!rc) rc = dist_agree(c, dist_allgather_f(c, yown, icount, yfull));
        if (!rc) rc = dist_agree(c, gram_full(yfull, ni, dim, gram));
        if (rc) break;
        solve.rows = &bu.csr, solve.x = xown, solve.y = yfull, solve.gram = gram;
        rc = dist_agree(c, model_als_solve_rows(&solve, row_loss));
        double sums[2] = {0, 0};
        for (uint32_t u = 0; !rc && u < nul; u++) sums[0] += row_loss[u];
        for (size_t k = 0; !rc && k < (size_t)nul * dim; k++) sums[1] += (double)xown[k] * xown[k];
        for (size_t k = 0; !rc && k < (size_t)nil * dim; k++) sums[1] += (double)yown[k] * yown[k];
        if (!rc) rc = dist_agree(c, dist_allreduce_d(c, sums, 2));
        d->epoch_bytes = c->bytes_sent - epoch_bytes0;
        if (rc) break;
        double loss = (sums[0] + reg * sums[1]) / (pairs > 0 ? pairs : 1);
        if (c->rank == 0) rc = core_progress_report(&prog, ep, epochs, loss, NAN);
        rc = dist_agree(c, rc);
        if (!rc && checkpoint) rc = dist_ckpt_store(&ck, parts, 2, (uint64_t)ep, ep == epochs);
    }
    /* rank 0 assembles the ordinary model: the full history, keys, and the
     * factors it already holds */
    if (!rc) rc = dist_gather_history(d, &hist, &all_hist);
    aisle_model *m = NULL;
    if (!rc && c->rank == 0) {
        core_keys users, items;
        keys_init(&users);
        keys_init(&items);
        rc = model_alloc(ops, &m);
        if (!rc) rc = keys_copy(&users, &d->users);
        if (!rc) rc = keys_copy(&items, &d->items);
        if (!rc) rc = model_init_parts(m, &users, &items, &all_hist, cfg);
        else keys_clear(&users), keys_clear(&items);
        model_factors *f = NULL;
        if (!rc) rc = model_als_state_new(m, dim, &f);
        if (!rc) f->reg = reg;
        if (!rc) {
            memcpy(f->user, xfull, (size_t)nu * dim * sizeof *xfull);
            memcpy(f->item, yfull, (size_t)ni * dim * sizeof *yfull);
            model_factors_gram(f->item, ni, dim, f->gram);
        }
        if (rc) {
            aisle_model_free(m);
            m = NULL;
        }
    }
    rc = dist_agree(c, rc);
    if (!rc) *out = m;
    else aisle_model_free(m);
out:
    core_free(ucount);
    core_free(xfull);
    core_free(yfull);
    core_free(yown);
    core_free(gram);
    core_free(gram_reg);
    core_free(row_loss);
out0:
    data_csr_free(&hist.csr);
    data_csr_free(&bu.csr);
    data_csr_free(&bi.csr);
    data_csr_free(&all_hist);
    d->train_bytes = c->bytes_sent - bytes0;
    return rc;
}
