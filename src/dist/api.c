/* api.c - the public calls of libaisle_mpi (include/aisle_mpi.h). */
#include "dist.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

/* Whether aisle_dist_init started MPI (then aisle_dist_finalize ends it).
 * Process-wide by nature: MPI itself is initialised once per process. */
static int started_here;

AISLE_API int aisle_dist_init(int *argc, char ***argv) {
    int up = 0, provided = 0;
    MPI_Initialized(&up);
    if (up) return AISLE_OK;
    int m = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    if (m != MPI_SUCCESS) return core_error(AISLE_EIO, "MPI_Init_thread failed (status %d)", m);
    started_here = 1;
    return AISLE_OK;
}

AISLE_API int aisle_dist_finalize(void) {
    int down = 0;
    MPI_Finalized(&down);
    if (!started_here || down) return AISLE_OK;
    started_here = 0;
    int m = MPI_Finalize();
    return m == MPI_SUCCESS ? AISLE_OK : core_error(AISLE_EIO, "MPI_Finalize failed (status %d)", m);
}

AISLE_API int aisle_dist_rank(int *rank, int *size) {
    dist_comm c;
    int rc = dist_comm_world(&c);
    if (rc) return rc;
    if (rank) *rank = c.rank;
    if (size) *size = c.size;
    return AISLE_OK;
}

AISLE_API int aisle_dist_train(const aisle_dist_data *cd, const aisle_config *cfg, const char *checkpoint,
                               int checkpoint_every, aisle_model **out) {
    if (!cd || !out) return core_error(AISLE_EINVAL, "aisle_dist_train: NULL data or out");
    *out = NULL;
    aisle_dist_data *d = (aisle_dist_data *)cd; /* only its traffic counters change */
    /* every check below gives the same answer on every rank (same
     * options, same merged dictionaries) */
    const char *kind = config_string(cfg, NULL, "model");
    const model_ops *ops = model_find_kind(kind);
    if (!ops) return core_error(AISLE_ENOTFOUND, "unknown model kind '%s'", kind);
    bool als = strcmp(ops->name, "als") == 0, sasrec = strcmp(ops->name, "sasrec") == 0,
         bpr = strcmp(ops->name, "bpr") == 0, mf = strcmp(ops->name, "mf") == 0;
    if (!als && !sasrec && !bpr && !mf)
        return core_error(AISLE_EUNSUPPORTED,
                          "distributed training supports models als, bpr, mf and sasrec, not '%s' (docs/SCALING.md)",
                          ops->name);
    char what[64];
    snprintf(what, sizeof what, "model '%s'", ops->name);
    int rc = config_check(cfg, ops->options, what);
    if (rc) return rc;
    if (checkpoint_every < 0) return core_error(AISLE_EINVAL, "checkpoint_every %d: must be >= 0", checkpoint_every);
    if (d->users.n == 0 || d->items.n == 0)
        return core_error(AISLE_EINVAL, "cannot train model '%s' on an empty dataset", ops->name);
    int64_t blas_threads = config_int(cfg, NULL, "blas_threads");
    if (blas_threads > 0) openblas_set_num_threads((int)blas_threads);
    d->train_bytes = d->epoch_bytes = 0;
    if (!als) {
        double bytes0 = d->comm.bytes_sent;
        rc = sasrec ? dist_sasrec_train(d, cfg, checkpoint, checkpoint_every, out)
             : bpr  ? dist_bpr_train(d, cfg, checkpoint, checkpoint_every, out)
                    : dist_mf_train(d, cfg, checkpoint, checkpoint_every, out);
        d->train_bytes = d->comm.bytes_sent - bytes0;
        return rc;
    }
    return dist_als_train(d, cfg, checkpoint, checkpoint_every, out);
}

AISLE_API int aisle_dist_text_train(const aisle_texts *t, const aisle_config *cfg, aisle_model **out,
                                    double *bytes_sent) {
    return aisle_dist_text_train_checkpointed(t, cfg, NULL, 0, out, bytes_sent);
}

AISLE_API int aisle_dist_text_train_checkpointed(const aisle_texts *t, const aisle_config *cfg, const char *checkpoint,
                                                 int checkpoint_every, aisle_model **out, double *bytes_sent) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_dist_text_train: NULL out");
    *out = NULL;
    if (bytes_sent) *bytes_sent = 0;
    /* the same on every rank: the caller's arguments */
    if (checkpoint_every < 0) return core_error(AISLE_EINVAL, "checkpoint_every %d: must be >= 0", checkpoint_every);
    return dist_text_train(t, cfg, checkpoint, checkpoint_every, out, bytes_sent);
}

AISLE_API int aisle_dist_train_bytes(const aisle_dist_data *d, double *total, double *per_epoch) {
    if (!d) return core_error(AISLE_EINVAL, "aisle_dist_train_bytes: NULL data");
    if (total) *total = d->train_bytes;
    if (per_epoch) *per_epoch = d->epoch_bytes;
    return AISLE_OK;
}
