/* sasrec_train.c - the SASRec training loop: sampled negatives per
 * position, BCE or sampled-softmax loss on the shared item embeddings,
 * AdamW (optionally lazy on the embedding rows), NDCG@10 validation on
 * each user's held-out last item with early stopping, and the optional
 * refit on every event for the chosen number of epochs (docs/SASREC.md). */
#include "sasrec.h"

#include <math.h>
#include <string.h>

/* Validation metric: NDCG@10 of the held-out item against this many
 * uniformly sampled items outside the user's history. */
#define SASREC_VAL_NEGATIVES 100

static bool in_history(const data_csr *h, uint32_t user, uint32_t item) {
    size_t lo = h->indptr[user], hi = h->indptr[user + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->indices[mid] == item) return true;
        if (h->indices[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

/* Uniform item outside the user's history (gives up after a few tries on
 * users who saw nearly everything). */
static uint32_t sample_negative(core_rng *r, const data_csr *h, uint32_t user, uint32_t n_items) {
    uint32_t it = 0;
    for (int tries = 0; tries < 20; tries++) {
        it = (uint32_t)rng_below(r, n_items);
        if (!in_history(h, user, it)) break;
    }
    return it;
}

/* A training step splits its batch into shards (SASREC_SHARDS, fewer for
 * small batches): each runs the forward, the loss and the backward of its
 * sequences on its own workspace, random stream and body-gradient buffer,
 * on whichever thread takes it; the shards' gradients are then added in
 * shard order.  The split depends on the batch alone, never on the thread
 * count, so a seed gives a bit-identical model with any `threads`. */
#define SASREC_SHARDS 8

typedef struct sasrec_shard {
    sasrec_ws w;
    sasrec_body body;  /* the network's body, gradients into grad */
    nn_block *blocks;  /* the body's blocks, offsets shifted */
    float *grad;       /* body_n floats */
    float *dx;         /* after the backward: gradient wrt the embedded input */
    size_t first, count; /* the shard's sequences in the current batch */
    size_t base;       /* its first slot in the per-row arrays (first * T) */
    core_rng rng;      /* negatives and dropout */
} sasrec_shard;

typedef struct train_ctx {
    const data_seq *seq;
    const data_csr *hist;
    uint32_t *users; /* trainable users */
    size_t n_users;
    bool holdout;    /* drop each user's last item from training (validation) */
    uint32_t *val_users;
    uint32_t *val_items; /* n_val x (1 + negatives): target first */
    size_t n_val;
    int loss_kind, negatives;
    uint32_t *tgt, *negs; /* B*T, B*T*negatives */
    float *logits, *dlogits; /* rows x (1 + negatives) of the current batch */
    double *row_loss;        /* rows */
    int threads;
    unsigned char *touched; /* item-embedding rows with a gradient this step (the optimizer's row flags) */
    nn_lazy_rows lazy_rows; /* with lazy_adam, the item table in the gradient (for the hook) */
    float id_dropout;       /* side_id_dropout */
    double warmup;          /* warm-up fraction of the planned steps */
    unsigned char *cold;    /* side info: tokens represented by their words only */
    size_t batch;           /* sequences per step */
    sasrec_shard *shards;   /* n_shards, each for up to ceil(batch / n_shards) sequences */
    size_t n_shards;
    size_t body_n;          /* floats of the body's tensors (sasrec_body_size) */
    core_pool *pool;        /* `threads` threads for the whole run */
    const model_sasrec_hook *hook; /* data-parallel training (src/dist), or NULL */
} train_ctx;

/* Training length of user u's sequence (without the held-out item). */
static size_t train_len(const train_ctx *tc, uint32_t u) {
    size_t len = tc->seq->indptr[u + 1] - tc->seq->indptr[u];
    return tc->holdout && len >= 3 ? len - 1 : len;
}

typedef struct step_job {
    const sasrec_net *net;
    train_ctx *tc;
    const uint32_t *users;
    size_t n_shards;   /* of this step */
    size_t lo, hi;     /* the shards this process computes (all without a hook) */
    uint64_t seed;     /* the shards' random streams */
    float inv;         /* 1 / rows: the loss is the mean over positions */
    size_t parts;      /* embedding-gradient partitions (one per thread) */
    size_t gather_tasks; /* parts + body chunks */
} step_job;

/* Shard sh's rows: logits of the target and its negatives, the loss, its
 * gradient wrt the logits (kept for the embedding gradient) and dh. */
static void shard_loss(const step_job *job, sasrec_shard *sh) {
    train_ctx *tc = job->tc;
    size_t d = job->net->d, K = (size_t)tc->negatives;
    const float *E = sasrec_net_emb(job->net);
    for (size_t r = 0; r < sh->w.bt.rows; r++) {
        size_t slot = sh->base + r;
        const float *h = sh->w.fin + r * d;
        float *dh = sh->w.dh + r * d;
        float *logit = tc->logits + slot * (K + 1), *dlogit = tc->dlogits + slot * (K + 1);
        for (size_t j = 0; j <= K; j++)
            logit[j] = sasrec_dot(h, E + (size_t)(j ? tc->negs[slot * K + j - 1] : tc->tgt[slot]) * d, d);
        double loss = 0;
        if (tc->loss_kind == 0)
            for (size_t j = 0; j <= K; j++) loss += nn_bce_logit(logit[j], j == 0, &dlogit[j]);
        else
            loss = nn_softmax_xent(logit, K + 1, 0, dlogit);
        tc->row_loss[slot] = loss;
        memset(dh, 0, d * sizeof *dh);
        for (size_t j = 0; j <= K; j++) {
            float g = dlogit[j] * job->inv;
            const float *e = E + (size_t)(j ? tc->negs[slot * K + j - 1] : tc->tgt[slot]) * d;
            for (size_t k = 0; k < d; k++) dh[k] += g * e[k];
        }
    }
}

/* Shards [begin, end): inputs, targets and negatives, forward, loss and
 * backward into the shard's own buffers. */
static int shard_steps(void *vjob, size_t begin, size_t end, int tid) {
    (void)tid;
    const step_job *job = vjob;
    const sasrec_net *net = job->net;
    train_ctx *tc = job->tc;
    size_t K = (size_t)tc->negatives;
    uint32_t n_items = net->n_tokens - 1;
    for (size_t at = begin; at < end; at++) {
        size_t s = job->lo + at;
        sasrec_shard *sh = &tc->shards[s];
        rng_seed_stream(&sh->rng, job->seed, s);
        for (size_t b = 0; b < sh->count; b++) {
            uint32_t u = job->users[sh->first + b];
            const uint32_t *items = tc->seq->items + tc->seq->indptr[u];
            size_t len = train_len(tc, u);
            /* inputs: items[0..len-1), targets: the item after each input */
            sasrec_ws_add(&sh->w, net, b, items, len - 1);
            size_t slot = sh->base + sh->w.bt.offs[b], take = sh->w.lens[b];
            for (size_t i = 0; i < take; i++) {
                tc->tgt[slot + i] = items[len - take + i] + 1;
                for (size_t k = 0; k < K; k++)
                    tc->negs[(slot + i) * K + k] = sample_negative(&sh->rng, tc->hist, u, n_items) + 1;
            }
        }
        sasrec_ws_close(&sh->w, sh->count);
        int rc = sasrec_body_forward(net, &sh->body, &sh->w, true, &sh->rng);
        if (rc) return rc;
        shard_loss(job, sh);
        memset(sh->grad, 0, tc->body_n * sizeof *sh->grad);
        rc = sasrec_body_backward(net, &sh->body, &sh->w, &sh->dx);
        if (rc) return rc;
    }
    return AISLE_OK;
}

/* Embedding and position gradients of every shard, for the rows of
 * partition `part` of job->parts: of a table's N rows, partition p owns
 * [p N / parts, (p + 1) N / parts) (ranges, so two threads never write one
 * cache line, and the item rows a thread owns here are about those its
 * AdamW chunks update).  Each row is written by one partition, always in
 * the same order (shards, rows, then the input side), so the sums do not
 * depend on the partition count.  The partition also flags the item rows
 * it gives a gradient (tc->touched: the optimizer reads only those). */
static bool owns_row(size_t row, size_t rows, size_t part, size_t parts) { return row * parts / rows == part; }

static void embedding_grads(const step_job *job, size_t part) {
    const sasrec_net *net = job->net;
    const train_ctx *tc = job->tc;
    size_t d = net->d, K = (size_t)tc->negatives, P = job->parts, N = net->n_tokens;
    float *gE = net->n_buckets ? net->geff : nn_g(&net->s, net->item_emb);
    float *gpos = nn_g(&net->s, net->pos_emb);
    unsigned char *touched = tc->touched;
    float scale = sqrtf((float)d);
    for (size_t s = job->lo; s < job->hi; s++) { /* from the loss */
        const sasrec_shard *sh = &tc->shards[s];
        for (size_t r = 0; r < sh->w.bt.rows; r++) {
            size_t slot = sh->base + r;
            const float *h = sh->w.fin + r * d;
            for (size_t j = 0; j <= K; j++) {
                uint32_t tok = j ? tc->negs[slot * K + j - 1] : tc->tgt[slot];
                if (!owns_row(tok, N, part, P)) continue;
                float g = tc->dlogits[slot * (K + 1) + j] * job->inv;
                float *ge = gE + (size_t)tok * d;
                for (size_t k = 0; k < d; k++) ge[k] += g * h[k];
                touched[tok] = 1;
            }
        }
    }
    for (size_t s = job->lo; s < job->hi; s++) { /* from the input */
        const sasrec_shard *sh = &tc->shards[s];
        for (size_t r = 0; r < sh->w.bt.rows; r++) {
            const float *o = sh->dx + r * d;
            uint32_t tok = sh->w.ids[r], pos = sh->w.posi[r];
            if (tok && owns_row(tok, N, part, P)) {
                float *ge = gE + (size_t)tok * d;
                for (size_t k = 0; k < d; k++) ge[k] += o[k] * scale;
                touched[tok] = 1;
            }
            if (owns_row(pos, net->T, part, P)) {
                float *gp = gpos + (size_t)pos * d;
                for (size_t k = 0; k < d; k++) gp[k] += o[k];
            }
        }
    }
}

/* Body-gradient chunk c: the shards' sums, added in shard order. */
#define SASREC_SUM_CHUNK 4096
static void sum_body_chunk(const step_job *job, size_t c) {
    const train_ctx *tc = job->tc;
    float *g = job->net->s.g + (job->net->s.n - tc->body_n);
    size_t lo = c * SASREC_SUM_CHUNK, hi = CORE_MIN(lo + SASREC_SUM_CHUNK, tc->body_n);
    if (job->lo == job->hi) { /* a process with no shard this step (batch < processes) */
        memset(g + lo, 0, (hi - lo) * sizeof *g);
        return;
    }
    for (size_t i = lo; i < hi; i++) {
        float acc = tc->shards[job->lo].grad[i];
        for (size_t s = job->lo + 1; s < job->hi; s++) acc += tc->shards[s].grad[i];
        g[i] = acc;
    }
}

/* The step's gradient from the shards' results, in one wake-up of the
 * pool: of its C tasks, embedding partition p is task p C / parts, the
 * first of pool thread p's home range (core_pool_for), so each thread
 * writes the embedding rows its AdamW chunks read; the others are the
 * body's chunks in order. */
static int gather_grads(void *vjob, size_t begin, size_t end, int tid) {
    (void)tid;
    const step_job *job = vjob;
    size_t C = job->gather_tasks, P = job->parts;
    for (size_t t = begin; t < end; t++) {
        size_t before = 0; /* partitions at tasks <= t */
        while (before < P && before * C / P <= t) before++;
        if ((before - 1) * C / P == t) embedding_grads(job, before - 1);
        else sum_body_chunk(job, t - before);
    }
    return AISLE_OK;
}

/* One optimizer step on users[0..B).  Returns the mean loss in *loss. */
static int train_step(sasrec_net *net, train_ctx *tc, const uint32_t *users, size_t B, const nn_adamw *opt,
                      core_rng *rng, double *loss) {
    size_t n = 0;
    step_job job = {net, tc, users, CORE_MIN(tc->n_shards, B), 0, 0, rng_next(rng), 0, 1, 0};
    /* Each shard draws from its own stream (seed, shard), so a shard's
     * negatives and dropout masks are the same whichever process computes
     * it: with a hook this process computes shards [lo, hi) only, and the
     * loss is still normalised by the whole batch's positions. */
    job.hi = job.n_shards;
    if (tc->hook) tc->hook->slice(tc->hook->ctx, job.n_shards, &job.lo, &job.hi);
    for (size_t s = 0; s < job.n_shards; s++) {
        sasrec_shard *sh = &tc->shards[s];
        sh->first = s * B / job.n_shards;
        sh->count = (s + 1) * B / job.n_shards - sh->first;
        sh->base = sh->first * net->T;
        for (size_t b = sh->first; b < sh->first + sh->count; b++) n += CORE_MIN(train_len(tc, users[b]) - 1, net->T);
    }
    job.inv = n ? 1.0f / (float)n : 0.0f;
    if (net->id_keep) {
        for (uint32_t t = 0; t < net->n_tokens; t++)
            net->id_keep[t] = !tc->cold[t] && (tc->id_dropout <= 0 || rng_float(rng) >= tc->id_dropout);
        sasrec_net_refresh_eff(net);
    }
    /* the pool only for enough work: a wake-up costs microseconds */
    core_pool *pool = n * net->d * net->d >= (1u << 16) ? tc->pool : NULL;
    job.parts = (size_t)core_pool_threads(pool);
    int rc = core_pool_for(pool, job.hi - job.lo, 1, shard_steps, &job);
    if (rc) return rc;
    double total = 0;
    for (size_t s = job.lo; s < job.hi; s++) {
        const sasrec_shard *sh = &tc->shards[s];
        for (size_t r = 0; r < sh->w.bt.rows; r++) total += tc->row_loss[sh->base + r];
    }
    job.gather_tasks = job.parts + (tc->body_n + SASREC_SUM_CHUNK - 1) / SASREC_SUM_CHUNK;
    rc = core_pool_for(pool, job.gather_tasks, 1, gather_grads, &job);
    if (rc) return rc;
    if (net->n_buckets) sasrec_net_fold_geff(net);
    if (tc->hook)
        rc = tc->hook->reduce(tc->hook->ctx, net->s.g, net->s.n, tc->touched, net->n_tokens, tc->lazy_rows, &total);
    if (rc) return rc;
    rc = nn_adamw_step_pool(&net->s, opt, pool, NULL);
    if (rc) return rc;
    sasrec_net_refresh_eff(net);
    *loss = n ? total / (double)n : 0.0;
    return AISLE_OK;
}

/* Sampled NDCG@10 of the held-out items (inputs: the training part). */
static int validate(const sasrec_net *net, sasrec_ws *w, const train_ctx *tc, double *ndcg) {
    size_t d = net->d, M = 1 + SASREC_VAL_NEGATIVES;
    const float *E = sasrec_net_emb(net);
    double sum = 0;
    for (size_t start = 0; start < tc->n_val; start += w->B) {
        size_t B = CORE_MIN(w->B, tc->n_val - start);
        for (size_t b = 0; b < B; b++) {
            uint32_t u = tc->val_users[start + b];
            sasrec_ws_add(w, net, b, tc->seq->items + tc->seq->indptr[u], train_len(tc, u));
        }
        sasrec_ws_close(w, B);
        int rc = sasrec_net_forward(net, w, false, NULL);
        if (rc) return rc;
        for (size_t b = 0; b < B; b++) {
            const float *h = w->fin + (w->bt.offs[b + 1] - 1) * d;
            const uint32_t *c = tc->val_items + (start + b) * M;
            float target = sasrec_dot(h, E + ((size_t)c[0] + 1) * d, d);
            size_t rank = 0;
            for (size_t j = 1; j < M; j++) rank += sasrec_dot(h, E + ((size_t)c[j] + 1) * d, d) > target;
            if (rank < 10) sum += 1.0 / log2((double)rank + 2.0);
        }
    }
    *ndcg = tc->n_val ? sum / (double)tc->n_val : NAN;
    return AISLE_OK;
}

static void train_ctx_free(train_ctx *tc, int nblocks) {
    for (size_t i = 0; tc->shards && i < tc->n_shards; i++) {
        sasrec_ws_free(&tc->shards[i].w, nblocks);
        core_free(tc->shards[i].blocks);
        core_free(tc->shards[i].grad);
    }
    core_free(tc->shards);
    core_pool_free(tc->pool);
    core_free(tc->users);
    core_free(tc->val_users);
    core_free(tc->val_items);
    core_free(tc->tgt);
    core_free(tc->negs);
    core_free(tc->logits);
    core_free(tc->dlogits);
    core_free(tc->row_loss);
    core_free(tc->touched);
    core_free(tc->cold);
}

/* One pass over the trainable users in a fresh random order; *loss: the
 * mean training loss per user. */
static int run_epoch(sasrec_net *net, train_ctx *tc, const nn_adamw *opt, core_rng *rng,
                     double *loss) {
    rng_shuffle_u32(rng, tc->users, tc->n_users);
    double sum = 0;
    for (size_t start = 0; start < tc->n_users; start += tc->batch) {
        size_t B = CORE_MIN(tc->batch, tc->n_users - start);
        double l;
        int rc = train_step(net, tc, tc->users + start, B, opt, rng, &l);
        if (rc) return rc;
        sum += l * (double)B;
    }
    *loss = sum / (double)tc->n_users;
    return AISLE_OK;
}

/* Trainable users (2+ training items) into tc->users. */
static void collect_users(train_ctx *tc, uint32_t n_users) {
    tc->n_users = 0;
    for (uint32_t u = 0; u < n_users; u++)
        if (train_len(tc, u) >= 2) tc->users[tc->n_users++] = u;
}

/* Where training stands, for checkpoints (model_ckpt_hook): with the
 * parameters, the AdamW moments and step count, the main random stream
 * and the users' current order this is everything the next epoch depends
 * on (each step's shards seed their own streams from the main one; the
 * validation set comes from the stream (seed, 1)).  The schedule's
 * position is the step count. */
typedef struct fit_state {
    int phase;       /* 0: epochs with validation, 1: the refit */
    int best_epoch, since_best;
    int phase0_epochs; /* epochs run before the refit */
    const model_ckpt_hook *ck;
    model_ckpt_part parts[8];
    size_t n_parts;
    uint64_t scalars[8];
} fit_state;

static void fit_state_pack(fit_state *fs, const sasrec_state *st, const train_ctx *tc) {
    uint64_t *v = fs->scalars;
    v[0] = (uint64_t)st->net.s.step;
    v[1] = (uint64_t)fs->phase;
    v[2] = (uint64_t)fs->best_epoch;
    v[3] = (uint64_t)fs->since_best;
    v[4] = (uint64_t)fs->phase0_epochs;
    v[5] = (uint64_t)st->epochs_run;
    v[6] = (uint64_t)tc->n_users;
    memcpy(&v[7], &st->best_metric, sizeof st->best_metric);
}

/* Saves after `done` epochs of both phases (a no-op without a hook). */
static int fit_save(fit_state *fs, const sasrec_state *st, const train_ctx *tc, int done, bool last) {
    if (!fs->ck) return AISLE_OK;
    fit_state_pack(fs, st, tc);
    return fs->ck->save(fs->ck->ctx, fs->parts, fs->n_parts, (uint64_t)done, last);
}

/* refit=true: after early stopping chose `epochs`, train fresh parameters
 * on every training item (the held-out ones included) for that many
 * epochs, so the model learns each user's newest transition too.  A
 * resumed refit (from > 0 epochs done) keeps the restored users and
 * parameters. */
static int refit_all(sasrec_state *st, train_ctx *tc, nn_adamw *opt, core_rng *rng, float emb_std,
                     uint32_t n_users, int epochs, int from, fit_state *fs, core_progress *prog) {
    sasrec_net *net = &st->net;
    tc->holdout = false;
    if (!from) {
        collect_users(tc, n_users);
        sasrec_net_init_params(net, emb_std, rng);
    }
    opt->total_steps = (int64_t)(((tc->n_users + tc->batch - 1) / tc->batch) * (size_t)epochs);
    opt->warmup_steps = (int64_t)(tc->warmup * (double)opt->total_steps);
    fs->phase = 1;
    for (int ep = from + 1; ep <= epochs; ep++) {
        double loss;
        int rc = run_epoch(net, tc, opt, rng, &loss);
        if (!rc) rc = fit_save(fs, st, tc, fs->phase0_epochs + ep, ep == epochs);
        if (!rc) rc = core_progress_report(prog, ep, epochs, loss, NAN);
        if (rc) return rc;
    }
    return AISLE_OK;
}

/* Catalog products nobody has interacted with yet join the model's items
 * (after the dataset's, so dataset indices stay valid): with side
 * information their words alone give them an embedding, which is the point
 * of cold start.  They have no history and zero popularity. */
static int add_catalog_items(aisle_model *m, const aisle_catalog *cat) {
    size_t before = m->items.n, n = data_catalog_size(cat);
    for (size_t p = 0; p < n; p++) {
        const char *key = data_catalog_key(cat, p);
        uint32_t idx;
        bool added;
        int rc = keys_intern(&m->items, key, strlen(key), &idx, &added);
        if (rc) return rc;
    }
    if (m->items.n > UINT32_MAX - 1)
        return core_error(AISLE_ERANGE, "model 'sasrec': %zu items with the catalog's, more than supported",
                          m->items.n);
    if (m->items.n == before) return AISLE_OK;
    float *pop = core_realloc(m->popularity, m->items.n * sizeof *pop);
    if (!pop) return core_oom("sasrec catalog items");
    memset(pop + before, 0, (m->items.n - before) * sizeof *pop);
    m->popularity = pop;
    m->history.cols = (uint32_t)m->items.n;
    return AISLE_OK;
}

/* Everything the model keeps apart from the weights' values: catalog
 * items (side_info), the network's shape and parameter store, the words of
 * each item, and the serving windows (each user's newest T items). */
static int build_model(aisle_model *m, const aisle_catalog *cat, const aisle_config *cfg, const data_seq *seq) {
    const option_spec *o = sasrec_options;
    sasrec_state *st = m->state;
    size_t d = (size_t)config_int(cfg, o, "hidden"), T = (size_t)config_int(cfg, o, "maxlen");
    int heads = (int)config_int(cfg, o, "heads"), nblocks = (int)config_int(cfg, o, "blocks");
    int act = strcmp(config_string(cfg, o, "activation"), "gelu") == 0 ? NN_ACT_GELU : NN_ACT_RELU;
    bool side = config_bool(cfg, o, "side_info");
    int rc;
    if (side && !cat)
        return core_error(AISLE_EINVAL, "model 'sasrec': option side_info=true needs a catalog "
                                        "(train with aisle_model_train_with_catalog)");
    if (side && (rc = add_catalog_items(m, cat)) != AISLE_OK) return rc;
    uint32_t n_users = model_n_users(m), n_items = model_n_items(m);
    int layout = strcmp(config_string(cfg, o, "block_layout"), "sasrec") == 0 ? NN_LAYOUT_SASREC : NN_LAYOUT_PRE_LN;
    float dropout = (float)config_float(cfg, o, "dropout");
    float attn_dropout = (float)config_float(cfg, o, "attention_dropout");
    if (attn_dropout < 0) attn_dropout = dropout;
    rc = sasrec_net_build(&st->net, d, T, nblocks, heads, act, layout, dropout, attn_dropout, n_items,
                          side ? (uint32_t)config_int(cfg, o, "side_buckets") : 0);
    if (!rc) rc = nn_store_alloc(&st->net.s, true);
    if (rc) return rc;
    if (side && (rc = sasrec_build_item_tokens(&st->net, m, cat)) != AISLE_OK) return rc;
    st->user_seq = core_malloc((size_t)n_users * T * sizeof *st->user_seq);
    if (!st->user_seq) return core_oom("sasrec user sequences");
    for (uint32_t u = 0; u < n_users; u++)
        sasrec_fill_window(st->user_seq + (size_t)u * T, T, seq->items + seq->indptr[u],
                           seq->indptr[u + 1] - seq->indptr[u]);
    return AISLE_OK;
}

/* side_info: items too rare to learn an id embedding for are represented
 * by their words only (tc->cold); net->id_keep is the per-step mask. */
static int mark_cold_items(sasrec_net *net, train_ctx *tc, const data_seq *seq, int64_t min_count) {
    net->id_keep = core_malloc(net->n_tokens);
    tc->cold = core_calloc(net->n_tokens, 1);
    uint32_t *cnt = core_calloc(net->n_tokens, sizeof *cnt);
    if (!net->id_keep || !tc->cold || !cnt) {
        core_free(cnt);
        return core_oom("sasrec side information");
    }
    for (size_t k = 0; k < seq->n; k++) cnt[seq->items[k] + 1]++;
    for (uint32_t t = 1; t < net->n_tokens; t++)
        tc->cold[t] = net->tok_ptr[t + 1] > net->tok_ptr[t] && cnt[t] < min_count;
    core_free(cnt);
    return AISLE_OK;
}

/* The batch buffers of the loss (batch sequences of up to T positions). */
static int alloc_batch_buffers(sasrec_net *net, train_ctx *tc, uint32_t n_users, size_t batch, bool lazy) {
    size_t T = net->T, K1 = (size_t)tc->negatives + 1;
    tc->users = core_malloc((size_t)n_users * sizeof *tc->users);
    tc->val_users = core_malloc((size_t)n_users * sizeof *tc->val_users);
    tc->tgt = core_malloc(batch * T * sizeof *tc->tgt);
    tc->negs = core_malloc(batch * T * (size_t)tc->negatives * sizeof *tc->negs);
    tc->logits = core_malloc(batch * T * K1 * sizeof *tc->logits);
    tc->dlogits = core_malloc(batch * T * K1 * sizeof *tc->dlogits);
    tc->row_loss = core_malloc(batch * T * sizeof *tc->row_loss);
    /* a step gives a gradient to a few item rows: lazy AdamW updates only
     * those, dense AdamW updates every row but reads only their gradients */
    tc->touched = core_calloc(net->n_tokens, 1);
    if (tc->touched && lazy) {
        nn_store_set_lazy(&net->s, net->item_emb, tc->touched);
        tc->lazy_rows = (nn_lazy_rows){net->item_emb.off, net->d};
    }
    else if (tc->touched) nn_store_set_grad_rows(&net->s, net->item_emb, tc->touched);
    if (!tc->touched || !tc->users || !tc->val_users || !tc->tgt || !tc->negs || !tc->logits || !tc->dlogits || !tc->row_loss)
        return core_oom("sasrec training buffers");
    return AISLE_OK;
}

/* The shards of a step of up to `batch` sequences (see SASREC_SHARDS):
 * workspaces for ceil(batch / shards) sequences each (attention single-
 * threaded inside: the shards are the parallel unit), body views. */
static int alloc_shards(train_ctx *tc, const sasrec_net *net, size_t batch) {
    tc->batch = batch;
    tc->body_n = sasrec_body_size(net);
    int rc = core_pool_new(&tc->pool, tc->threads);
    if (rc) return rc;
    size_t n = CORE_MIN((size_t)SASREC_SHARDS, batch), per = (batch + n - 1) / n;
    tc->shards = core_calloc(n, sizeof *tc->shards);
    if (!tc->shards) return core_oom("sasrec training shards");
    tc->n_shards = n;
    for (size_t i = 0; i < n; i++) {
        sasrec_shard *sh = &tc->shards[i];
        rc = sasrec_ws_alloc(&sh->w, net, per, 1, true);
        if (rc) return rc;
        sh->blocks = core_malloc((size_t)net->nblocks * sizeof *sh->blocks);
        sh->grad = core_malloc((tc->body_n ? tc->body_n : 1) * sizeof *sh->grad);
        if (!sh->blocks || !sh->grad) return core_oom("sasrec training shards");
        if ((rc = sasrec_body_view(net, sh->grad, sh->blocks, &sh->body)) != AISLE_OK) return rc;
    }
    return AISLE_OK;
}

/* Trainable users, and validation users (3+ items; at most max_val of
 * them, chosen at random) each with its held-out item and sampled
 * negatives.  Uses its own random stream so the training one is not moved. */
static int choose_validation(train_ctx *tc, const aisle_model *m, uint64_t seed, size_t max_val) {
    const data_seq *seq = tc->seq;
    uint32_t n_users = model_n_users(m), n_items = model_n_items(m);
    collect_users(tc, n_users);
    for (uint32_t u = 0; u < n_users; u++)
        if (tc->holdout && seq->indptr[u + 1] - seq->indptr[u] >= 3) tc->val_users[tc->n_val++] = u;
    if (tc->n_users == 0)
        return core_error(AISLE_EINVAL, "model 'sasrec': no user has 2 or more events to learn a sequence from");
    core_rng vrng;
    rng_seed_stream(&vrng, seed, 1);
    if (tc->n_val > max_val) {
        rng_shuffle_u32(&vrng, tc->val_users, tc->n_val);
        tc->n_val = max_val;
    }
    if (!tc->n_val) return AISLE_OK;
    size_t M = 1 + SASREC_VAL_NEGATIVES;
    tc->val_items = core_malloc(tc->n_val * M * sizeof *tc->val_items);
    if (!tc->val_items) return core_oom("sasrec validation items");
    for (size_t i = 0; i < tc->n_val; i++) {
        uint32_t u = tc->val_users[i];
        tc->val_items[i * M] = seq->items[seq->indptr[u + 1] - 1];
        for (size_t j = 1; j < M; j++) tc->val_items[i * M + j] = sample_negative(&vrng, &m->history, u, n_items);
    }
    return AISLE_OK;
}

/* The training context from the options: loss, negatives, side-info
 * masks, batch buffers, trainable and validation users. */
static int train_ctx_init(train_ctx *tc, aisle_model *m, const aisle_config *cfg, const data_seq *seq, int threads) {
    const option_spec *o = sasrec_options;
    sasrec_net *net = &((sasrec_state *)m->state)->net;
    *tc = (train_ctx){.seq = seq, .hist = &m->history, .holdout = config_bool(cfg, o, "holdout_last")};
    tc->loss_kind = strcmp(config_string(cfg, o, "loss"), "bce") == 0 ? 0 : 1;
    tc->negatives = (int)config_int(cfg, o, "train_negatives");
    tc->id_dropout = (float)config_float(cfg, o, "side_id_dropout");
    tc->threads = threads;
    tc->warmup = config_float(cfg, o, "warmup");
    int rc = AISLE_OK;
    if (net->n_buckets) rc = mark_cold_items(net, tc, seq, config_int(cfg, o, "side_min_count"));
    if (!rc)
        rc = alloc_batch_buffers(net, tc, model_n_users(m), (size_t)config_int(cfg, o, "batch_size"),
                                 config_bool(cfg, o, "lazy_adam"));
    if (!rc)
        rc = choose_validation(tc, m, (uint64_t)config_int(cfg, o, "seed"),
                               (size_t)config_int(cfg, o, "validation_users"));
    return rc;
}

/* AdamW as configured, its schedule planned over `epochs` epochs of
 * `steps_per_epoch` steps. */
static nn_adamw make_optimizer(const aisle_config *cfg, const train_ctx *tc, size_t steps_per_epoch, int epochs) {
    const option_spec *o = sasrec_options;
    const char *decay = config_string(cfg, o, "lr_schedule");
    nn_adamw opt = {.lr = (float)config_float(cfg, o, "learning_rate"), .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                    .weight_decay = (float)config_float(cfg, o, "l2"),
                    .clip_norm = (float)config_float(cfg, o, "clip_norm"),
                    .total_steps = (int64_t)(steps_per_epoch * (size_t)epochs),
                    .decay = strcmp(decay, "linear") == 0 ? NN_DECAY_LINEAR
                             : strcmp(decay, "cosine") == 0 ? NN_DECAY_COSINE : NN_DECAY_NONE};
    opt.warmup_steps = (int64_t)(tc->warmup * (double)opt.total_steps);
    return opt;
}

/* Epochs with validation after each, from epoch from + 1: keeps the best
 * epoch's parameters (best, when validating) and stops after `patience`
 * epochs without a better metric.  fs->best_epoch: the epoch chosen (0
 * without validation). */
static int train_epochs(sasrec_state *st, sasrec_ws *vw, train_ctx *tc, nn_adamw *opt, core_rng *rng, int epochs,
                        int from, int patience, float *best, fit_state *fs, core_progress *prog) {
    sasrec_net *net = &st->net;
    bool stop = tc->n_val && patience > 0 && fs->since_best >= patience; /* a resumed run that had stopped */
    for (int ep = from + 1; !stop && ep <= epochs; ep++) {
        double loss;
        int rc = run_epoch(net, tc, opt, rng, &loss);
        if (rc) return rc;
        st->epochs_run = ep;
        double metric = NAN;
        if (net->id_keep) { /* evaluate with every id embedding but the cold ones */
            for (uint32_t t = 0; t < net->n_tokens; t++) net->id_keep[t] = !tc->cold[t];
            sasrec_net_refresh_eff(net);
        }
        if (tc->n_val) {
            rc = validate(net, vw, tc, &metric);
            if (rc) return rc;
            if (metric > st->best_metric) {
                st->best_metric = metric;
                fs->best_epoch = ep;
                memcpy(best, net->s.w, net->s.n * sizeof *best);
                fs->since_best = 0;
            } else {
                fs->since_best++;
            }
        }
        stop = tc->n_val && patience > 0 && fs->since_best >= patience;
        fs->phase0_epochs = ep;
        if ((rc = fit_save(fs, st, tc, ep, stop || ep == epochs))) return rc;
        rc = core_progress_report(prog, ep, epochs, loss, metric);
        if (rc) return rc;
    }
    return AISLE_OK;
}

/* With a checkpoint hook: the state's parts, then the resume, which may
 * fill them (*done: epochs of both phases completed). */
static int fit_resume(fit_state *fs, sasrec_state *st, train_ctx *tc, core_rng *rng, float *best, uint32_t n_users,
                      int *done) {
    sasrec_net *net = &st->net;
    size_t n = net->s.n, k = 0;
    fs->parts[k++] = (model_ckpt_part){"weights", net->s.w, n, 4};
    fs->parts[k++] = (model_ckpt_part){"adam_m", net->s.m, n, 4};
    fs->parts[k++] = (model_ckpt_part){"adam_v", net->s.v, n, 4};
    fs->parts[k++] = (model_ckpt_part){"counters", fs->scalars, 8, 8};
    fs->parts[k++] = (model_ckpt_part){"rng", rng->s, 4, 8};
    fs->parts[k++] = (model_ckpt_part){"user_order", tc->users, n_users, 4};
    if (best) fs->parts[k++] = (model_ckpt_part){"best", best, n, 4};
    fs->n_parts = k;
    uint64_t got = 0;
    fit_state_pack(fs, st, tc);
    int rc = fs->ck->resume(fs->ck->ctx, fs->parts, fs->n_parts, &got);
    if (rc || !got) return rc;
    const uint64_t *v = fs->scalars;
    if (v[6] > n_users || v[1] > 1) return core_error(AISLE_EFORMAT, "checkpoint: counters out of range");
    net->s.step = (int64_t)v[0];
    fs->phase = (int)v[1];
    fs->best_epoch = (int)v[2];
    fs->since_best = (int)v[3];
    fs->phase0_epochs = (int)v[4];
    st->epochs_run = (int)v[5];
    tc->n_users = (size_t)v[6];
    memcpy(&st->best_metric, &v[7], sizeof st->best_metric);
    sasrec_net_refresh_eff(net);
    *done = (int)got;
    return AISLE_OK;
}

/* The whole fit once the network and the context are ready: epochs with
 * early stopping, then the best parameters or a refit, then the cold
 * items' id embeddings zeroed (they are never used). */
static int fit(aisle_model *m, sasrec_ws *vw, train_ctx *tc, const aisle_config *cfg,
               core_rng *rng, float emb_std, core_progress *prog) {
    const option_spec *o = sasrec_options;
    sasrec_state *st = m->state;
    sasrec_net *net = &st->net;
    int epochs = (int)config_int(cfg, o, "epochs"), patience = (int)config_int(cfg, o, "patience");
    nn_adamw opt = make_optimizer(cfg, tc, (tc->n_users + tc->batch - 1) / tc->batch, epochs);
    float *best = NULL;
    if (tc->n_val && !(best = core_malloc(net->s.n * sizeof *best))) return core_oom("sasrec best parameters");
    fit_state fs = {.ck = tc->hook ? tc->hook->ckpt : NULL};
    st->best_metric = -1;
    int done = 0, rc = fs.ck ? fit_resume(&fs, st, tc, rng, best, model_n_users(m), &done) : AISLE_OK;
    if (!rc && fs.phase == 0) rc = train_epochs(st, vw, tc, &opt, rng, epochs, done, patience, best, &fs, prog);
    bool refit = !rc && tc->n_val && fs.best_epoch > 0 && config_bool(cfg, o, "refit");
    if (!rc && best && !refit) memcpy(net->s.w, best, net->s.n * sizeof *best); /* a refit starts afresh */
    if (refit) {
        /* best stays allocated: it is one of the checkpoint's parts */
        int from = fs.phase == 1 ? done - fs.phase0_epochs : 0;
        rc = refit_all(st, tc, &opt, rng, emb_std, model_n_users(m), fs.best_epoch, from, &fs, prog);
        if (!rc) st->epochs_run = fs.best_epoch;
    }
    core_free(best);
    if (rc) return rc;
    core_free(net->id_keep);
    net->id_keep = NULL;
    for (uint32_t t = 0; tc->cold && t < net->n_tokens; t++)
        if (tc->cold[t]) memset(nn_w(&net->s, net->item_emb) + (size_t)t * net->d, 0, net->d * sizeof(float));
    sasrec_net_refresh_eff(net);
    if (tc->n_val) rc = aisle_model_set_metric(m, "val_ndcg@10", st->best_metric);
    return rc;
}

int sasrec_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                 core_progress *prog) {
    return model_sasrec_train_hooked(m, ds, cat, cfg, prog, NULL);
}

int model_sasrec_train_hooked(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat,
                              const aisle_config *cfg, core_progress *prog, const model_sasrec_hook *hook) {
    const option_spec *o = sasrec_options;
    size_t d = (size_t)config_int(cfg, o, "hidden");
    int heads = (int)config_int(cfg, o, "heads");
    if (d % (size_t)heads)
        return core_error(AISLE_EINVAL, "model 'sasrec': option hidden=%zu must be a multiple of heads=%d", d, heads);
    int threads = core_thread_count(config_int(cfg, o, "threads"));
    size_t batch = (size_t)config_int(cfg, o, "batch_size");
    const data_seq *seq;
    int rc = data_sequences(ds, &seq);
    if (rc) return rc;
    sasrec_state *st = core_calloc(1, sizeof *st);
    if (!st) return core_oom("sasrec model");
    m->state = st;
    if ((rc = build_model(m, cat, cfg, seq)) != AISLE_OK) return rc;
    sasrec_net *net = &st->net;
    core_rng rng;
    rng_seed(&rng, (uint64_t)config_int(cfg, o, "seed"));
    float emb_std = (float)config_float(cfg, o, "embedding_std");
    sasrec_net_init_params(net, emb_std, &rng);
    if ((rc = sasrec_net_side_alloc(net, true)) != AISLE_OK) return rc;

    train_ctx tc;
    sasrec_ws vw = {0};
    rc = train_ctx_init(&tc, m, cfg, seq, threads);
    tc.hook = hook;
    if (!rc) rc = alloc_shards(&tc, net, CORE_MIN(batch, tc.n_users));
    if (!rc && tc.n_val) rc = sasrec_ws_alloc(&vw, net, CORE_MIN((size_t)256, tc.n_val), threads, false);
    if (!rc) rc = fit(m, &vw, &tc, cfg, &rng, emb_std, prog);
    sasrec_ws_free(&vw, net->nblocks);
    train_ctx_free(&tc, net->nblocks);
    if (!rc) {
        /* serving needs only the weights */
        core_free(net->s.g);
        core_free(net->s.m);
        core_free(net->s.v);
        core_free(net->geff);
        core_free(net->id_keep);
        net->s.g = net->s.m = net->s.v = net->geff = NULL;
        net->id_keep = NULL;
    }
    return rc;
}
