/* pair.c - model kind `pair`: the text of a user-product pair to a rating
 * or a purchase probability (the seed's section 4.3), a cross-encoder in
 * the manner of BERT's sentence-pair tasks (Devlin et al. 2019) on the
 * hashed-bucket text encoder of src/nn.  See pair.h for the texts and
 * docs/PAIR.md for the protocol.
 *
 * Training (AdamW, linear warm-up and decay):
 *  - objective rating: squared error of mean + output against each
 *    training rating (the history's aggregated value);
 *  - objective purchase: binary cross-entropy on the logit, every training
 *    pair a positive and sampled_negatives uniformly drawn items the user
 *    has not touched negatives, drawn afresh every epoch.
 * With id_factors > 0 an mf-like term b_u + b_i + p_u . q_i is learned
 * beside the text; catalog products without events keep zero id vectors,
 * so they are scored from their text alone.
 *
 * With option encoder=FILE a pretrained BERT reads the pairs instead
 * (pair_bert.c): the texts are kept raw, the purchase negatives are drawn
 * once (every pair is encoded once by the frozen encoder), and the bert
 * module's head training does the rest. */
#include "pair.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const option_spec pair_options[] = {
    {"objective", AISLE_OPTION_STRING, 0, 0, "rating", "rating|purchase", "pair",
     "rating: regression on the events' values (squared error); purchase: probability that the user buys the "
     "item (cross-entropy against sampled negatives)."},
    {"hidden", AISLE_OPTION_INT, 4, 1024, "32", NULL, "pair", "Width of token embeddings and hidden states; a "
     "multiple of heads."},
    {"blocks", AISLE_OPTION_INT, 0, 16, "1", NULL, "pair", "Transformer blocks (bidirectional, pre-LN)."},
    {"heads", AISLE_OPTION_INT, 1, 64, "2", NULL, "pair", "Attention heads per block."},
    {"ff_hidden", AISLE_OPTION_INT, 4, 8192, "64", NULL, "pair", "Width of each block's feed-forward layer."},
    {"maxlen", AISLE_OPTION_INT, 8, 1024, "48", NULL, "pair",
     "Tokens of a pair the encoder reads (shopper and product together); the product keeps at least half."},
    {"dropout", AISLE_OPTION_FLOAT, 0, 0.9, "0.1", NULL, "pair", "Dropout while training."},
    {"epochs", AISLE_OPTION_INT, 1, 10000, "3", NULL, "pair", "Passes over the training pairs."},
    {"batch_size", AISLE_OPTION_INT, 1, 4096, "64", NULL, "pair", "Pairs per optimizer step."},
    {"learning_rate", AISLE_OPTION_FLOAT, 1e-7, 10, "0.002", NULL, "pair",
     "Peak AdamW learning rate (linear warm-up over 5% of the steps, then linear decay to 10%)."},
    {"l2", AISLE_OPTION_FLOAT, 0, 10, "0.01", NULL, "pair", "AdamW decoupled weight decay."},
    {"clip_norm", AISLE_OPTION_FLOAT, 0, 1e6, "1", NULL, "pair", "Global gradient-norm clip; 0 disables."},
    {"hash_buckets", AISLE_OPTION_INT, 1024, 16777216, "65536", NULL, "pair",
     "Hashed embedding rows for words, word bigrams and character n-grams."},
    {"recent_items", AISLE_OPTION_INT, 0, 256, "8", NULL, "pair",
     "The shopper's most recent items whose titles describe them (besides profile fields)."},
    {"title_tokens", AISLE_OPTION_INT, 1, 256, "6", NULL, "pair", "Tokens of each recent item's title used."},
    {"id_factors", AISLE_OPTION_INT, 0, 1024, "0", NULL, "pair",
     "Width of user and item id embeddings learned beside the text (biased dot product added to the output); "
     "0: text only."},
    {"sampled_negatives", AISLE_OPTION_INT, 1, 100, "4", NULL, "pair",
     "objective purchase: items drawn as negatives per training pair, each epoch (once, with encoder)."},
    {"encoder", AISLE_OPTION_STRING, 0, 0, "", NULL, "pair",
     "A pretrained BERT (an aisle bert model file, from aisle import --format bert) that reads each pair as "
     "[CLS] shopper [SEP] product [SEP] instead of the hashed encoder; its weights are copied into the model. "
     "Its head trains with head_epochs and head_learning_rate, pairs are cut to max_length (docs/PAIR.md)."},
    {"finetune_layers", AISLE_OPTION_INT, 0, 128, "0", NULL, "pair",
     "With encoder: the top encoder layers trained with the pooler and the head (finetune_learning_rate); 0 "
     "trains the head alone on the frozen encoder."},
    OPTION_END};

/* ---- network ---- */

int pair_build_net(pair_state *s, const nn_encoder_cfg *ec, bool training, uint64_t max_floats) {
    nn_store_init(&s->s);
    int rc = nn_encoder_init(&s->enc, &s->s, ec);
    if (!rc) rc = nn_linear_init(&s->head, &s->s, ec->d, 1);
    if (!rc && s->id_factors) {
        rc = nn_store_add(&s->s, s->n_users, s->id_factors, true, &s->uf);
        if (!rc) rc = nn_store_add(&s->s, s->n_items, s->id_factors, true, &s->vf);
        if (!rc) rc = nn_store_add(&s->s, s->n_users, 1, false, &s->ub);
        if (!rc) rc = nn_store_add(&s->s, s->n_items, 1, false, &s->vb);
    }
    if (!rc && max_floats && s->s.n > max_floats)
        rc = core_error(AISLE_EFORMAT, "pair weights: %zu parameters, more than the file holds", s->s.n);
    if (!rc) rc = nn_store_alloc(&s->s, training);
    return rc;
}

void pair_state_free(pair_state *s) {
    if (!s) return;
    nn_encoder_free(&s->enc);
    nn_store_free(&s->s);
    nn_toks_free(&s->toks);
    core_free(s->recent_off);
    core_free(s->recent_item);
    core_free(s->recent_val);
    core_free(s->added_item_text);
    core_free(s->added_user_text);
    aisle_bert_free(s->bert);
    core_free(s->btext);
    core_free(s->btext_off);
    core_free(s);
}

static void pair_free(aisle_model *m) {
    pair_state_free(m->state);
    m->state = NULL;
}

/* ---- texts ---- */

/* Catalog products nobody has interacted with join the model's items (as
 * hybrid and sasrec side_info do): they are scored from their text. */
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
        return core_error(AISLE_ERANGE, "model 'pair': %zu items with the catalog's, more than supported", m->items.n);
    if (m->items.n == before) return AISLE_OK;
    float *pop = core_realloc(m->popularity, m->items.n * sizeof *pop);
    if (!pop) return core_oom("pair catalog items");
    memset(pop + before, 0, (m->items.n - before) * sizeof *pop);
    m->popularity = pop;
    m->history.cols = (uint32_t)m->items.n;
    return AISLE_OK;
}

/* Product text: title, category, brand, description (the key when the
 * catalog has no row or only empty fields). */
int pair_product_text(const aisle_catalog *cat, const char *key, core_buf *b) {
    b->len = 0;
    int64_t p = cat ? data_catalog_find(cat, key, strlen(key)) : -1;
    static const int order[] = {DATA_FIELD_TITLE, DATA_FIELD_CATEGORY, DATA_FIELD_BRAND, DATA_FIELD_DESCRIPTION};
    int rc = AISLE_OK;
    for (size_t f = 0; p >= 0 && !rc && f < CORE_ARRAY_LEN(order); f++) {
        const char *t = data_catalog_field(cat, (size_t)p, order[f]);
        if (t[0]) rc = buf_printf(b, "%s%s", b->len ? " . " : "", t);
    }
    if (!rc && !b->len) rc = buf_printf(b, "%s", key);
    return rc;
}

/* Profile text of a user from the attribute table: "name value" pairs
 * and any title/description the table gives. */
int pair_shopper_profile(const aisle_catalog *users, const char *key, core_buf *b) {
    b->len = 0;
    int64_t p = users ? data_catalog_find(users, key, strlen(key)) : -1;
    if (p < 0) return AISLE_OK;
    int rc = AISLE_OK;
    static const int fields[] = {DATA_FIELD_TITLE, DATA_FIELD_CATEGORY, DATA_FIELD_BRAND, DATA_FIELD_DESCRIPTION};
    for (size_t f = 0; !rc && f < CORE_ARRAY_LEN(fields); f++) {
        const char *t = data_catalog_field(users, (size_t)p, fields[f]);
        if (t[0]) rc = buf_printf(b, "%s%s", b->len ? " " : "", t);
    }
    size_t na = 0;
    if (!rc) rc = aisle_catalog_item_attribute_count(users, key, &na);
    for (size_t a = 0; !rc && a < na; a++) {
        const char *name, *value;
        rc = aisle_catalog_item_attribute(users, key, a, &name, &value);
        if (!rc) rc = buf_printf(b, "%s%s %s", b->len ? " . " : "", name, value);
    }
    return rc;
}

/* The product texts then the profiles, raw, for the BERT encoder. */
static int build_raw_texts(aisle_model *m, pair_state *s, const aisle_catalog *cat, const aisle_catalog *users) {
    size_t n = (size_t)s->n_items + s->n_users;
    core_buf all, b;
    buf_init(&all);
    buf_init(&b);
    s->btext_off = core_malloc((n + 1) * sizeof *s->btext_off);
    int rc = s->btext_off ? AISLE_OK : core_oom("pair texts");
    for (size_t t = 0; !rc && t < n; t++) {
        s->btext_off[t] = all.len;
        rc = t < s->n_items ? pair_product_text(cat, keys_at(&m->items, t), &b)
                            : pair_shopper_profile(users, keys_at(&m->users, t - s->n_items), &b);
        if (!rc) rc = buf_append(&all, b.data ? b.data : "", b.len);
        if (!rc) rc = buf_append(&all, "", 1);
    }
    if (!rc) {
        s->btext_off[n] = all.len;
        s->btext = all.data;
    } else {
        buf_free(&all);
    }
    buf_free(&b);
    return rc;
}

static int build_texts(aisle_model *m, pair_state *s, const aisle_catalog *cat, const aisle_catalog *users) {
    if (s->bert) return build_raw_texts(m, s, cat, users);
    core_buf b;
    buf_init(&b);
    int rc = AISLE_OK;
    for (uint32_t i = 0; !rc && i < s->n_items; i++) {
        rc = pair_product_text(cat, keys_at(&m->items, i), &b);
        if (!rc) rc = nn_toks_add(&s->toks, &s->feat, b.data, b.len);
    }
    for (uint32_t u = 0; !rc && u < s->n_users; u++) {
        rc = pair_shopper_profile(users, keys_at(&m->users, u), &b);
        if (!rc) rc = nn_toks_add(&s->toks, &s->feat, b.len ? b.data : "", b.len);
    }
    for (uint32_t k = 0; !rc && k < s->rating_words; k++) {
        char word[16];
        int len = snprintf(word, sizeof word, "r%u", k);
        rc = nn_toks_add(&s->toks, &s->feat, word, (size_t)len);
    }
    buf_free(&b);
    return rc;
}

/* The history value of (u, i) (rows are sorted), or fallback. */
static float history_value(const data_csr *h, uint32_t u, uint32_t i, float fallback) {
    size_t lo = h->indptr[u], hi = h->indptr[u + 1];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h->indices[mid] < i) lo = mid + 1;
        else hi = mid;
    }
    return lo < h->indptr[u + 1] && h->indices[lo] == i ? h->values[lo] : fallback;
}

/* Each user's recent_items + 1 newest distinct items (one more than the
 * shopper side shows, so leaving the scored item out keeps it full). */
static int build_recent(const aisle_model *m, pair_state *s, const aisle_dataset *ds) {
    const data_seq *seq;
    int rc = data_sequences(ds, &seq);
    if (rc) return rc;
    size_t per = (size_t)s->recent + 1;
    s->recent_off = core_malloc(((size_t)s->n_users + 1) * sizeof *s->recent_off);
    s->recent_item = core_malloc(((size_t)s->n_users * per + 1) * sizeof *s->recent_item);
    s->recent_val = core_malloc(((size_t)s->n_users * per + 1) * sizeof *s->recent_val);
    if (!s->recent_off || !s->recent_item || !s->recent_val) return core_oom("pair recent items");
    size_t n = 0;
    s->recent_off[0] = 0;
    for (uint32_t u = 0; u < s->n_users; u++) {
        size_t first = n;
        for (size_t k = seq->indptr[u + 1]; k-- > seq->indptr[u] && n - first < per && s->recent;) {
            uint32_t it = seq->items[k];
            bool seen = false;
            for (size_t j = first; j < n && !seen; j++) seen = s->recent_item[j] == it;
            float v = history_value(&m->history, u, it, NAN);
            if (seen || !(v > 0 || s->rating) || isnan(v)) continue; /* pairs netting <= 0 are not purchases */
            s->recent_item[n] = it;
            s->recent_val[n++] = v;
        }
        s->recent_off[u + 1] = n;
    }
    return AISLE_OK;
}

/* ---- training ---- */

/* The user (row) of history entry nz. */
static uint32_t entry_user(const data_csr *h, size_t nz) {
    size_t lo = 0, hi = h->rows;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (h->indptr[mid] <= nz) lo = mid;
        else hi = mid;
    }
    return (uint32_t)lo;
}

/* Purchase objective: every positive followed by its negatives, drawn
 * uniformly among the items of the training events the user has not
 * touched (a few tries).  Catalog-only products are never drawn: as
 * negatives only, their words would learn "new means unwanted". */
static void draw_examples(const aisle_model *m, uint32_t n_known, const size_t *pos, size_t n_pos, int negatives,
                          core_rng *r, pair_example *ex) {
    const data_csr *h = &m->history;
    size_t e = 0;
    for (size_t k = 0; k < n_pos; k++) {
        size_t nz = pos[k];
        uint32_t u = entry_user(h, nz);
        ex[e++] = (pair_example){u, h->indices[nz], 1.0f};
        for (int j = 0; j < negatives; j++) {
            uint32_t it = 0;
            for (int t = 0; t < 8; t++) {
                it = (uint32_t)rng_below(r, n_known);
                if (isnan(history_value(h, u, it, NAN))) break;
            }
            ex[e++] = (pair_example){u, it, 0.0f};
        }
    }
}

typedef struct pair_trainer {
    pair_state *s;
    nn_encoder_ws w;
    pair_batch b;
    pair_side *sides;
    pair_job *jobs;
    float *dz;
    unsigned char *touched[4]; /* lazy rows of uf, vf, ub, vb */
} pair_trainer;

static void trainer_free(pair_trainer *t) {
    nn_encoder_ws_free(&t->w);
    pair_batch_free(&t->b);
    core_free(t->sides);
    core_free(t->jobs);
    core_free(t->dz);
    for (int k = 0; k < 4; k++) core_free(t->touched[k]);
}

/* Gradients of the id terms for output gradients dz. */
static void id_backward(pair_trainer *t, size_t n) {
    pair_state *s = t->s;
    uint32_t k = s->id_factors;
    nn_store *st = &s->s;
    for (size_t j = 0; j < n; j++) {
        uint32_t u = (uint32_t)t->jobs[j].user, i = t->jobs[j].item;
        float g = t->dz[j];
        model_axpy(nn_g(st, s->uf) + (size_t)u * k, g, nn_w(st, s->vf) + (size_t)i * k, k);
        model_axpy(nn_g(st, s->vf) + (size_t)i * k, g, nn_w(st, s->uf) + (size_t)u * k, k);
        nn_g(st, s->ub)[u] += g;
        nn_g(st, s->vb)[i] += g;
        t->touched[0][u] = t->touched[2][u] = 1;
        t->touched[1][i] = t->touched[3][i] = 1;
    }
}

/* One optimizer step on examples ex[0..n); returns the summed loss. */
static int train_step(pair_trainer *t, const pair_example *ex, size_t n, const nn_adamw *opt, core_rng *r,
                      double *loss) {
    pair_state *s = t->s;
    for (size_t j = 0; j < n; j++) {
        model_query q = {.user = ex[j].user};
        pair_side_of(s, &q, &t->sides[j], NULL, NULL);
        t->jobs[j] = (pair_job){&t->sides[j], ex[j].user, ex[j].item, SIZE_MAX};
    }
    nn_zero_grad(&s->s);
    int rc = pair_forward(s, &t->w, &t->b, t->jobs, n, true, r);
    if (rc) return rc;
    float inv = 1.0f / (float)n;
    for (size_t j = 0; j < n; j++) {
        if (s->rating) {
            float e = s->mean + t->b.z[j] - ex[j].target;
            *loss += 0.5 * (double)e * e;
            t->dz[j] = e * inv;
        } else {
            float g;
            *loss += nn_bce_logit(t->b.z[j], ex[j].target, &g);
            t->dz[j] = g * inv;
        }
    }
    nn_linear_backward(&s->s, &s->head, t->w.pooled, t->dz, n, t->w.dpooled);
    memset(t->w.dfin, 0, t->w.bt.rows * s->enc.c.d * sizeof *t->w.dfin);
    if ((rc = nn_encoder_backward(&s->s, &s->enc, &t->w, &s->toks))) return rc;
    if (s->id_factors) id_backward(t, n);
    nn_adamw_step(&s->s, opt);
    return AISLE_OK;
}

static int fit(aisle_model *m, pair_state *s, uint32_t n_known, const aisle_config *cfg, core_progress *prog) {
    const option_spec *o = pair_options;
    int epochs = (int)config_int(cfg, o, "epochs"), negatives = (int)config_int(cfg, o, "sampled_negatives");
    size_t Bmax = (size_t)config_int(cfg, o, "batch_size"), n_pos = 0;
    /* purchases: the pairs netting a positive weight (returns are not) */
    for (size_t k = 0; k < m->history.nnz; k++) n_pos += s->rating || m->history.values[k] > 0;
    size_t per = s->rating ? 1 : 1 + (size_t)negatives, N = n_pos * per;
    int threads = core_thread_count(config_int(cfg, o, "threads"));
    pair_trainer t;
    memset(&t, 0, sizeof t);
    t.s = s;
    size_t *order = core_malloc((n_pos ? n_pos : 1) * sizeof *order);
    pair_example *ex = core_malloc((N ? N : 1) * sizeof *ex);
    t.sides = core_malloc(Bmax * sizeof *t.sides);
    t.jobs = core_malloc(Bmax * sizeof *t.jobs);
    t.dz = core_malloc(Bmax * sizeof *t.dz);
    int rc = !order || !ex || !t.sides || !t.jobs || !t.dz ? core_oom("pair training") : AISLE_OK;
    if (!rc) rc = nn_encoder_ws_alloc(&t.w, &s->enc, Bmax, threads, true);
    if (!rc) rc = pair_batch_alloc(&t.b, s, Bmax);
    if (!rc && s->id_factors) {
        size_t rows[4] = {s->n_users, s->n_items, s->n_users, s->n_items};
        nn_param p[4] = {s->uf, s->vf, s->ub, s->vb};
        for (int k = 0; k < 4 && !rc; k++) {
            t.touched[k] = core_calloc(rows[k] ? rows[k] : 1, 1);
            if (!t.touched[k]) rc = core_oom("pair training");
            else nn_store_set_lazy(&s->s, p[k], t.touched[k]);
        }
    }
    if (!rc) nn_store_set_lazy(&s->s, s->enc.emb, t.w.touched);
    core_rng r;
    rng_seed_stream(&r, (uint64_t)config_int(cfg, o, "seed"), 0x9a17);
    size_t steps = (N + Bmax - 1) / Bmax * (size_t)epochs;
    nn_adamw opt = {.lr = (float)config_float(cfg, o, "learning_rate"), .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                    .weight_decay = (float)config_float(cfg, o, "l2"),
                    .clip_norm = (float)config_float(cfg, o, "clip_norm"),
                    .warmup_steps = (int64_t)(steps / 20), .total_steps = (int64_t)steps,
                    .decay = NN_DECAY_LINEAR};
    for (size_t k = 0, j = 0; k < m->history.nnz && order; k++)
        if (s->rating || m->history.values[k] > 0) order[j++] = k;
    double secs = core_now();
    for (int ep = 0; ep < epochs && !rc; ep++) {
        for (size_t k = n_pos; k > 1; k--) { /* Fisher-Yates */
            size_t j = (size_t)rng_below(&r, k), tmp = order[k - 1];
            order[k - 1] = order[j];
            order[j] = tmp;
        }
        if (s->rating) {
            for (size_t k = 0; k < n_pos; k++) {
                size_t nz = order[k];
                ex[k] = (pair_example){entry_user(&m->history, nz), m->history.indices[nz], m->history.values[nz]};
            }
        } else {
            draw_examples(m, n_known, order, n_pos, negatives, &r, ex);
        }
        double loss = 0;
        for (size_t start = 0; start < N && !rc; start += Bmax)
            rc = train_step(&t, ex + start, CORE_MIN(Bmax, N - start), &opt, &r, &loss);
        if (!rc) rc = core_progress_report(prog, ep, epochs, loss / (double)(N ? N : 1), NAN);
    }
    secs = core_now() - secs;
    if (!rc && secs > 0) rc = aisle_model_set_metric(m, "train_pairs_per_second", (double)N * epochs / secs);
    nn_store_set_lazy(&s->s, s->enc.emb, NULL);
    if (s->id_factors) {
        nn_param p[4] = {s->uf, s->vf, s->ub, s->vb};
        for (int k = 0; k < 4; k++) nn_store_set_lazy(&s->s, p[k], NULL);
    }
    trainer_free(&t);
    core_free(order);
    core_free(ex);
    return rc;
}

/* BERT: the examples (purchase negatives drawn once), then the bert
 * module's head training on the pairs they make. */
static int fit_bert(aisle_model *m, pair_state *s, uint32_t n_known, const aisle_config *cfg, core_progress *prog) {
    const option_spec *o = pair_options;
    int negatives = (int)config_int(cfg, o, "sampled_negatives");
    size_t n_pos = 0;
    for (size_t k = 0; k < m->history.nnz; k++) n_pos += s->rating || m->history.values[k] > 0;
    size_t N = n_pos * (s->rating ? 1 : 1 + (size_t)negatives);
    size_t *pos = core_malloc((n_pos ? n_pos : 1) * sizeof *pos);
    pair_example *ex = core_malloc((N ? N : 1) * sizeof *ex);
    int rc = pos && ex ? AISLE_OK : core_oom("pair training");
    for (size_t k = 0, j = 0; !rc && k < m->history.nnz; k++)
        if (s->rating || m->history.values[k] > 0) pos[j++] = k;
    if (!rc && s->rating) {
        for (size_t k = 0; k < n_pos; k++)
            ex[k] = (pair_example){entry_user(&m->history, pos[k]), m->history.indices[pos[k]],
                                   m->history.values[pos[k]]};
    } else if (!rc) {
        core_rng r;
        rng_seed_stream(&r, (uint64_t)config_int(cfg, o, "seed"), 0x9a17);
        draw_examples(m, n_known, pos, n_pos, negatives, &r, ex);
    }
    double secs = core_now(), loss = 0;
    if (!rc) rc = pair_bert_train(s, ex, N, cfg, &loss);
    secs = core_now() - secs;
    if (!rc) rc = core_progress_report(prog, 0, 1, loss, NAN);
    if (!rc && secs > 0) rc = aisle_model_set_metric(m, "train_pairs_per_second", (double)N / secs);
    core_free(pos);
    core_free(ex);
    return rc;
}

/* Mean and range of the training ratings; the rating words they need. */
static int rating_stats(const aisle_model *m, pair_state *s) {
    const data_csr *h = &m->history;
    double sum = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < h->nnz; k++) {
        float v = h->values[k];
        sum += v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (!h->nnz) return core_error(AISLE_EINVAL, "model 'pair': no training pairs");
    s->mean = (float)(sum / (double)h->nnz);
    s->rmin = lo;
    s->rmax = hi;
    long a = lrintf(lo), b = lrintf(hi);
    s->rating_lo = (int32_t)CORE_MAX(a, -1000000L);
    s->rating_words = (uint32_t)CORE_MIN(b - a + 1, (long)PAIR_MAX_RATING_WORDS);
    return AISLE_OK;
}

static bool any_positive(const aisle_model *m) {
    for (size_t k = 0; k < m->history.nnz; k++)
        if (m->history.values[k] > 0) return true;
    return false;
}

static int pair_train_users(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat,
                            const aisle_catalog *users, const aisle_config *cfg, core_progress *prog) {
    const option_spec *o = pair_options;
    int rc = cat ? add_catalog_items(m, cat) : AISLE_OK;
    if (rc) return rc;
    pair_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("pair model");
    m->state = s;
    nn_toks_init(&s->toks);
    s->rating = strcmp(config_string(cfg, o, "objective"), "rating") == 0;
    s->id_factors = (uint32_t)config_int(cfg, o, "id_factors");
    s->recent = (uint32_t)config_int(cfg, o, "recent_items");
    s->title_tokens = (uint32_t)config_int(cfg, o, "title_tokens");
    s->n_users = s->text_users = s->id_users = model_n_users(m);
    s->n_items = s->text_items = s->id_items = model_n_items(m);
    if (config_string(cfg, o, "encoder")[0]) {
        if (s->id_factors)
            return core_error(AISLE_EINVAL, "model 'pair': option id_factors is not used with option encoder (the "
                              "BERT reads the pair's text alone)");
        rc = pair_bert_open(s, cfg);
        if (!rc && s->rating) rc = rating_stats(m, s);
        if (!rc && !s->rating && !any_positive(m))
            rc = core_error(AISLE_EINVAL, "model 'pair': no training pairs with a positive weight");
        if (!rc) rc = build_texts(m, s, cat, users);
        if (!rc) rc = build_recent(m, s, ds);
        if (!rc) rc = fit_bert(m, s, (uint32_t)data_n_items(ds), cfg, prog);
        return rc;
    }
    nn_encoder_cfg ec;
    nn_encoder_default(&ec);
    ec.buckets = (uint32_t)config_int(cfg, o, "hash_buckets");
    ec.d = (size_t)config_int(cfg, o, "hidden");
    ec.layers = (int)config_int(cfg, o, "blocks");
    ec.heads = (int)config_int(cfg, o, "heads");
    ec.ff = (size_t)config_int(cfg, o, "ff_hidden");
    ec.max_len = (size_t)config_int(cfg, o, "maxlen");
    ec.dropout = (float)config_float(cfg, o, "dropout");
    ec.pool = NN_POOL_CLS;
    ec.segments = 2;
    nn_feat_default(&s->feat);
    s->feat.buckets = ec.buckets;
    s->feat.max_len = ec.max_len;
    s->feat.keep_strings = true; /* explanations name the words */
    if (s->rating) rc = rating_stats(m, s);
    if (!rc && !s->rating && !any_positive(m)) rc = core_error(AISLE_EINVAL, "model 'pair': no training pairs with a positive weight");
    if (!rc) rc = build_texts(m, s, cat, users);
    if (!rc) rc = build_recent(m, s, ds);
    if (!rc) rc = pair_build_net(s, &ec, true, 0);
    if (!rc) {
        core_rng r;
        rng_seed_stream(&r, (uint64_t)config_int(cfg, o, "seed"), 0x9a10);
        nn_encoder_reset(&s->enc, &s->s, &r);
        nn_linear_reset(&s->head, &s->s, &r);
        if (s->id_factors) {
            nn_init_normal(&s->s, s->uf, 0.01f, &r);
            nn_init_normal(&s->s, s->vf, 0.01f, &r);
            /* catalog-only products: no id signal, scored from text */
            uint32_t known = m->history.rows ? (uint32_t)data_n_items(ds) : 0;
            float *vf = nn_w(&s->s, s->vf);
            for (uint32_t i = known; i < s->n_items; i++) memset(vf + (size_t)i * s->id_factors, 0,
                                                                 s->id_factors * sizeof *vf);
        }
        rc = fit(m, s, (uint32_t)data_n_items(ds), cfg, prog);
    }
    return rc;
}

static int pair_train(aisle_model *m, const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg,
                      core_progress *prog) {
    return pair_train_users(m, ds, cat, NULL, cfg, prog);
}

const model_ops model_pair_ops = {
    .name = "pair",
    .summary = "cross-encoder over the text of a shopper (recent items' titles, profile) and a product: rating or "
               "purchase probability; scores catalog items without history",
    .options = pair_options,
    .flags = MODEL_PREDICTS_RATINGS | MODEL_FOLD_IN,
    .train = pair_train,
    .train_features = pair_train_users,
    .score_items = pair_score_items,
    .score_one = pair_score_one,
    .explain = pair_explain,
    .save = pair_save,
    .load = pair_load,
    .describe = pair_describe,
    .add_catalog = pair_add_catalog,
    .free_state = pair_free,
};
