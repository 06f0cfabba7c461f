/* text.c - synchronous data-parallel training of the intent kind's
 * transformer (docs/SCALING.md, "Text encoder").
 *
 * Data: every rank holds the whole corpus (each loads the same file: a
 * labelled corpus is small next to an event log -- a million short texts
 * are a few hundred MB -- and every rank needs the same calibration split,
 * label dictionary and bucket rows, which depend on all of it).  A hash of
 * the texts and labels is compared first, so ranks that loaded different
 * files fail together instead of training different models.
 *
 * Work: slicing by example.  Each optimizer step takes the one-process
 * global batch (batch_size texts, the same shuffled order on every rank);
 * rank r of P computes texts [rB/P, (r+1)B/P) of it (nn.h nn_dp_hook,
 * src/nn/encoder_train.c), the gradients are summed in rank order
 * (dist_grad_sum_run), the embedding rows any rank touched are or-ed for
 * the lazy AdamW update, and every rank applies the same step to the same
 * bits.  A text's masked tokens and dropout masks are keyed by (seed,
 * stage, step, text), not drawn from a stream that runs through the
 * batch, so they are the one-process ones whichever rank computes the
 * text.  Everything else -- the calibration split, pre-training pile,
 * bucket rows, calibration -- runs replicated and decides the same on
 * every rank; rank 0 returns the model.
 *
 * Failures: the agreement that opens every step's sum meets a rank that
 * failed or left training (an allocation, rank 0's progress callback
 * cancelling); after training every rank agrees once more unless a step's
 * agreement already failed them all.  A killed rank ends the job (mpirun);
 * the test hook AISLE_DIST_KILL=R:E kills rank R when epoch E starts
 * (pre-training and fine-tuning epochs counted together). */
#include "dist.h"
#include "nn/nn.h"
#include "text/text.h"

#include <string.h>

typedef struct text_job {
    dist_comm c;
    dist_grad_sum sum;
    core_progress user; /* the caller's callback, rank 0 only */
} text_job;

/* Rank r's texts of a step's n: [r n / P, (r + 1) n / P). */
static void text_slice(void *ctx, size_t n, size_t *lo, size_t *hi) {
    const text_job *job = ctx;
    size_t p = (size_t)job->c.size, r = (size_t)job->c.rank;
    *lo = n * r / p;
    *hi = n * (r + 1) / p;
}

static int text_reduce(void *ctx, float *const *grads, const size_t *n, size_t n_grads, unsigned char *touched,
                       size_t n_touched, double *sums, size_t n_sums) {
    text_job *job = ctx;
    return dist_grad_sum_run(&job->sum, grads, n, n_grads, touched, n_touched, sums, n_sums);
}

/* Called after every epoch on every rank (step = epochs done): the kill
 * test hook for the next epoch, then rank 0's callback. */
static int text_progress(void *user, int step, int steps, double loss, double metric, double elapsed) {
    text_job *job = user;
    (void)elapsed;
    dist_kill_hook(job->c.rank, step + 1);
    return core_progress_report(&job->user, step, steps, loss, metric) ? 1 : 0;
}

/* FNV-1a of the corpus: every text with its label's name, in order. */
static uint64_t corpus_hash(const aisle_texts *t) {
    uint64_t h = model_ckpt_hash(0xcbf29ce484222325ull, &t->n, sizeof t->n);
    for (size_t i = 0; i < t->n; i++) {
        const char *label = keys_at(&t->labels, t->label[i]);
        h = model_ckpt_hash(h, text_at(t, i), (size_t)t->len[i] + 1);
        h = model_ckpt_hash(h, label, strlen(label) + 1);
    }
    return h;
}

/* Collective: AISLE_OK when every rank holds rank 0's corpus, else the
 * same error on every rank naming the first that does not. */
static int same_corpus(dist_comm *c, const aisle_texts *t) {
    uint64_t h = corpus_hash(t), *all = NULL;
    size_t total = 0;
    int rc = dist_agree(c, dist_allgather_bytes(c, &h, sizeof h, (void **)&all, &total));
    for (int r = 1; !rc && r < c->size; r++)
        if (all[r] != all[0])
            rc = core_error(AISLE_EINVAL, "rank %d holds other texts than rank 0 (every rank must load the same "
                            "corpus)", r);
    core_free(all);
    return rc;
}

int dist_text_train(const aisle_texts *t, const aisle_config *cfg, aisle_model **out, double *bytes) {
    text_job job;
    memset(&job, 0, sizeof job);
    if (bytes) *bytes = 0;
    int rc = dist_comm_world(&job.c);
    if (rc) return rc;
    job.sum.c = &job.c;
    /* a rank whose corpus failed to load passes NULL and fails every rank
     * here, instead of leaving them waiting in a step */
    rc = t ? AISLE_OK : core_error(AISLE_EINVAL, "aisle_dist_text_train: NULL texts");
    if (!rc && config_string(cfg, text_options, "teacher")[0])
        rc = core_error(AISLE_EUNSUPPORTED, "option teacher: distillation does not train distributed yet "
                        "(train the student in one process)");
    rc = dist_agree(&job.c, rc);
    if (!rc) rc = same_corpus(&job.c, t);
    if (rc) return rc;
    aisle_config *own = NULL;
    rc = cfg ? aisle_config_copy(cfg, &own) : aisle_config_new(&own);
    if (!rc) {
        core_progress_init(&job.user, job.c.rank == 0 ? cfg : NULL);
        rc = aisle_config_set_progress(own, text_progress, &job);
    }
    aisle_model *m = NULL;
    if (!rc) {
        nn_dp_hook hook = {text_slice, text_reduce, &job};
        /* no option tables: they serve only a teacher's file, refused above */
        rc = model_text_train_hooked(t, own, NULL, &hook, &m);
    }
    /* the closing agreement, unless a failed one inside training already
     * ended every rank's */
    if (!job.sum.agreed) rc = dist_agree(&job.c, rc);
    aisle_config_free(own);
    dist_grad_sum_free(&job.sum);
    if (bytes) *bytes = job.c.bytes_sent;
    if (!rc && job.c.rank == 0) *out = m; /* its config has no callback (model_text_train_hooked) */
    else aisle_model_free(m);
    return rc;
}
