/* replica.c - the frame of the data-parallel kinds (sasrec.c, bpr.c):
 * every rank builds the one-process dataset and model and trains its
 * replica through the kind's hook; rank 0 keeps the model.  Also the
 * per-step gradient sum of the synchronous kinds (sasrec.c, text.c). */
#include "dist.h"

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

/* Grows g's scratch to n floats; agreed (n is the same on every rank). */
static int grad_scratch(dist_grad_sum *g, size_t n) {
    int rc = AISLE_OK;
    if (g->scratch_n < n) { /* the first step */
        core_free(g->scratch);
        g->scratch_n = 0;
        if (!(g->scratch = core_malloc(n * sizeof *g->scratch))) rc = core_oom("gradient sum");
        else g->scratch_n = n;
        rc = dist_agree(g->c, rc);
    }
    return rc;
}

int dist_grad_sum_run(dist_grad_sum *g, float *const *grads, const size_t *n, size_t n_grads,
                      unsigned char *touched, size_t n_touched, double *sums, size_t n_sums) {
    dist_comm *c = g->c;
    /* opens every exchange: a rank that failed since the last one (in a
     * step, in validation, cancelled) is met here */
    int rc = dist_agree(c, AISLE_OK);
    size_t need = 2 * (size_t)c->size * n_sums; /* the gathered sums, as doubles */
    for (size_t k = 0; k < n_grads; k++) need = CORE_MAX(need, n[k] + (size_t)c->size);
    if (!rc) rc = grad_scratch(g, need);
    if (rc) {
        g->agreed = 1;
        return rc;
    }
    for (size_t k = 0; k < n_grads && !rc; k++) rc = dist_sum_ordered(c, grads[k], n[k], g->scratch);
    if (!rc && touched) rc = dist_or_bytes(c, touched, n_touched);
    if (!rc && c->size > 1 && n_sums) {
        /* the sums too in rank order, so every rank reports the same */
        double *all = (double *)g->scratch; /* free again after the gradient sums */
        int m = MPI_Allgather(sums, (int)n_sums, MPI_DOUBLE, all, (int)n_sums, MPI_DOUBLE, c->comm);
        if (m != MPI_SUCCESS) rc = dist_mpi_error(m, "gathering losses");
        if (!rc) {
            c->bytes_sent += sizeof(double) * (double)n_sums * (double)(c->size - 1);
            for (size_t k = 0; k < n_sums; k++) {
                sums[k] = 0;
                for (int r = 0; r < c->size; r++) sums[k] += all[(size_t)r * n_sums + k];
            }
        }
    }
    rc = dist_agree(c, rc);
    if (rc) g->agreed = 1;
    return rc;
}

void dist_grad_sum_free(dist_grad_sum *g) {
    core_free(g->scratch);
    g->scratch = NULL;
    g->scratch_n = 0;
}
