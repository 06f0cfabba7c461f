/* bpr.c - data-parallel BPR: every rank holds the whole dataset
 * (dist_gather_dataset) and a replica of the factors; each epoch's samples
 * -- exactly one process's, drawn in chunks with a random stream per
 * chunk -- are split over the ranks by chunk, each rank runs its share of
 * SGD on its replica, and at the end of the epoch the ranks' changes are
 * summed (factors = start + sum over ranks of (rank's factors - start),
 * in rank order, so every replica gets the same bits).
 *
 * Summing changes rather than averaging factors keeps each sample's step
 * at the one-process learning rate: a row only one rank touched moves as
 * it would in one process; rows several ranks touched add their moves,
 * each computed from the epoch's starting factors instead of the latest
 * ones (the staleness of one epoch that Hogwild-style and model-averaging
 * schemes trade for no communication inside the epoch).  One rank is the
 * one-process computation bit for bit; docs/SCALING.md measures the
 * effect on convergence at 2 and 3 ranks. */
#include "dist.h"

#include <string.h>

typedef struct sgd_dp {
    dist_comm *c;
    float *start, *change, *scratch; /* (n_user + n_item) floats; scratch + size */
    size_t n;
    int agreed;
    double bytes0; /* sent before the first epoch (the dataset's gather) */
} sgd_dp;

static int dp_fail(sgd_dp *dp, int rc) {
    if (rc) dp->agreed = 1;
    return rc;
}

static int sgd_begin(void *ctx, const float *user, size_t n_user, const float *item, size_t n_item, size_t n,
                     size_t grain, size_t *lo, size_t *hi) {
    sgd_dp *dp = ctx;
    dist_comm *c = dp->c;
    int rc = dist_agree(c, AISLE_OK); /* meets a rank that failed since the last epoch */
    if (rc) return dp_fail(dp, rc);
    if (!dp->start) {
        dp->bytes0 = c->bytes_sent;
        dp->n = n_user + n_item;
        dp->start = core_malloc((dp->n + 1) * sizeof *dp->start);
        dp->change = core_malloc((dp->n + 1) * sizeof *dp->change);
        dp->scratch = core_malloc((dp->n + (size_t)c->size) * sizeof *dp->scratch);
        if (!dp->start || !dp->change || !dp->scratch) rc = core_oom("distributed sgd");
        if ((rc = dist_agree(c, rc))) return dp_fail(dp, rc);
    }
    memcpy(dp->start, user, n_user * sizeof *user);
    memcpy(dp->start + n_user, item, n_item * sizeof *item);
    size_t chunks = (n + grain - 1) / grain, p = (size_t)c->size, r = (size_t)c->rank;
    *lo = CORE_MIN(n, chunks * r / p * grain);
    *hi = CORE_MIN(n, chunks * (r + 1) / p * grain);
    return AISLE_OK;
}

static int sgd_end(void *ctx, float *user, size_t n_user, float *item, size_t n_item, double *loss_sum) {
    sgd_dp *dp = ctx;
    dist_comm *c = dp->c;
    int rc = dist_agree(c, AISLE_OK);
    if (rc) return dp_fail(dp, rc);
    if (c->size == 1) return AISLE_OK; /* the one-process factors as they are */
    for (size_t k = 0; k < n_user; k++) dp->change[k] = user[k] - dp->start[k];
    for (size_t k = 0; k < n_item; k++) dp->change[n_user + k] = item[k] - dp->start[n_user + k];
    rc = dist_sum_ordered(c, dp->change, dp->n, dp->scratch);
    if (!rc) {
        for (size_t k = 0; k < n_user; k++) user[k] = dp->start[k] + dp->change[k];
        for (size_t k = 0; k < n_item; k++) item[k] = dp->start[n_user + k] + dp->change[n_user + k];
        rc = dist_allreduce_d(c, loss_sum, 1);
    }
    return dp_fail(dp, dist_agree(c, rc));
}

typedef struct bpr_job {
    sgd_dp dp;
    const aisle_config *cfg;
    dist_ckpt ck;
} bpr_job;

static int bpr_replica(void *ctx, aisle_model *m, const aisle_dataset *ds, core_progress *prog) {
    bpr_job *job = ctx;
    /* the state is both factor matrices (bpr.c); an epoch's samples are
     * a function of (seed, epoch, chunk), so no random state is stored */
    static const char *const not_fingerprinted[] = {"epochs", NULL};
    if (job->ck.path) dist_ckpt_replica(&job->ck, m, not_fingerprinted);
    model_sgd_hook hook = {sgd_begin, sgd_end, &job->dp, job->ck.path ? &job->ck.hook : NULL};
    return model_bpr_train_hooked(m, ds, NULL, job->cfg, prog, &hook);
}

int dist_bpr_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out) {
    dist_comm *c = &d->comm;
    bpr_job job = {.dp = {.c = c}, .cfg = cfg};
    int epochs = (int)config_int(cfg, model_find_kind("bpr")->options, "epochs");
    dist_ckpt_init(&job.ck, c, cfg, checkpoint, every, "bpr", &job.dp.agreed);
    job.ck.max_done = (uint64_t)epochs;
    int rc = dist_replica_train(d, cfg, "bpr", bpr_replica, &job, &job.dp.agreed, out);
    if (job.dp.start) d->epoch_bytes = (c->bytes_sent - job.dp.bytes0) / epochs;
    core_free(job.dp.start);
    core_free(job.dp.change);
    core_free(job.dp.scratch);
    return rc;
}
