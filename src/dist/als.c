/* als.c - distributed ALS (Hu, Koren & Volinsky 2008, as src/models/als.c).
 *
 * Rank r owns a contiguous block of users and one of items.  A half
 * iteration that solves users needs Y^T Y and, for each owned user, the
 * factor rows of the items that user touched.  Two ways to get them
 * (docs/SCALING.md gives the volumes and the rule between them):
 *
 *   - all-gather: every rank receives every row ((n_items - own) x d
 *     floats) and computes Y^T Y from the whole matrix itself, the very
 *     BLAS call one process makes.  The model is bit-identical to one
 *     process's for any rank count; the price is the traffic and memory of
 *     the whole matrices on every rank, and the n x d^2 Gram product
 *     replicated (one BLAS-3 call, cheap next to the solves up to a few
 *     dozen ranks).
 *   - point to point (p2p): at set-up each rank tells the owners which of
 *     their rows its own rows touch (dist_row_plan_build); every
 *     half-iteration each owner sends exactly those rows, straight from
 *     its block through an MPI indexed type, into the receiver's compact
 *     buffer (own block in place, CSR columns remapped to it).  Y^T Y is
 *     the ranks' partial Gram matrices summed in rank order
 *     (dist_sum_ordered: the same bits on every rank), which rounds
 *     differently from one call on the whole matrix: within the bound of
 *     docs/SCALING.md, not bit for bit (bit for bit at one rank).  A rank
 *     holds its blocks and the rows it needs, never the whole matrices;
 *     rank 0 gathers them for a checkpoint and for the model only.
 *
 * AISLE_DIST_EXCHANGE (rank 0's) = allgather | p2p | auto (the default:
 * p2p when it sends at most half the all-gather's rows, counted at set-up
 * from the plans' sizes; so small or dense runs keep the exact all-gather).
 *
 * Equality with one process: initial factors come from the same seeded
 * stream (every rank draws the whole stream and keeps its rows), the
 * history and its ruled weights are bit for bit the one-process ones
 * (events.c), each row's solve is the same arithmetic on the same values
 * (only where they live differs), and the Gram matrix is as above.  An
 * all-reduce of partial Gram matrices changes the summation order:
 * measured up to 5e-5 per factor after 4 epochs, which warm-started CG
 * carries forward (tests/mpi/test_dist_p2p.c holds 2e-4).
 *
 * Checkpoints: rank 0, which holds the full factors after every epoch
 * with the all-gather (and gathers them at checkpoint epochs with p2p,
 * scattering each rank its rows on resume), saves them with the epoch and a
 * fingerprint of the data and options (checkpoint.c, shared with the other
 * kinds).  A run started with an
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

/* One side of the factorisation (users or items) as a rank holds it.
 * All-gather: every row (full), own rows solved in place inside it, and
 * the other side's solves read full.  Point to point: the own rows, the
 * rows of the side that this rank's rows of the other side touch (needed,
 * compact, in the order of need), and on rank 0 only a gather target for
 * checkpoints and the model (full). */
typedef struct als_side {
    uint32_t n, lo, nl; /* rows in all, first own row, own rows */
    float *full, *own, *needed;
    size_t *counts;      /* floats per rank (the blocks) */
    uint32_t *need;      /* p2p: the rows needed, ascending */
    size_t n_need, n_remote; /* ... and how many of them other ranks own */
    dist_row_plan plan;
} als_side;

static void side_free(als_side *s, int p2p) {
    if (p2p) core_free(s->needed); /* own lies inside it */
    core_free(s->full);
    core_free(s->counts);
    core_free(s->need);
    dist_row_plan_free(&s->plan);
}

/* The rows of a side this rank holds in p2p mode: its own block and the
 * distinct columns of m (< n) of the other side's own rows, ascending;
 * counts those other ranks own. */
static int needed_rows(const data_csr *m, uint32_t n, uint32_t lo, uint32_t nl, als_side *s) {
    unsigned char *mark = core_calloc(n ? n : 1, 1);
    if (!mark) return core_oom("needed rows");
    memset(mark + lo, 1, nl);
    size_t count = nl;
    for (size_t k = 0; k < m->nnz; k++)
        if (!mark[m->indices[k]]) mark[m->indices[k]] = 1, count++;
    s->need = core_malloc((count ? count : 1) * sizeof *s->need);
    if (!s->need) {
        core_free(mark);
        return core_oom("needed rows");
    }
    s->n_need = 0;
    s->n_remote = count - nl;
    for (uint32_t r = 0; r < n; r++)
        if (mark[r]) s->need[s->n_need++] = r;
    core_free(mark);
    return AISLE_OK;
}

/* Rewrites m's columns to positions in need (every column is in it). */
static int remap_columns(data_csr *m, uint32_t n, const uint32_t *need, size_t n_need) {
    uint32_t *pos = core_malloc((n ? n : 1) * sizeof *pos);
    if (!pos) return core_oom("column remap");
    for (size_t k = 0; k < n_need; k++) pos[need[k]] = (uint32_t)k;
    for (size_t k = 0; k < m->nnz; k++) m->indices[k] = pos[m->indices[k]];
    m->cols = (uint32_t)n_need; /* the solve's fp16 gather copy covers the compact rows only */
    core_free(pos);
    return AISLE_OK;
}

/* The exchange rule (docs/SCALING.md).  AISLE_DIST_EXCHANGE on rank 0
 * picks: "allgather", "p2p", or "auto" (unset): point to point when the
 * rows it sends, summed over the ranks, are at most half of what the
 * all-gather sends ((U + I)(P - 1) rows); else the all-gather, which is
 * bit-identical to one process (p2p sums the Gram matrix from the ranks'
 * parts: within rounding).  One rank is always the all-gather's code (it
 * sends nothing either way).  Sets the sides' need lists when p2p. */
static int choose_exchange(dist_comm *c, const dist_rows *bu, const dist_rows *bi, als_side *x, als_side *y,
                           int *p2p) {
    int mode = 0, rc = AISLE_OK; /* 0 auto, 1 allgather, 2 p2p */
    if (c->rank == 0) {
        const char *v = getenv("AISLE_DIST_EXCHANGE");
        if (!v || !*v || !strcmp(v, "auto")) mode = 0;
        else if (!strcmp(v, "allgather")) mode = 1;
        else if (!strcmp(v, "p2p")) mode = 2;
        else rc = core_error(AISLE_EINVAL, "AISLE_DIST_EXCHANGE=%s: expected auto, allgather or p2p", v);
    }
    rc = dist_agree(c, rc);
    if (!rc) rc = dist_bcast(c, &mode, sizeof mode);
    if (rc) return rc;
    *p2p = 0;
    if (mode == 1 || (mode == 0 && c->size == 1)) return AISLE_OK;
    /* the items this rank's users touched, the users who touched its items */
    rc = needed_rows(&bu->csr, y->n, y->lo, y->nl, y);
    if (!rc) rc = needed_rows(&bi->csr, x->n, x->lo, x->nl, x);
    rc = dist_agree(c, rc);
    double remote = (double)(x->n_remote + y->n_remote);
    if (!rc) rc = dist_agree(c, dist_allreduce_d(c, &remote, 1));
    if (rc) return rc;
    *p2p = mode == 2 || remote <= 0.5 * ((double)x->n + y->n) * (c->size - 1);
    if (!*p2p) {
        core_free(x->need), core_free(y->need);
        x->need = y->need = NULL;
    }
    return AISLE_OK;
}

/* The side's rows where the other side's solves read them. */
static int exchange(dist_comm *c, als_side *s, int p2p) {
    return p2p ? dist_row_exchange(c, &s->plan, s->own, s->needed) : dist_allgather_f(c, s->own, s->counts, s->full);
}

/* The side's Gram matrix into g.  All-gather: the very call one process
 * makes on the whole matrix, so the sums are the same bit for bit (the
 * top of this file gives the cost).  Point to point: each rank's part
 * from its own rows, summed in rank order (dist_sum_ordered: the same
 * bits on every rank; at one rank the one-process call). */
static int gram_of(dist_comm *c, const als_side *s, int p2p, uint32_t dim, float *g, float *scratch) {
    if (!p2p) {
        model_factors_gram(s->full, s->n, dim, g);
        return AISLE_OK;
    }
    if (s->nl) model_factors_gram(s->own, s->nl, dim, g);
    else memset(g, 0, (size_t)dim * dim * sizeof *g);
    return dist_sum_ordered(c, g, (size_t)dim * dim, scratch);
}

/* The one-process initial values of a side's rows from the stream (every
 * rank draws all of them and keeps what it holds). */
static void draw(als_side *s, int p2p, uint32_t dim, core_rng *rng, float std) {
    for (uint32_t r = 0; r < s->n; r++) {
        float *dst = !p2p ? s->full + (size_t)r * dim
                     : r >= s->lo && r - s->lo < s->nl ? s->own + (size_t)(r - s->lo) * dim
                                                      : NULL;
        for (uint32_t k = 0; k < dim; k++) {
            float v = std * rng_normal(rng);
            if (dst) dst[k] = v;
        }
    }
}

/* Allocates a side's arrays for the exchange chosen. */
static int side_alloc(dist_comm *c, als_side *s, int p2p, uint32_t dim) {
    int p = c->size;
    s->counts = core_malloc((size_t)p * sizeof *s->counts);
    if (!s->counts) return core_oom("distributed als");
    for (int r = 0; r < p; r++) s->counts[r] = (size_t)(dist_lo(s->n, p, r + 1) - dist_lo(s->n, p, r)) * dim;
    if (!p2p || c->rank == 0) {
        if (!(s->full = core_malloc(((size_t)s->n * dim + 1) * sizeof *s->full))) return core_oom("distributed als");
    }
    if (!p2p) {
        s->own = s->full + (size_t)s->lo * dim;
        s->needed = s->full;
        return AISLE_OK;
    }
    s->needed = core_malloc((s->n_need * dim + 1) * sizeof *s->needed);
    return s->needed ? AISLE_OK : core_oom("distributed als");
}

/* p2p: rank 0's full matrices from every rank's own rows. */
static int gather_sides(dist_comm *c, als_side *x, als_side *y) {
    int rc = dist_agree(c, dist_gather_f(c, x->own, x->counts, x->full));
    return rc ? rc : dist_agree(c, dist_gather_f(c, y->own, y->counts, y->full));
}

int dist_als_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out) {
    dist_comm *c = &d->comm;
    const model_ops *ops = model_find_kind("als");
    const option_spec *t = ops->options;
    int rc = AISLE_OK, p2p = 0;
    uint32_t dim = (uint32_t)config_int(cfg, t, "factors"), nu = (uint32_t)d->users.n, ni = (uint32_t)d->items.n;
    int epochs = (int)config_int(cfg, t, "epochs");
    float reg = (float)config_float(cfg, t, "regularization");
    model_weight_rule rule;
    model_weight_params(cfg, &rule);
    double bytes0 = c->bytes_sent;
    d->als_p2p = 0;
    d->als_factor_bytes = 0;

    dist_rows hist = {0}, bu = {0}, bi = {0};
    data_csr all_hist = {0};
    als_side xs = {0}, ys = {0};
    float *gram = NULL, *gram_reg = NULL, *scratch = NULL;
    double *row_loss = NULL;
    rc = dist_user_history(d, &hist);
    if (!rc) rc = dist_ruled_views(d, &hist, &rule, &bu, &bi);
    if (rc) goto out;
    xs.n = nu, xs.lo = bu.lo, xs.nl = bu.csr.rows;
    ys.n = ni, ys.lo = bi.lo, ys.nl = bi.csr.rows;

    double pairs = (double)bu.csr.nnz;
    if ((rc = dist_allreduce_d(c, &pairs, 1))) goto out;
    reg = model_als_effective_reg(cfg, pairs, nu, ni); /* as one process scales it */
    uint64_t phash = 0; /* of the global columns: before any remap */
    if (checkpoint && (rc = dist_agree(c, pairs_hash(c, &bu, &phash)))) goto out;
    if ((rc = choose_exchange(c, &bu, &bi, &xs, &ys, &p2p))) goto out;
    d->als_p2p = p2p;

    rc = side_alloc(c, &xs, p2p, dim);
    if (!rc) rc = side_alloc(c, &ys, p2p, dim);
    gram = core_malloc((size_t)dim * dim * sizeof *gram);
    gram_reg = core_malloc((size_t)dim * dim * sizeof *gram_reg);
    scratch = core_malloc(((size_t)dim * dim + (size_t)c->size) * sizeof *scratch);
    row_loss = core_malloc((xs.nl ? xs.nl : 1) * sizeof *row_loss);
    if (!rc && (!gram || !gram_reg || !scratch || !row_loss)) rc = core_oom("distributed als");
    /* the solves index the compact rows, not the global ones */
    if (!rc && p2p) rc = remap_columns(&bu.csr, ni, ys.need, ys.n_need);
    if (!rc && p2p) rc = remap_columns(&bi.csr, nu, xs.need, xs.n_need);
    rc = dist_agree(c, rc);
    if (!rc && p2p) rc = dist_row_plan_build(c, nu, xs.need, xs.n_need, dim, &xs.plan);
    if (!rc && p2p) rc = dist_row_plan_build(c, ni, ys.need, ys.n_need, dim, &ys.plan);
    if (rc) goto out;
    if (p2p) { /* own rows are solved in place inside the compact buffers */
        xs.own = xs.needed + xs.plan.own_at * dim;
        ys.own = ys.needed + ys.plan.own_at * dim;
    }
    /* factor rows this rank holds (rank 0 in p2p: plus the gather target
     * of checkpoints and the model) */
    d->als_factor_bytes = ((double)(p2p ? xs.n_need + ys.n_need : (size_t)nu + ni) +
                           (p2p && c->rank == 0 ? (double)nu + ni : 0)) * dim * sizeof(float);
    /* the one-process initial factors: users then items from one stream */
    core_rng rng;
    rng_seed(&rng, (uint64_t)config_int(cfg, t, "seed"));
    float std = (float)config_float(cfg, t, "init_std");
    draw(&xs, p2p, dim, &rng, std);
    draw(&ys, p2p, dim, &rng, std);

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
    ck.root_only = p2p; /* p2p: only rank 0 holds the full factors; it scatters each rank its rows */
    model_ckpt_part parts[2] = {{"user", xs.full, (uint64_t)nu * dim, 4}, {"item", ys.full, (uint64_t)ni * dim, 4}};
    uint64_t start = 0;
    if (checkpoint) {
        rc = dist_ckpt_load(&ck, parts, 2, &start);
        if (!rc && start && p2p) rc = dist_agree(c, dist_scatter_f(c, xs.full, xs.counts, xs.own));
        if (!rc && start && p2p) rc = dist_agree(c, dist_scatter_f(c, ys.full, ys.counts, ys.own));
        if (rc) goto out;
    }
    if (p2p) rc = dist_agree(c, exchange(c, &ys, p2p)); /* the items the first users' half reads */
    if (!rc) rc = dist_agree(c, gram_of(c, &ys, p2p, dim, gram, scratch));
    model_als_rows solve = {.dim = dim,
                            .alpha = (float)config_float(cfg, t, "alpha"),
                            .solver = config_string(cfg, t, "solver"),
                            .cg_steps = (int)config_int(cfg, t, "cg_steps"),
                            .gather = config_string(cfg, t, "als_gather"),
                            .threads = core_thread_count(config_int(cfg, t, "threads"))};
    core_progress prog;
    core_progress_init(&prog, c->rank == 0 ? cfg : NULL);
    bool gathered_last = false; /* p2p: the last epoch's checkpoint gathered the factors */
    for (int ep = (int)start + 1; !rc && ep <= epochs; ep++) {
        double epoch_bytes0 = c->bytes_sent;
        dist_kill_hook(c->rank, ep);
        /* users given items (the items' rows and Gram matrix are current) */
        memcpy(gram_reg, gram, (size_t)dim * dim * sizeof *gram);
        for (uint32_t k = 0; k < dim; k++) gram_reg[(size_t)k * dim + k] += reg;
        solve.rows = &bu.csr, solve.x = xs.own, solve.y = ys.needed, solve.gram = gram_reg;
        rc = dist_agree(c, model_als_solve_rows(&solve, NULL));
        /* items given users */
        if (!rc) rc = dist_agree(c, exchange(c, &xs, p2p));
        if (!rc) rc = dist_agree(c, gram_of(c, &xs, p2p, dim, gram_reg, scratch));
        if (rc) break;
        for (uint32_t k = 0; k < dim; k++) gram_reg[(size_t)k * dim + k] += reg;
        solve.rows = &bi.csr, solve.x = ys.own, solve.y = xs.needed, solve.gram = gram_reg;
        rc = dist_agree(c, model_als_solve_rows(&solve, NULL));
        /* fresh items where the users' solves read them; their Gram
         * matrix serves the loss and the next epoch */
        if (!rc) rc = dist_agree(c, exchange(c, &ys, p2p));
        if (!rc) rc = dist_agree(c, gram_of(c, &ys, p2p, dim, gram, scratch));
        if (rc) break;
        solve.rows = &bu.csr, solve.x = xs.own, solve.y = ys.needed, solve.gram = gram;
        rc = dist_agree(c, model_als_solve_rows(&solve, row_loss));
        double sums[2] = {0, 0};
        for (uint32_t u = 0; !rc && u < xs.nl; u++) sums[0] += row_loss[u];
        for (size_t k = 0; !rc && k < (size_t)xs.nl * dim; k++) sums[1] += (double)xs.own[k] * xs.own[k];
        for (size_t k = 0; !rc && k < (size_t)ys.nl * dim; k++) sums[1] += (double)ys.own[k] * ys.own[k];
        if (!rc) rc = dist_agree(c, dist_allreduce_d(c, sums, 2));
        d->epoch_bytes = c->bytes_sent - epoch_bytes0;
        if (rc) break;
        double loss = (sums[0] + reg * sums[1]) / (pairs > 0 ? pairs : 1);
        if (c->rank == 0) rc = core_progress_report(&prog, ep, epochs, loss, NAN);
        rc = dist_agree(c, rc);
        /* p2p: rank 0 holds the full factors only at the epochs it saves */
        if (!rc && checkpoint && p2p && every > 0 && (ep % every == 0 || ep == epochs)) {
            rc = gather_sides(c, &xs, &ys);
            gathered_last = ep == epochs; /* the model's factors too */
        }
        if (!rc && checkpoint) rc = dist_ckpt_store(&ck, parts, 2, (uint64_t)ep, ep == epochs);
    }
    /* rank 0 assembles the ordinary model: the full history, keys, and the
     * factors (gathered now in p2p mode) */
    if (!rc && p2p && !gathered_last) rc = gather_sides(c, &xs, &ys);
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
            memcpy(f->user, xs.full, (size_t)nu * dim * sizeof *xs.full);
            memcpy(f->item, ys.full, (size_t)ni * dim * sizeof *ys.full);
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
    side_free(&xs, p2p);
    side_free(&ys, p2p);
    core_free(gram);
    core_free(gram_reg);
    core_free(scratch);
    core_free(row_loss);
    data_csr_free(&hist.csr);
    data_csr_free(&bu.csr);
    data_csr_free(&bi.csr);
    data_csr_free(&all_hist);
    d->train_bytes = c->bytes_sent - bytes0;
    return rc;
}
