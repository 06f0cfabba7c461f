/* replica.c - the frame of the data-parallel kinds (sasrec.c, bpr.c):
 * every rank builds the one-process dataset and model and trains its
 * replica through the kind's hook; rank 0 keeps the model. */
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
