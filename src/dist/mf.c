/* mf.c - MF by DSGD block rotation (Gemulla et al., KDD 2011), the
 * distributed form of the FPSG grid mf trains on in one process.  Every
 * rank holds the whole dataset (dist_gather_dataset) and a replica of mf's
 * training parameters, so it shuffles, permutes and initialises exactly as
 * one process does.  Users and items (in that permuted order) are cut into
 * P blocks; rank r owns user block r.  An epoch is P sub-epochs: in
 * sub-epoch s rank r runs SGD (FPSG over its threads) on its ratings of
 * item block (r + s) mod P, then passes that item block -- rows and biases
 * -- to rank r - 1 and receives the next from rank r + 1
 * (models/mf_dsgd.c, hook model_mf_hook).  No two ranks touch the same
 * parameters in a sub-epoch, so the epoch is one serial SGD pass in a
 * stratified order: no staleness, no averaging.
 *
 * Why not periodic averaging (what bpr does): averaging (or summing
 * changes) lets every rank move the same item rows from the same start in
 * an epoch, which delays convergence by about an epoch per extra rank
 * (docs/SCALING.md, bpr); DSGD's passes cost I (d + 1) 4 bytes per rank
 * per epoch whatever P is, less than a sum of the factors.
 *
 * After the epoch every rank receives the others' user and item blocks
 * (all-gathers), so validation RMSE, early stopping and SVD++'s y update
 * (which needs every user's accumulated gradient) run replicated and
 * decide the same on every rank.  One rank is the one-process computation
 * bit for bit. */
#include "dist.h"

typedef struct mf_job {
    dist_comm *c;
    const aisle_config *cfg;
    size_t *counts; /* per rank, floats of the all-gathers */
    int agreed, epochs;
    double bytes0; /* sent before the first epoch (the dataset's gather) */
    dist_ckpt ck;
} mf_job;

static int job_fail(mf_job *job, int rc) {
    if (rc) job->agreed = 1;
    return rc;
}

/* Agrees first (meets a rank that failed since the last call), then sets
 * up the counts on the first call. */
static int job_enter(mf_job *job) {
    dist_comm *c = job->c;
    int rc = dist_agree(c, AISLE_OK);
    if (rc || job->counts) return rc;
    job->bytes0 = c->bytes_sent;
    if (!(job->counts = core_malloc((size_t)c->size * sizeof *job->counts))) rc = core_oom("distributed mf");
    return dist_agree(c, rc);
}

static int mf_pass(void *ctx, const model_mf_arena *a, int sub) {
    mf_job *job = ctx;
    dist_comm *c = job->c;
    int rc = job_enter(job);
    if (rc || c->size == 1) return job_fail(job, rc);
    int p = c->size, b = (c->rank + sub) % p, next = (b + 1) % p;
    int to = (c->rank + p - 1) % p, from = (c->rank + 1) % p;
    uint32_t lo = dist_lo(a->items, p, b), hi = dist_lo(a->items, p, b + 1);
    uint32_t nlo = dist_lo(a->items, p, next), nhi = dist_lo(a->items, p, next + 1);
    /* the two blocks are disjoint (P > 1), so sending and receiving in
     * place cannot overlap */
    rc = dist_sendrecv_f(c, a->item + lo * a->item_stride, (hi - lo) * a->item_stride, to,
                         a->item + nlo * a->item_stride, (nhi - nlo) * a->item_stride, from);
    if (!rc) rc = dist_sendrecv_f(c, a->item_bias + lo, hi - lo, to, a->item_bias + nlo, nhi - nlo, from);
    return job_fail(job, rc);
}

/* Every rank's block of rows (stride floats each) of a matrix of n rows,
 * all-gathered in place. */
static int gather_blocks(mf_job *job, float *rows, uint32_t n, size_t stride) {
    dist_comm *c = job->c;
    for (int r = 0; r < c->size; r++) job->counts[r] = (dist_lo(n, c->size, r + 1) - dist_lo(n, c->size, r)) * stride;
    return dist_allgather_f(c, rows + dist_lo(n, c->size, c->rank) * stride, job->counts, rows);
}

static int mf_epoch_end(void *ctx, const model_mf_arena *a, double *sse) {
    mf_job *job = ctx;
    dist_comm *c = job->c;
    int rc = job_enter(job);
    if (rc) return job_fail(job, rc);
    job->epochs++;
    if (c->size == 1) return AISLE_OK;
    rc = gather_blocks(job, a->user, a->users, a->user_stride);
    if (!rc) rc = gather_blocks(job, a->user_bias, a->users, 1);
    if (!rc) rc = gather_blocks(job, a->item, a->items, a->item_stride);
    if (!rc) rc = gather_blocks(job, a->item_bias, a->items, 1);
    if (!rc) rc = dist_allreduce_d(c, sse, 1);
    return job_fail(job, dist_agree(c, rc));
}

static int mf_replica(void *ctx, aisle_model *m, const aisle_dataset *ds, core_progress *prog) {
    mf_job *job = ctx;
    /* the state is mf's arena and early-stopping counters (mf.c); the
     * random draws all happen before the first epoch.  threads shapes
     * the FPSG grid, so it is part of the fingerprint */
    static const char *const not_fingerprinted[] = {"epochs", NULL};
    if (job->ck.path) {
        int64_t threads = core_thread_count(config_int(job->cfg, m->ops->options, "threads"));
        dist_ckpt_replica(&job->ck, m, not_fingerprinted);
        dist_ckpt_field(&job->ck, "threads", (uint64_t)threads);
    }
    model_mf_hook hook = {job->c->size, job->c->rank, mf_pass, mf_epoch_end, job, job->ck.path ? &job->ck.hook : NULL};
    return model_mf_train_hooked(m, ds, NULL, job->cfg, prog, &hook);
}

int dist_mf_train(aisle_dist_data *d, const aisle_config *cfg, const char *checkpoint, int every, aisle_model **out) {
    dist_comm *c = &d->comm;
    mf_job job = {.c = c, .cfg = cfg};
    dist_ckpt_init(&job.ck, c, cfg, checkpoint, every, "mf", &job.agreed);
    job.ck.max_done = (uint64_t)config_int(cfg, model_find_kind("mf")->options, "epochs");
    int rc = dist_replica_train(d, cfg, "mf", mf_replica, &job, &job.agreed, out);
    if (job.counts && job.epochs) d->epoch_bytes = (c->bytes_sent - job.bytes0) / job.epochs;
    core_free(job.counts);
    return rc;
}
