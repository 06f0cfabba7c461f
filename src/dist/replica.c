/* replica.c - the frame of the data-parallel kinds (sasrec.c, bpr.c):
 * every rank builds the one-process dataset and model and trains its
 * replica through the kind's hook; rank 0 keeps the model.  Also the
 * per-step gradient sum of the synchronous kinds (sasrec.c, text.c). */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

int dist_replica_train(aisle_dist_data *d, const aisle_config *cfg, const char *kind, dist_replica_fn train,
                       void *ctx, const int *agreed, aisle_model **out) {
    dist_comm *c = &d->comm;
    aisle_dataset *ds = NULL;
    aisle_model *m = NULL;
    int rc = dist_gather_dataset(d, &ds);
    if (rc) return rc;
    rc = model_alloc(model_find_kind(kind), &m);
    if (!rc) rc = model_init_generic(m, ds, cfg);
    rc = dist_agree(c, rc);
    if (!rc) {
        core_progress prog; /* the caller's callback runs on rank 0 */
        core_progress_init(&prog, c->rank == 0 ? cfg : NULL);
        rc = train(ctx, m, ds, &prog);
        /* the closing agreement, unless a failed one inside training
         * already ended every rank's */
        if (!*agreed) rc = dist_agree(c, rc);
    }
    aisle_dataset_free(ds);
    if (!rc && c->rank == 0) *out = m;
    else aisle_model_free(m);
    return rc;
}

dist_grad_sum dist_grad_sum_init(dist_comm *c) {
    const char *dense = getenv("AISLE_DIST_DENSE_SUM");
    return (dist_grad_sum){.c = c, .dense = dense && strcmp(dense, "1") == 0};
}

/* Grows g's scratch to at least n floats (doubling up to cap, so a
 * touched-row count that creeps up reallocates a few times only);
 * agreed (n and cap are the same on every rank). */
static int grad_scratch(dist_grad_sum *g, size_t n, size_t cap) {
    int rc = AISLE_OK;
    if (g->scratch_n < n) {
        size_t want = CORE_MAX(n, CORE_MIN(2 * g->scratch_n, cap));
        core_free(g->scratch);
        g->scratch_n = 0;
        if (!(g->scratch = core_malloc(want * sizeof *g->scratch))) rc = core_oom("gradient sum");
        else g->scratch_n = want;
        rc = dist_agree(g->c, rc);
    }
    return rc;
}

static void copy_run(float *grad, float *packed, size_t len, bool to_packed) {
    if (!packed || !len) return;
    if (to_packed) memcpy(packed, grad, len * sizeof *grad);
    else memcpy(grad, packed, len * sizeof *grad);
}

/* Copies grad's values before the table, its touched rows (runs of them
 * at once) and the values after it to packed (to_packed) or back from it;
 * returns the packed length (packed NULL: only counts). */
static size_t pack_rows(float *grad, size_t n, const unsigned char *touched, size_t n_rows, nn_lazy_rows rows,
                        float *packed, bool to_packed) {
    size_t w = rows.width, end = rows.off + n_rows * w, k = rows.off;
    copy_run(grad, packed, rows.off, to_packed);
    for (size_t r = 0; r < n_rows;) {
        if (!touched[r]) {
            r++;
            continue;
        }
        size_t r0 = r;
        while (r < n_rows && touched[r]) r++;
        copy_run(grad + rows.off + r0 * w, packed ? packed + k : NULL, (r - r0) * w, to_packed);
        k += (r - r0) * w;
    }
    copy_run(grad + end, packed ? packed + k : NULL, n - end, to_packed);
    return k + (n - end);
}

/* The loss sums in rank order, so every rank reports the same (all:
 * room for size x n_sums doubles). */
static int gather_sums(dist_comm *c, double *sums, size_t n_sums, double *all) {
    int m = MPI_Allgather(sums, (int)n_sums, MPI_DOUBLE, all, (int)n_sums, MPI_DOUBLE, c->comm);
    if (m != MPI_SUCCESS) return dist_mpi_error(m, "gathering losses");
    c->bytes_sent += sizeof(double) * (double)n_sums * (double)(c->size - 1);
    for (size_t k = 0; k < n_sums; k++) {
        sums[k] = 0;
        for (int r = 0; r < c->size; r++) sums[k] += all[(size_t)r * n_sums + k];
    }
    return AISLE_OK;
}

int dist_grad_sum_run(dist_grad_sum *g, float *const *grads, const size_t *n, size_t n_grads,
                      unsigned char *touched, size_t n_touched, nn_lazy_rows rows, double *sums, size_t n_sums) {
    dist_comm *c = g->c;
    size_t p = (size_t)c->size;
    /* opens every exchange: a rank that failed since the last one (in a
     * step, in validation, cancelled) is met here */
    int rc = dist_agree(c, AISLE_OK);
    bool sparse = touched && rows.width && n_grads && !g->dense && p > 1;
    if (!rc && sparse && (rows.off > n[0] || n_touched > (n[0] - rows.off) / rows.width))
        rc = core_error(AISLE_EINVAL, "gradient sum: %zu rows of %zu from %zu pass its %zu values", n_touched,
                        rows.width, rows.off, n[0]); /* the same on every rank */
    if (rc) {
        g->agreed = 1;
        return rc;
    }
    /* the flags first: the or-ed ones say which rows every rank packs */
    if (touched) rc = dist_or_bytes(c, touched, n_touched);
    size_t packed = sparse ? pack_rows(grads[0], n[0], touched, n_touched, rows, NULL, true) : 0;
    if (!rc) {
        size_t need = 2 * p * n_sums, cap = need; /* the gathered sums, as doubles */
        for (size_t k = 0; k < n_grads; k++) {
            need = CORE_MAX(need, (k == 0 && sparse ? 2 * packed : n[k]) + p);
            cap = CORE_MAX(cap, (k == 0 && sparse ? 2 * n[0] : n[k]) + p);
        }
        rc = grad_scratch(g, need, cap);
        if (rc) {
            g->agreed = 1;
            return rc;
        }
    }
    for (size_t k = 0; k < n_grads && !rc; k++) {
        if (k > 0 || !sparse) {
            rc = dist_sum_ordered(c, grads[k], n[k], g->scratch);
            continue;
        }
        /* packed into the scratch's head; dist_sum_ordered's own after it */
        pack_rows(grads[0], n[0], touched, n_touched, rows, g->scratch, true);
        rc = dist_sum_ordered(c, g->scratch, packed, g->scratch + packed);
        if (!rc) pack_rows(grads[0], n[0], touched, n_touched, rows, g->scratch, false);
    }
    /* the scratch is free again after the gradient sums */
    if (!rc && p > 1 && n_sums) rc = gather_sums(c, sums, n_sums, (double *)g->scratch);
    rc = dist_agree(c, rc);
    if (rc) g->agreed = 1;
    return rc;
}

void dist_grad_sum_free(dist_grad_sum *g) {
    core_free(g->scratch);
    g->scratch = NULL;
    g->scratch_n = 0;
}
