/* intent.c - architecture `bert` of the intent kind: a pretrained BERT
 * (option encoder: an aisle bert model file) encodes each message, and a
 * linear softmax head over its pooled output (the pooler, [CLS] or the
 * mean of the last layer) gives the intents' logits.
 *
 * The architecture takes raw texts (text_arch_ops.raw_text): BERT runs its
 * own WordPiece tokenizer, so the intent kind's hashed features are never
 * built for it.  Training is the head alone on the frozen encoder by
 * default - each training text is encoded once, then the head trains with
 * AdamW in minibatches on the intent kind's loss (cross-entropy mixed with
 * a teacher's soft targets when distilling, text_example_grad) - or, with
 * finetune_layers = N > 0, the top N encoder layers, the pooler and the
 * head together through tune.c (pooler output only, no teacher).
 *
 * The model file is self-contained: the encoder's three sections (config,
 * vocabulary, weights in the save's quantize encoding) follow the head in
 * TEXT_SECTION_BERT + 1 .. + 3, so an intent model of this architecture
 * never depends on the encoder file it was trained from.
 *
 * Explanations are leave-one-token-out over the WordPieces the model
 * reads: a token's contribution is how much the label's margin over the
 * mean logit drops when that token is removed from the sequence (all the
 * variants run as one packed forward). */
#include "bert.h"
#include "text/text.h"

#include <cblas.h>
#include <string.h>

static const option_spec bert_arch_options[] = {
    OPTION_STRING("encoder", "", "intent (bert)",
     "Architecture bert: the pretrained BERT (an aisle bert model file, from aisle import --format bert) that "
     "encodes each message. Required. Its weights are copied into the intent model, which then stands alone."),
    OPTION_CHOICE("bert_pooling", "pooler", "pooler|cls|mean", "intent (bert)",
     "Architecture bert: what the intent head reads - the pooler's output (tanh over [CLS], what BERT's "
     "sequence classifier reads), the last layer's [CLS] row, or the mean of its rows. finetune_layers > 0 "
     "needs pooler."),
    OPTION_END};

/* pooling codes in the file (not the public AISLE_BERT_POOL_* values, so
 * the format never follows the header) */
enum { FILE_POOL_POOLER = 0, FILE_POOL_CLS = 1, FILE_POOL_MEAN = 2 };
static const int file_to_pool[] = {AISLE_BERT_POOL_POOLER, AISLE_BERT_POOL_CLS, AISLE_BERT_POOL_MEAN};
static const char *const pool_names[] = {"pooler", "cls", "mean"};

enum { HEAD_BATCH = 32, EMBED_CHUNK = 256, EXPLAIN_TOKENS = 4096, ARCH_VERSION = 1 };

typedef struct bert_intent {
    aisle_bert *m;      /* the encoder (no classifier of its own) */
    uint32_t n_labels, pool, max_len; /* pool: FILE_POOL_* */
    float *W;           /* n_labels x hidden */
    float *b;           /* n_labels */
} bert_intent;

static void arch_free(void *vs) {
    bert_intent *s = vs;
    if (!s) return;
    aisle_bert_free(s->m);
    core_free(s->W);
    core_free(s->b);
    core_free(s);
}

/* Drops the encoder's own classifier: the intent head replaces it. */
static void drop_classifier(aisle_bert *m) {
    bert_mat_free(&m->cls);
    core_free(m->cls_b);
    m->cls_b = NULL;
    m->cfg.has_classifier = false;
    keys_clear(&m->label_names);
}

/* z[n x L] = E[n x H] W^T + b */
static void head_logits(const bert_intent *s, const float *E, size_t n, float *z) {
    size_t L = s->n_labels, H = s->m->cfg.hidden;
    for (size_t i = 0; i < n; i++) memcpy(z + i * L, s->b, L * sizeof *z);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)L, (int)H, 1.0f, E, (int)H, s->W, (int)H, 1.0f,
                z, (int)L);
}

/* [CLS] ids[0..k) [SEP] without ids[skip] (skip >= k: none) appended to
 * seq at *pos. */
static void put_seq(const bert_vocab *v, const uint32_t *ids, size_t k, size_t skip, uint32_t *seq, size_t *pos) {
    seq[(*pos)++] = v->cls;
    for (size_t t = 0; t < k; t++)
        if (t != skip) seq[(*pos)++] = ids[t];
    seq[(*pos)++] = v->sep;
}

/* Logits of packed sequences (types all 0) in z[nseq x L]. */
static int seqs_logits(const bert_intent *s, const size_t *start, const uint32_t *ids, const uint32_t *types,
                       size_t nseq, float *z) {
    float *E = core_malloc(nseq * s->m->cfg.hidden * sizeof *E);
    if (!E) return core_oom("bert intent embeddings");
    bert_seqs q = {nseq, start, ids, types};
    int rc = bert_embed_seqs(s->m, &q, file_to_pool[s->pool], 1, E);
    if (!rc) head_logits(s, E, nseq, z);
    core_free(E);
    return rc;
}

static int arch_logits(const void *vs, const text_view *v, float *z) {
    const bert_intent *s = vs;
    bert_ids ti = {0};
    int rc = bert_tokenize(&s->m->vocab, s->m->cfg.lower, s->m->cfg.strip_accents, v->text ? v->text : "",
                           v->text ? v->len : 0, &ti);
    size_t k = CORE_MIN(ti.n, (size_t)s->max_len - 2), pos = 0, start[2] = {0, k + 2};
    uint32_t *seq = rc ? NULL : core_calloc(2 * (k + 2), sizeof *seq);
    if (!rc && !seq) rc = core_oom("bert intent tokens");
    if (!rc) {
        put_seq(&s->m->vocab, ti.v, k, SIZE_MAX, seq, &pos);
        rc = seqs_logits(s, start, seq, seq + k + 2, 1, z);
    }
    core_free(seq);
    bert_ids_free(&ti);
    return rc;
}

static int arch_logits_batch(const void *vs, const char *const *texts, const size_t *lens, size_t n, int threads,
                             float *z) {
    (void)lens; /* the texts are NUL-terminated, which bert_embed_with reads */
    const bert_intent *s = vs;
    size_t H = s->m->cfg.hidden, chunk = CORE_MIN(n, (size_t)EMBED_CHUNK);
    float *E = core_malloc((chunk ? chunk : 1) * H * sizeof *E);
    int rc = E ? AISLE_OK : core_oom("bert intent embeddings");
    for (size_t i = 0; !rc && i < n; i += chunk) {
        size_t m = CORE_MIN(chunk, n - i);
        rc = bert_embed_with(s->m, texts + i, NULL, m, file_to_pool[s->pool], s->max_len, threads, E);
        if (!rc) head_logits(s, E, m, z + i * s->n_labels);
    }
    core_free(E);
    return rc;
}

/* The WordPieces of a text as the explanation's tokens: ids in d->ids
 * (one per token), and with keep_text the pieces' text. */
static int arch_tokens(const void *vs, const char *text, size_t len, text_doc *d) {
    const bert_intent *s = vs;
    const bert_vocab *v = &s->m->vocab;
    bert_ids ti = {0};
    int rc = bert_tokenize(v, s->m->cfg.lower, s->m->cfg.strip_accents, text ? text : "", text ? len : 0, &ti);
    size_t n = ti.n;
    d->n_ids = d->n_tokens = 0;
    d->tok_text.len = 0;
    if (!rc) rc = core_grow((void **)&d->ids, &d->ids_cap, n ? n : 1, sizeof *d->ids);
    if (!rc) rc = core_grow((void **)&d->first, &d->first_cap, n + 1, sizeof *d->first);
    if (!rc && d->keep_text) rc = core_grow((void **)&d->tok_off, &d->tok_off_cap, n ? n : 1, sizeof *d->tok_off);
    for (size_t t = 0; !rc && t < n; t++) {
        d->ids[t] = ti.v[t];
        d->first[t] = t;
        if (d->keep_text) {
            d->tok_off[t] = d->tok_text.len;
            rc = buf_append(&d->tok_text, v->arena + v->off[ti.v[t]], v->len[ti.v[t]] + 1); /* with its NUL */
        }
    }
    if (!rc) {
        d->first[n] = n;
        d->n_ids = d->n_tokens = n;
        d->truncated = n > (size_t)s->max_len - 2;
    }
    bert_ids_free(&ti);
    return rc;
}

/* Leave-one-token-out: sequence 0 is the text as the model reads it,
 * sequence 1 + t the same without token t; contrib[t] = margin(0) -
 * margin(1 + t) with margin = logit[label] - mean logit.  Tokens beyond
 * max_length are not read and get 0.  Sequences run in packed groups of
 * about EXPLAIN_TOKENS tokens. */
static int arch_explain(const void *vs, const text_view *v, uint32_t label, float *contrib) {
    const bert_intent *s = vs;
    size_t L = s->n_labels, n = v->n_tokens, k = CORE_MIN(n, (size_t)s->max_len - 2);
    size_t per = CORE_MAX((size_t)1, EXPLAIN_TOKENS / (k + 2)), nseq = k + 1;
    uint32_t *seq = core_malloc(2 * per * (k + 2) * sizeof *seq);
    size_t *start = core_malloc((per + 1) * sizeof *start);
    float *z = core_malloc(per * L * sizeof *z);
    int rc = !seq || !start || !z ? core_oom("bert intent explanation") : AISLE_OK;
    double base = 0;
    for (size_t t = 0; t < n; t++) contrib[t] = 0;
    for (size_t g0 = 0; !rc && g0 < nseq; g0 += per) {
        size_t g1 = CORE_MIN(nseq, g0 + per), pos = 0;
        for (size_t q = g0; q < g1; q++) {
            start[q - g0] = pos;
            put_seq(&s->m->vocab, v->ids, k, q ? q - 1 : SIZE_MAX, seq, &pos);
        }
        start[g1 - g0] = pos;
        memset(seq + pos, 0, pos * sizeof *seq); /* token types */
        rc = seqs_logits(s, start, seq, seq + pos, g1 - g0, z);
        for (size_t q = g0; !rc && q < g1; q++) {
            const float *zq = z + (q - g0) * L;
            double mean = 0;
            for (size_t l = 0; l < L; l++) mean += zq[l];
            double margin = zq[label] - mean / (double)L;
            if (q == 0) base = margin;
            else contrib[q - 1] = (float)(base - margin);
        }
    }
    core_free(seq);
    core_free(start);
    core_free(z);
    return rc;
}

/* ---- training ---- */

static int load_encoder(const aisle_config *cfg, aisle_bert **out) {
    const char *path = config_string(cfg, bert_arch_options, "encoder");
    if (!path[0])
        return core_error(AISLE_EINVAL, "architecture bert needs option encoder=FILE (a bert model file: aisle "
                          "import --format bert DIR --out FILE)");
    int rc = bert_load_file(path, cfg, "encoder", out);
    if (!rc) drop_classifier(*out);
    return rc;
}

/* The head alone, on embeddings E[n x H] of the training texts. */
static int train_head(bert_intent *s, const text_set *set, const float *E, const aisle_config *cfg,
                      core_progress *prog) {
    size_t L = s->n_labels, H = s->m->cfg.hidden, n = set->n_docs;
    int64_t epochs = config_int(cfg, bert_options, "head_epochs");
    nn_store st;
    nn_store_init(&st);
    nn_param W, B;
    uint32_t *order = core_malloc(n * sizeof *order);
    float *Xb = core_malloc(HEAD_BATCH * H * sizeof *Xb), *z = core_malloc(HEAD_BATCH * L * sizeof *z),
          *G = core_malloc(HEAD_BATCH * L * sizeof *G), *p = core_malloc(L * sizeof *p);
    int rc = !order || !Xb || !z || !G || !p ? core_oom("bert intent head") : AISLE_OK;
    if (!rc) rc = nn_store_add(&st, L, H, true, &W);
    if (!rc) rc = nn_store_add(&st, 1, L, false, &B);
    if (!rc) rc = nn_store_alloc(&st, true);
    core_rng rng;
    rng_seed(&rng, (uint64_t)config_int(cfg, NULL, "seed"));
    nn_adamw opt = {(float)config_float(cfg, bert_options, "head_learning_rate"), 0.9f, 0.999f, 1e-8f, 0.01f, 1.0f,
                    0, 0, NN_DECAY_NONE};
    if (!rc) {
        nn_init_normal(&st, W, 0.02f, &rng); /* BERT's initializer range */
        for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    }
    for (int64_t e = 0; !rc && e < epochs; e++) {
        rng_shuffle_u32(&rng, order, n);
        double loss = 0;
        for (size_t b0 = 0; b0 < n; b0 += HEAD_BATCH) {
            size_t nb = CORE_MIN((size_t)HEAD_BATCH, n - b0);
            for (size_t i = 0; i < nb; i++) memcpy(Xb + i * H, E + (size_t)order[b0 + i] * H, H * sizeof *Xb);
            s->W = nn_w(&st, W), s->b = nn_w(&st, B);
            head_logits(s, Xb, nb, z);
            float *gb = nn_g(&st, B);
            for (size_t i = 0; i < nb; i++) {
                float *g = G + i * L;
                loss += text_example_grad(set, order[b0 + i], z + i * L, p, g, (uint32_t)L);
                for (size_t l = 0; l < L; l++) gb[l] += g[l] /= (float)nb;
            }
            /* dW[L x H] = G^T Xb */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)L, (int)H, (int)nb, 1.0f, G, (int)L, Xb, (int)H,
                        1.0f, nn_g(&st, W), (int)H);
            nn_adamw_step(&st, &opt);
            nn_zero_grad(&st);
        }
        rc = core_progress_report(prog, (int)e + 1, (int)epochs, loss / (double)n, NAN);
    }
    s->W = s->b = NULL;
    if (!rc) {
        s->W = core_malloc(L * H * sizeof *s->W);
        s->b = core_malloc(L * sizeof *s->b);
        if (!s->W || !s->b) rc = core_oom("bert intent head");
    }
    if (!rc) {
        memcpy(s->W, nn_w(&st, W), L * H * sizeof *s->W);
        memcpy(s->b, nn_w(&st, B), L * sizeof *s->b);
    }
    nn_store_free(&st);
    core_free(order);
    core_free(Xb);
    core_free(z);
    core_free(G);
    core_free(p);
    return rc;
}

/* The top layers, the pooler and the head (tune.c); the encoder then
 * holds the trained layers and the head moves into s. */
static int train_layers(bert_intent *s, const text_set *set, const char *const *texts, const aisle_config *cfg,
                        core_progress *prog) {
    if (s->pool != FILE_POOL_POOLER)
        return core_error(AISLE_EINVAL, "option finetune_layers > 0 trains the pooler, so it needs bert_pooling=pooler");
    if (set->soft)
        return core_error(AISLE_EUNSUPPORTED, "architecture bert distils from a teacher with the head alone "
                          "(finetune_layers=0)");
    float *labels = core_malloc(set->n_docs * sizeof *labels);
    if (!labels) return core_oom("bert intent labels");
    for (size_t i = 0; i < set->n_docs; i++) labels[i] = (float)set->label[i];
    double loss = 0;
    int rc = bert_finetune_layers(s->m, texts, NULL, labels, set->n_docs, s->n_labels, false, false, cfg, &loss);
    core_free(labels);
    if (!rc) rc = core_progress_report(prog, 1, 1, loss, NAN);
    size_t L = s->n_labels, H = s->m->cfg.hidden;
    if (!rc) {
        s->W = core_malloc(L * H * sizeof *s->W);
        s->b = core_malloc(L * sizeof *s->b);
        if (!s->W || !s->b) rc = core_oom("bert intent head");
    }
    if (!rc) {
        memcpy(s->W, s->m->cls.f, L * H * sizeof *s->W);
        memcpy(s->b, s->m->cls_b, L * sizeof *s->b);
        drop_classifier(s->m);
    }
    return rc;
}

static int arch_train(const text_set *set, const text_set *valid, const aisle_config *cfg, core_progress *prog,
                      void **out) {
    (void)valid;
    if (!set->texts) return core_error(AISLE_EINVAL, "architecture bert reads raw texts");
    bert_intent *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("bert intent model");
    s->n_labels = set->n_labels;
    const char *pool = config_string(cfg, bert_arch_options, "bert_pooling");
    s->pool = strcmp(pool, "cls") == 0 ? FILE_POOL_CLS : strcmp(pool, "mean") == 0 ? FILE_POOL_MEAN : FILE_POOL_POOLER;
    size_t ml = 0;
    const char **texts = core_malloc((set->n_docs ? set->n_docs : 1) * sizeof *texts);
    float *E = NULL;
    int rc = texts ? load_encoder(cfg, &s->m) : core_oom("bert intent training");
    if (!rc && s->pool == FILE_POOL_POOLER && !s->m->cfg.has_pooler)
        rc = core_error(AISLE_EUNSUPPORTED, "the encoder has no pooler: set bert_pooling=cls or mean");
    if (!rc) rc = bert_max_length(s->m, cfg, &ml);
    if (!rc && ml < 2) rc = core_error(AISLE_ERANGE, "option max_length=%zu leaves no room for the text", ml);
    if (!rc) s->max_len = (uint32_t)ml;
    for (size_t i = 0; !rc && i < set->n_docs; i++) texts[i] = text_at(set->texts, i);
    if (!rc && config_int(cfg, bert_options, "finetune_layers") > 0) {
        rc = train_layers(s, set, texts, cfg, prog);
    } else if (!rc) {
        int threads = core_thread_count(config_int(cfg, NULL, "threads"));
        E = core_malloc((set->n_docs ? set->n_docs : 1) * s->m->cfg.hidden * sizeof *E);
        if (!E) rc = core_oom("bert intent embeddings");
        if (!rc) rc = bert_embed_with(s->m, texts, NULL, set->n_docs, file_to_pool[s->pool], ml, threads, E);
        if (!rc) rc = train_head(s, set, E, cfg, prog);
    }
    core_free(texts);
    core_free(E);
    if (rc) {
        arch_free(s);
        return rc;
    }
    *out = s;
    return AISLE_OK;
}

/* ---- file: the head in TEXT_SECTION_BERT, the encoder in + 1 .. + 3 ---- */

static int arch_save(const void *vs, io_writer *w) {
    const bert_intent *s = vs;
    core_buf b;
    buf_init(&b);
    int rc = io_put_u32(&b, ARCH_VERSION);
    if (!rc) rc = io_put_u32(&b, s->pool);
    if (!rc) rc = io_put_u32(&b, s->max_len);
    if (!rc) rc = io_put_tensor(&b, s->W, s->n_labels, s->m->cfg.hidden, IO_QUANT_NONE);
    if (!rc) rc = io_put_tensor(&b, s->b, 1, s->n_labels, IO_QUANT_NONE);
    if (!rc) rc = io_writer_add_section(w, TEXT_SECTION_BERT, IO_FLAG_REQUIRED, &b);
    buf_free(&b);
    if (!rc) rc = bert_write_sections(s->m, w, TEXT_SECTION_BERT + 1);
    return rc;
}

static int arch_load(io_reader *r, uint32_t n_labels, uint32_t buckets, void **out) {
    (void)buckets;
    io_cursor c;
    int rc = io_reader_section(r, TEXT_SECTION_BERT, &c);
    if (rc) return rc;
    bert_intent *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("loading the bert intent model");
    s->n_labels = n_labels;
    uint32_t version = 0;
    uint64_t rows = 0, cols = 0;
    rc = io_get_u32(&c, &version);
    if (!rc && version != ARCH_VERSION)
        rc = core_error(AISLE_EVERSION, "%s: bert head version %u (this library reads %d)", c.section, version,
                        ARCH_VERSION);
    if (!rc) rc = io_get_u32(&c, &s->pool);
    if (!rc && s->pool > FILE_POOL_MEAN) rc = core_error(AISLE_EFORMAT, "%s: pooling %u unknown", c.section, s->pool);
    if (!rc) rc = io_get_u32(&c, &s->max_len);
    /* the encoder first: its hidden size and positions bound the head */
    if (!rc) rc = bert_read_sections(r, TEXT_SECTION_BERT + 1, c.section, &s->m);
    if (!rc && s->m->cfg.has_classifier)
        rc = core_error(AISLE_EFORMAT, "%s: the encoder of an intent model carries a classifier", c.section);
    if (!rc && (s->max_len < 2 || s->max_len > s->m->cfg.max_pos))
        rc = core_error(AISLE_EFORMAT, "%s: max_length %u outside [2, %u]", c.section, s->max_len, s->m->cfg.max_pos);
    if (!rc && s->pool == FILE_POOL_POOLER && !s->m->cfg.has_pooler)
        rc = core_error(AISLE_EFORMAT, "%s: pooler pooling but the encoder has no pooler", c.section);
    if (!rc) rc = io_get_tensor(&c, &s->W, &rows, &cols, n_labels, s->m->cfg.hidden);
    if (!rc) rc = io_get_tensor(&c, &s->b, &rows, &cols, 1, n_labels);
    if (!rc) rc = io_cursor_done(&c);
    if (rc) {
        arch_free(s);
        return rc;
    }
    *out = s;
    return AISLE_OK;
}

/* The structure only: describe must not change when a model is saved in
 * another encoding and loaded again (the weights' encoding is the save's). */
static int arch_describe(const void *vs, core_buf *out) {
    const bert_intent *s = vs;
    const bert_config *c = &s->m->cfg;
    return buf_printf(out,
                      "bert_layers: %u\nbert_hidden: %u\nbert_heads: %u\nbert_vocab: %u\nbert_pooling: %s\n"
                      "bert_max_length: %u\n",
                      c->layers, c->hidden, c->heads, c->vocab, pool_names[s->pool], s->max_len);
}

const text_arch_ops bert_intent_ops = {
    .name = "bert",
    .summary = "a pretrained BERT (option encoder) with a softmax head over its pooled output",
    .options = bert_arch_options,
    .train = arch_train,
    .logits = arch_logits,
    .explain = arch_explain,
    .save = arch_save,
    .load = arch_load,
    .describe = arch_describe,
    .free = arch_free,
    .raw_text = true,
    .tokens = arch_tokens,
    .logits_batch = arch_logits_batch,
};
