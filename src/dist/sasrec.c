/* sasrec.c - synchronous data-parallel SASRec (docs/SCALING.md).
 *
 * Every rank holds the whole dataset (dist_gather_dataset: the sequences
 * are what every step samples from, and the model keeps each user's
 * window anyway) and a full replica of the network.  Each optimizer step
 * takes the same global batch as one process, computed in the same shards
 * (sasrec_train.c: each shard draws its negatives and dropout masks from a
 * stream of its own), and each rank computes a contiguous range of the
 * step's shards.  The ranks' gradients are summed in a fixed order
 * (dist_sum_ordered: rank 0's plus rank 1's ...), the rows of the lazily
 * updated item table that any rank touched are or-ed, the losses summed,
 * and every rank applies the same AdamW update to the same bits, so the
 * replicas never drift apart and validation, early stopping and refit
 * decide the same on every rank.
 *
 * Against one process at the same batch size the only difference is the
 * order of summing the gradient over the shards: per rank, then over
 * ranks.  At one rank it is the one-process computation bit for bit; at
 * more, parameters agree to float rounding carried through the steps
 * (tests/mpi/test_dist.c measures and bounds it).  Dropout masks are the
 * one-process masks too (they belong to the shard, not the rank).
 *
 * Failures: a rank's error inside a step, or anywhere in training,
 * reaches the others through the agreement that opens every step's
 * exchange, or through the one each rank makes when training returns. */
#include "dist.h"

#include <string.h>

typedef struct sasrec_dp {
    dist_comm *c;
    dist_grad_sum sum;
    core_progress user; /* rank 0's callback */
    double epoch_bytes0, *epoch_bytes;
} sasrec_dp;

/* Rank r's part of a step's S shards: [r S / P, (r + 1) S / P). */
static void dp_slice(void *ctx, size_t shards, size_t *lo, size_t *hi) {
    const sasrec_dp *dp = ctx;
    size_t p = (size_t)dp->c->size, r = (size_t)dp->c->rank;
    *lo = shards * r / p;
    *hi = shards * (r + 1) / p;
}

static int dp_reduce(void *ctx, float *grad, size_t n, unsigned char *touched, size_t n_touched, nn_lazy_rows rows,
                     double *loss_sum) {
    sasrec_dp *dp = ctx;
    return dist_grad_sum_run(&dp->sum, &grad, &n, 1, touched, n_touched, rows, loss_sum, 1);
}

/* Progress on every rank: counts each epoch's traffic; rank 0 also calls
 * the caller's callback. */
static int dp_progress(void *user, int step, int steps, double loss, double metric, double elapsed) {
    sasrec_dp *dp = user;
    (void)elapsed;
    *dp->epoch_bytes = dp->c->bytes_sent - dp->epoch_bytes0;
    dp->epoch_bytes0 = dp->c->bytes_sent;
    if (core_progress_report(&dp->user, step, steps, loss, metric)) return 1;
    return 0;
}

typedef struct sasrec_job {
    sasrec_dp dp;
    const aisle_config *cfg;
    dist_ckpt ck;
} sasrec_job;

/* The sasrec fingerprint: the replica fields, the sequences the steps
 * sample from, and epochs when the learning-rate schedule is planned
 * over them (a decay or a warm-up fraction of the planned steps). */
static int sasrec_fingerprint(sasrec_job *job, const aisle_model *m, const aisle_dataset *ds) {
    const option_spec *o = m->ops->options;
    bool planned = strcmp(config_string(job->cfg, o, "lr_schedule"), "none") != 0 ||
                   config_float(job->cfg, o, "warmup") > 0;
    static const char *const not_fingerprinted[] = {"epochs", NULL};
    dist_ckpt_replica(&job->ck, m, planned ? NULL : not_fingerprinted);
    const data_seq *seq;
    int rc = data_sequences(ds, &seq);
    if (rc) return rc;
    uint64_t h = model_ckpt_hash(0xcbf29ce484222325ull, seq->indptr, ((size_t)seq->users + 1) * sizeof *seq->indptr);
    h = model_ckpt_hash(h, seq->items, seq->n * sizeof *seq->items);
    dist_ckpt_field(&job->ck, "sequences", model_ckpt_hash(h, seq->types, seq->n * sizeof *seq->types));
    /* both phases (epochs, then a refit of at most as many) */
    job->ck.max_done = 2 * (uint64_t)config_int(job->cfg, o, "epochs");
    return AISLE_OK;
}

static int sasrec_replica(void *ctx, aisle_model *m, const aisle_dataset *ds, core_progress *user) {
    sasrec_job *job = ctx;
    sasrec_dp *dp = &job->dp;
    dp->user = *user;
    dp->epoch_bytes0 = dp->c->bytes_sent; /* after the dataset's gather */
    core_progress prog = {dp_progress, dp, user->start};
    int rc = job->ck.path ? sasrec_fingerprint(job, m, ds) : AISLE_OK;
    if (rc) return rc;
    model_sasrec_hook hook = {dp_slice, dp_reduce, dp, job->ck.path ? &job->ck.hook : NULL};
    return model_sasrec_train_hooked(m, ds, NULL, job->cfg, &prog, &hook);
}

int dist_sasrec_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every,
                      aisle_model **out) {
    dist_comm *c = &d->comm;
    sasrec_job job = {.dp = {.c = c, .sum = dist_grad_sum_init(c), .epoch_bytes = &d->epoch_bytes}, .cfg = cfg};
    dist_ckpt_init(&job.ck, c, cfg, checkpoint, every, "sasrec", &job.dp.sum.agreed);
    int rc = dist_replica_train(d, cfg, "sasrec", sasrec_replica, &job, &job.dp.sum.agreed, out);
    dist_grad_sum_free(&job.dp.sum);
    return rc;
}
