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
 * Checkpoints (docs/SCALING.md "Checkpoint and restart"): after every
 * epoch (pre-training and fine-tuning epochs counted together) rank 0
 * writes the stage's state -- the classifier's weights, AdamW moments and
 * step count, and in pre-training the masked-token head's too -- through
 * src/dist/checkpoint.c; nn_ckpt_hook (src/nn/nn.h) says why that is all
 * the next epoch depends on.  The layout depends on the stage, so a
 * resume first peeks at the file's epoch count: a fine-tuning checkpoint
 * skips pre-training, whose result it holds.  The fingerprint: the texts
 * and labels, every option of the intent kind and its architecture, the
 * seed and the rank count (the gradient's sum is rounded per rank, so the
 * bits depend on it).
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
    dist_ckpt ck;
    uint64_t pretrain_epochs, epochs; /* P, and P + fine-tuning epochs */
    uint64_t found;                   /* the checkpoint's epochs, peeked at the first resume */
    bool peeked;
    uint64_t steps[2];                /* the stores' step counts, as saved */
    model_ckpt_part parts[7];
} text_job;

/* Rank r's texts of a step's n: [r n / P, (r + 1) n / P). */
static void text_slice(void *ctx, size_t n, size_t *lo, size_t *hi) {
    const text_job *job = ctx;
    size_t p = (size_t)job->c.size, r = (size_t)job->c.rank;
    *lo = n * r / p;
    *hi = n * (r + 1) / p;
}

static int text_reduce(void *ctx, float *const *grads, const size_t *n, size_t n_grads, unsigned char *touched,
                       size_t n_touched, nn_lazy_rows rows, double *sums, size_t n_sums) {
    text_job *job = ctx;
    return dist_grad_sum_run(&job->sum, grads, n, n_grads, touched, n_touched, rows, sums, n_sums);
}

/* Called after every epoch on every rank (step = epochs done): the kill
 * test hook for the next epoch, then rank 0's callback. */
static int text_progress(void *user, int step, int steps, double loss, double metric, double elapsed) {
    text_job *job = user;
    (void)elapsed;
    dist_kill_hook(job->c.rank, step + 1);
    return core_progress_report(&job->user, step, steps, loss, metric) ? 1 : 0;
}

/* The parts of a stage's state: each store's weights and moments (the
 * classifier's, then in pre-training the masked-token head's), then
 * their step counts.  Returns how many. */
static size_t stage_parts(text_job *job, nn_store *const *stores, size_t n) {
    static const char *const names[2][3] = {{"weights", "adam_m", "adam_v"},
                                            {"mlm_weights", "mlm_adam_m", "mlm_adam_v"}};
    size_t k = 0;
    for (size_t s = 0; s < n && s < 2; s++) {
        float *arrays[3] = {stores[s]->w, stores[s]->m, stores[s]->v};
        job->steps[s] = (uint64_t)stores[s]->step;
        for (int a = 0; a < 3; a++) job->parts[k++] = (model_ckpt_part){names[s][a], arrays[a], stores[s]->n, 4};
    }
    job->parts[k++] = (model_ckpt_part){"steps", job->steps, CORE_MIN(n, (size_t)2), 8};
    return k;
}

/* nn_ckpt_hook.resume: the first call peeks at the checkpoint's epoch
 * count; a stage loads it when the count falls in the stage.
 * Pre-training before a fine-tuning checkpoint is skipped whole (the
 * checkpoint holds its result), and fine-tuning after a pre-training one
 * starts afresh from the weights pre-training left. */
static int text_resume(void *ctx, int stage, nn_store *const *stores, size_t n, int *done) {
    text_job *job = ctx;
    size_t n_parts = stage_parts(job, stores, n);
    model_ckpt ck = {job->ck.kind, job->ck.fields, job->ck.n_fields, job->parts, n_parts};
    *done = 0;
    int rc = AISLE_OK;
    if (!job->peeked) rc = dist_ckpt_peek(&job->ck, model_ckpt_max_bytes(&ck), &job->found);
    job->peeked = true;
    uint64_t P = job->pretrain_epochs, first = stage ? P : 0;
    if (rc || job->found == 0 || (stage == 1 && job->found <= P)) return rc;
    if (stage == 0 && job->found > P) {
        *done = (int)P;
        return AISLE_OK;
    }
    job->ck.max_done = stage ? job->epochs : P;
    uint64_t got = 0;
    rc = dist_ckpt_load(&job->ck, job->parts, n_parts, &got);
    /* every rank has rank 0's count: they agree */
    if (!rc && got != job->found)
        rc = core_error(AISLE_EFORMAT, "checkpoint %s changed while it was read (epoch %llu, then %llu)", job->ck.path,
                        (unsigned long long)job->found, (unsigned long long)got);
    if (rc) return rc;
    for (size_t s = 0; s < n && s < 2; s++) stores[s]->step = (int64_t)job->steps[s];
    *done = (int)(got - first);
    return AISLE_OK;
}

/* nn_ckpt_hook.save: after epoch `done` of a stage. */
static int text_save(void *ctx, int stage, nn_store *const *stores, size_t n, int done) {
    text_job *job = ctx;
    size_t n_parts = stage_parts(job, stores, n);
    uint64_t total = (stage ? job->pretrain_epochs : 0) + (uint64_t)done;
    return dist_ckpt_store(&job->ck, job->parts, n_parts, total, total == job->epochs);
}

/* model_ckpt_hash of the corpus: every text with its label's name, in order. */
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

/* The fingerprint and the epoch counts of a checkpointed run (cfg: the
 * run's options, already agreed to be the same on every rank).  An
 * unknown architecture or one without data-parallel training adds no
 * options: training refuses it before any checkpoint is read. */
static void text_fingerprint(text_job *job, const aisle_texts *t, const aisle_config *cfg) {
    dist_ckpt *k = &job->ck;
    dist_ckpt_field(k, "ranks", (uint64_t)job->c.size);
    dist_ckpt_field(k, "texts", corpus_hash(t));
    dist_ckpt_table(k, text_options, NULL);
    dist_ckpt_seed(k);
    const text_arch_ops *arch = text_arch_find(config_string(cfg, text_options, "architecture"));
    if (!arch || !arch->train_dp) return;
    dist_ckpt_table(k, arch->options, NULL);
    job->pretrain_epochs = (uint64_t)config_int(cfg, arch->options, "pretrain_epochs");
    job->epochs = job->pretrain_epochs + (uint64_t)config_int(cfg, arch->options, "epochs");
}

int dist_text_train(const aisle_texts *t, const aisle_config *cfg, const char *checkpoint, int every,
                    aisle_model **out, double *bytes) {
    text_job job;
    memset(&job, 0, sizeof job);
    if (bytes) *bytes = 0;
    int rc = dist_comm_world(&job.c);
    if (rc) return rc;
    job.sum = dist_grad_sum_init(&job.c);
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
    nn_ckpt_hook ckpt = {text_resume, text_save, &job};
    if (!rc && checkpoint) {
        dist_ckpt_init(&job.ck, &job.c, own, checkpoint, every, "intent", &job.sum.agreed);
        text_fingerprint(&job, t, own);
    }
    if (!rc) {
        nn_dp_hook hook = {text_slice, text_reduce, &job, checkpoint ? &ckpt : NULL};
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
