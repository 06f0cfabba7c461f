/* transformer.c - architecture `transformer`: the BERT-style text encoder
 * of src/nn (encoder*.c) with a linear head on the pooled vector.
 *
 * Each token's input is the scaled sum of the embedding rows of its hashed
 * features (unigram, bigram, character n-grams: the same token groups the
 * bag model reads), plus a learned position.  As in bag.c, only buckets
 * that occur in training get a row: a bitmap over the intent kind's
 * hash_buckets with a popcount rank per 64-bit word maps a bucket to its
 * row in O(1).  Features without a row are skipped; a token none of whose
 * features has a row reads the [UNK] row.
 *
 * Training: optional masked-token pre-training on the training texts and
 * an unlabelled pile (pretrain_epochs, pretrain_texts), optionally starting from the encoder of another
 * transformer intent model (pretrained_encoder=FILE: its dimensions win;
 * buckets it has keep their rows, new ones get fresh rows), then
 * fine-tuning of encoder and head with AdamW.  Explanations are leave-one-
 * token-out (the token replaced by [MASK]).  Results depend only on data,
 * options and seed (not on the thread count). */
#include "text.h"

#include "nn/nn.h"

#include <math.h>
#include <string.h>

static const option_spec tf_options[] = {
    {"hidden", AISLE_OPTION_INT, 4, 1024, "64", NULL, "intent (transformer)",
     "Width of token embeddings and hidden states; a multiple of heads."},
    {"blocks", AISLE_OPTION_INT, 0, 16, "2", NULL, "intent (transformer)", "Transformer blocks (bidirectional, pre-LN)."},
    {"heads", AISLE_OPTION_INT, 1, 64, "4", NULL, "intent (transformer)", "Attention heads per block."},
    {"ff_hidden", AISLE_OPTION_INT, 4, 8192, "256", NULL, "intent (transformer)",
     "Width of each block's feed-forward layer."},
    {"maxlen", AISLE_OPTION_INT, 1, 1024, "64", NULL, "intent (transformer)",
     "Tokens of a text the encoder reads; the rest of a longer text is ignored (never an error)."},
    {"pooling", AISLE_OPTION_STRING, 0, 0, "mean", "mean|cls", "intent (transformer)",
     "Text vector: the mean of all final hidden states, or the [CLS] position's."},
    {"activation", AISLE_OPTION_STRING, 0, 0, "gelu", "relu|gelu", "intent (transformer)", "Feed-forward activation."},
    {"dropout", AISLE_OPTION_FLOAT, 0, 0.9, "0.1", NULL, "intent (transformer)",
     "Dropout on attention and feed-forward outputs while training."},
    {"epochs", AISLE_OPTION_INT, 0, 10000, "6", NULL, "intent (transformer)", "Fine-tuning passes over the training texts."},
    {"batch_size", AISLE_OPTION_INT, 1, 4096, "32", NULL, "intent (transformer)", "Texts per optimizer step."},
    {"learning_rate", AISLE_OPTION_FLOAT, 1e-7, 10, "0.002", NULL, "intent (transformer)",
     "Peak AdamW learning rate (linear warm-up over 5% of the steps, then linear decay to 10%)."},
    {"l2", AISLE_OPTION_FLOAT, 0, 10, "0.01", NULL, "intent (transformer)", "AdamW decoupled weight decay."},
    {"clip_norm", AISLE_OPTION_FLOAT, 0, 1e6, "1", NULL, "intent (transformer)", "Global gradient-norm clip; 0 disables."},
    {"pretrain_epochs", AISLE_OPTION_INT, 0, 10000, "0", NULL, "intent (transformer)",
     "Masked-token pre-training passes over the training texts before fine-tuning (BERT's recipe); 0: none."},
    {"mask_rate", AISLE_OPTION_FLOAT, 0.01, 0.9, "0.15", NULL, "intent (transformer)",
     "Pre-training: share of tokens masked (80% [MASK], 10% another token, 10% unchanged)."},
    {"mlm_buckets", AISLE_OPTION_INT, 2, 1048576, "8192", NULL, "intent (transformer)",
     "Pre-training: hashed output classes; a masked token's target is its word's bucket modulo this."},
    {"pretrain_texts", AISLE_OPTION_STRING, 0, 0, "", NULL, "intent (transformer)",
     "A plain UTF-8 file of unlabelled texts, one per line (catalog titles, chat logs, reviews), added to the "
     "training texts for masked-token pre-training (needs pretrain_epochs > 0); empty: none."},
    {"pretrained_encoder", AISLE_OPTION_STRING, 0, 0, "", NULL, "intent (transformer)",
     "An intent model file of architecture transformer whose encoder starts training (its dimensions are "
     "used; same hash_buckets required); empty: random initialisation."},
    OPTION_END}; /* threads and seed: the generic core options */

enum { TF_FORMAT = 1, TF_HEADER_WORDS = 11 };
enum { SEC_HEADER = TEXT_SECTION_TRANSFORMER + 0, SEC_BUCKETS = TEXT_SECTION_TRANSFORMER + 1,
       SEC_EMBEDDINGS = TEXT_SECTION_TRANSFORMER + 2, SEC_WEIGHTS = TEXT_SECTION_TRANSFORMER + 3 };

typedef struct tf_state {
    nn_textclf clf;   /* encoder (its buckets = rows) + head */
    uint32_t buckets; /* the intent kind's hash_buckets */
    uint32_t n_rows;  /* buckets with an embedding row */
    uint64_t *bits;   /* buckets/64 words: bucket has a row */
    uint32_t *rank;   /* rows before each word */
} tf_state;

static inline uint32_t tf_row(const tf_state *s, uint32_t bucket) {
    if (bucket >= s->buckets) return UINT32_MAX;
    uint64_t w = s->bits[bucket >> 6], bit = 1ull << (bucket & 63);
    if (!(w & bit)) return UINT32_MAX;
    return s->rank[bucket >> 6] + (uint32_t)__builtin_popcountll(w & (bit - 1));
}

static void tf_free(void *vs) {
    tf_state *s = vs;
    if (!s) return;
    nn_textclf_free(&s->clf);
    core_free(s->bits);
    core_free(s->rank);
    core_free(s);
}

static int tf_alloc_index(tf_state *s) {
    size_t words = ((size_t)s->buckets + 63) / 64;
    s->bits = core_calloc(words ? words : 1, sizeof *s->bits);
    s->rank = core_malloc((words ? words : 1) * sizeof *s->rank);
    return s->bits && s->rank ? AISLE_OK : core_oom("transformer bucket index");
}

static void tf_rank(tf_state *s) {
    size_t words = ((size_t)s->buckets + 63) / 64;
    uint32_t r = 0;
    for (size_t k = 0; k < words; k++) {
        s->rank[k] = r;
        r += (uint32_t)__builtin_popcountll(s->bits[k]);
    }
    s->n_rows = r;
}

/* Appends text view v to toks as encoder rows (at most maxlen tokens). */
static int tf_add_view(const tf_state *s, const text_view *v, nn_toks *t) {
    size_t n = CORE_MIN(v->n_tokens, s->clf.enc.c.max_len);
    int rc = core_grow((void **)&t->text_off, &t->texts_cap, t->n_texts + 2, sizeof *t->text_off);
    if (!rc) rc = core_grow((void **)&t->tok_off, &t->tokens_cap, t->n_tokens + n + 2, sizeof *t->tok_off);
    if (!rc) rc = core_grow((void **)&t->word, &t->word_cap, t->n_tokens + n + 1, sizeof *t->word);
    size_t need = t->n_ids + (n ? v->first[n] - v->first[0] : 0) + n;
    if (!rc) rc = core_grow((void **)&t->ids, &t->ids_cap, need ? need : 1, sizeof *t->ids);
    if (rc) return rc;
    if (t->n_texts == 0) t->text_off[0] = 0, t->tok_off[0] = 0;
    for (size_t k = 0; k < n; k++) {
        size_t before = t->n_ids;
        for (size_t i = v->first[k]; i < v->first[k + 1]; i++) {
            uint32_t r = tf_row(s, v->ids[i]);
            if (r != UINT32_MAX) t->ids[t->n_ids++] = NN_ENC_SPECIAL + r;
        }
        if (t->n_ids == before) t->ids[t->n_ids++] = NN_ENC_UNK;
        /* the group's first feature is the token's unigram */
        t->word[t->n_tokens] = v->first[k + 1] > v->first[k] ? v->ids[v->first[k]] : 0;
        t->n_tokens++;
        t->tok_off[t->n_tokens] = t->n_ids;
    }
    t->n_texts++;
    t->text_off[t->n_texts] = t->n_tokens;
    return AISLE_OK;
}

static int tf_set_toks(const tf_state *s, const text_set *set, nn_toks *t) {
    int rc = core_grow((void **)&t->ids, &t->ids_cap, set->n_ids + set->n_tokens_total + 1, sizeof *t->ids);
    for (size_t i = 0; i < set->n_docs && !rc; i++) {
        text_view v = text_set_view(set, i);
        rc = tf_add_view(s, &v, t);
    }
    return rc;
}

/* ---- reading the dimensions and weights (model files, pretrained encoders) ---- */

static int read_header(io_reader *r, uint32_t *h) {
    io_cursor c;
    int rc = io_reader_section(r, SEC_HEADER, &c);
    for (int i = 0; i < TF_HEADER_WORDS && !rc; i++) rc = io_get_u32(&c, &h[i]);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && h[0] != TF_FORMAT)
        rc = core_error(AISLE_EVERSION, "%s: transformer format %u, this library reads %u", c.section, h[0], TF_FORMAT);
    return rc;
}

/* Header words: format, hash buckets, labels, rows, hidden, ff, heads,
 * blocks, maxlen, activation, pooling. */
static void header_cfg(const uint32_t *h, nn_encoder_cfg *ec) {
    nn_encoder_default(ec);
    ec->buckets = h[3] + 1; /* rows; +1 keeps buckets >= 1 when no row exists (never indexed) */
    ec->d = h[4];
    ec->ff = h[5];
    ec->heads = (int)h[6];
    ec->layers = (int)h[7];
    ec->max_len = h[8];
    ec->act = (int)h[9];
    ec->pool = (int)h[10];
    ec->dropout = 0;
}

/* Builds a state (weights included) from r's transformer sections; with
 * n_labels == 0 the file's label count is used. */
static int tf_read(io_reader *r, uint32_t n_labels, uint32_t buckets, bool training, tf_state **out) {
    uint32_t h[TF_HEADER_WORDS];
    int rc = read_header(r, h);
    if (rc) return rc;
    if (h[1] != buckets)
        return core_error(AISLE_EFORMAT, "transformer: written for hash_buckets %u, not %u", h[1], buckets);
    if (n_labels && h[2] != n_labels)
        return core_error(AISLE_EFORMAT, "transformer: %u labels, the model has %u", h[2], n_labels);
    if (h[3] > buckets) return core_error(AISLE_EFORMAT, "transformer: %u rows for %u buckets", h[3], buckets);
    nn_encoder_cfg ec;
    header_cfg(h, &ec);
    if (h[2] < 1 || h[2] > (1u << 24) || nn_encoder_check(&ec))
        return core_error(AISLE_EFORMAT, "transformer header: invalid dimensions (labels %u, hidden %u, ff %u, heads "
                          "%u, blocks %u, maxlen %u, activation %u, pooling %u)", h[2], h[4], h[5], h[6], h[7], h[8],
                          h[9], h[10]);
    tf_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("loading the transformer");
    s->buckets = buckets;
    uint32_t *used = NULL;
    float *t = NULL;
    uint64_t n = 0, rows = 0, cols = 0;
    io_cursor c;
    rc = tf_alloc_index(s);
    if (!rc) rc = io_reader_section(r, SEC_BUCKETS, &c);
    if (!rc) rc = io_get_u32_array(&c, &used, &n, buckets);
    if (!rc && n != h[3])
        rc = core_error(AISLE_EFORMAT, "%s: %llu buckets, header says %u", c.section, (unsigned long long)n, h[3]);
    for (uint64_t k = 0; !rc && k < n; k++) {
        if (used[k] >= buckets || (k && used[k] <= used[k - 1]))
            rc = core_error(AISLE_EFORMAT, "%s: bucket list not increasing below %u at entry %llu", c.section, buckets,
                            (unsigned long long)k);
        else
            s->bits[used[k] >> 6] |= 1ull << (used[k] & 63);
    }
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) tf_rank(s);
    nn_feat_cfg fc;
    nn_feat_default(&fc);
    fc.buckets = ec.buckets;
    fc.max_len = ec.max_len;
    if (!rc) rc = nn_textclf_new(&s->clf, &ec, &fc, h[2], training, 0);
    nn_store *st = &s->clf.s;
    size_t d = ec.d, emb_n = (size_t)(NN_ENC_SPECIAL + h[3]) * d;
    if (!rc) rc = io_reader_section(r, SEC_EMBEDDINGS, &c);
    if (!rc) rc = io_get_tensor(&c, &t, &rows, &cols, (uint64_t)NN_ENC_SPECIAL + h[3], d);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) memcpy(nn_w(st, s->clf.enc.emb), t, emb_n * sizeof *t);
    core_free(t);
    t = NULL;
    /* everything after the bucket table (the extra never-indexed row) */
    size_t rest_off = s->clf.enc.emb.off + nn_size(s->clf.enc.emb), rest_n = rc ? 0 : st->n - rest_off;
    if (!rc) rc = io_reader_section(r, SEC_WEIGHTS, &c);
    if (!rc) rc = io_get_tensor(&c, &t, &rows, &cols, 1, rest_n);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) memcpy(st->w + rest_off, t, rest_n * sizeof *t);
    core_free(t);
    core_free(used);
    if (rc) {
        tf_free(s);
        return rc;
    }
    *out = s;
    return AISLE_OK;
}

static int tf_load(io_reader *r, uint32_t n_labels, uint32_t buckets, void **out) {
    tf_state *s = NULL;
    int rc = tf_read(r, n_labels, buckets, false, &s);
    if (!rc) *out = s;
    return rc;
}

/* The pretrained encoder of option pretrained_encoder. */
static int read_pretrained(const char *path, uint32_t buckets, tf_state **out) {
    uint8_t *data = NULL;
    size_t len = 0;
    io_reader *r = NULL;
    int rc = io_read_file(path, (uint64_t)1 << 34, &data, &len);
    if (!rc) rc = io_reader_open(&r, data, len, (uint64_t)1 << 34);
    if (!rc && strcmp(io_reader_kind(r), "intent") != 0)
        rc = core_error(AISLE_EINVAL, "model kind '%s', not intent", io_reader_kind(r));
    if (!rc && !io_reader_has_section(r, SEC_HEADER))
        rc = core_error(AISLE_EINVAL, "not a model of architecture transformer");
    if (!rc) rc = tf_read(r, 0, buckets, false, out);
    io_reader_free(r);
    core_free(data);
    if (rc) core_error_prefix(rc, "option pretrained_encoder '%s'", path);
    return rc;
}

/* ---- training ---- */

/* The texts of option pretrain_texts, featurized like the training texts:
 * one text per line ('\n', an optional '\r' before it dropped), empty
 * lines skipped.  *out holds every line's token groups (ids as features,
 * not yet rows); bits gets their buckets. */
typedef struct pile {
    uint32_t *ids;
    size_t *first;         /* token offsets into ids (n_tokens + 1) */
    size_t *doc_first;     /* text offsets into first (n_docs + 1) */
    size_t n_ids, n_tokens, n_docs, ids_cap, first_cap, docs_cap;
} pile;

static void pile_free(pile *p) {
    core_free(p->ids);
    core_free(p->first);
    core_free(p->doc_first);
    memset(p, 0, sizeof *p);
}

static int pile_load(const char *path, const aisle_config *cfg, uint32_t buckets, pile *p) {
    text_feat_cfg fc;
    int rc = text_feat_configure(&fc, cfg);
    if (rc) return rc;
    if (fc.buckets != buckets) return core_error(AISLE_EINTERNAL, "pretrain_texts: hash_buckets mismatch");
    uint8_t *data = NULL;
    size_t len = 0;
    rc = io_read_file(path, (uint64_t)1 << 34, &data, &len);
    text_doc d;
    text_doc_init(&d);
    if (!rc) rc = core_grow((void **)&p->doc_first, &p->docs_cap, 1, sizeof *p->doc_first);
    if (!rc) rc = core_grow((void **)&p->first, &p->first_cap, 1, sizeof *p->first);
    if (!rc) p->doc_first[0] = 0, p->first[0] = 0;
    for (size_t pos = 0; pos < len && !rc;) {
        const char *line = (const char *)data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r') n--;
        if (!n) continue;
        rc = text_featurize(&fc, line, n, &d);
        if (!rc && d.n_tokens == 0) continue;
        if (!rc) rc = core_grow((void **)&p->ids, &p->ids_cap, p->n_ids + d.n_ids, sizeof *p->ids);
        if (!rc) rc = core_grow((void **)&p->first, &p->first_cap, p->n_tokens + d.n_tokens + 1, sizeof *p->first);
        if (!rc) rc = core_grow((void **)&p->doc_first, &p->docs_cap, p->n_docs + 2, sizeof *p->doc_first);
        if (rc) break;
        memcpy(p->ids + p->n_ids, d.ids, d.n_ids * sizeof *d.ids);
        for (size_t k = 1; k <= d.n_tokens; k++) p->first[p->n_tokens + k] = p->n_ids + d.first[k];
        p->n_ids += d.n_ids;
        p->n_tokens += d.n_tokens;
        p->doc_first[++p->n_docs] = p->n_tokens;
    }
    text_doc_free(&d);
    core_free(data);
    if (rc) {
        pile_free(p);
        core_error_prefix(rc, "option pretrain_texts '%s'", path);
    }
    return rc;
}

typedef struct tf_prog {
    core_progress *prog;
    int steps, pretrain_epochs;
} tf_prog;

/* Epochs of both stages counted together, from the first (a resumed run
 * reports the epochs after its checkpoint's with their own numbers). */
static int tf_progress(void *ctx, int stage, int epoch, double loss) {
    tf_prog *p = ctx;
    int done = (stage ? p->pretrain_epochs : 0) + epoch + 1;
    return core_progress_report(p->prog, done, p->steps, loss, NAN);
}

/* Copies the pretrained encoder pre into s (same dimensions): rows of the
 * buckets pre knows, the special rows, positions, blocks and final norm. */
static void copy_pretrained(tf_state *s, const tf_state *pre) {
    size_t d = s->clf.enc.c.d;
    float *E = nn_w(&s->clf.s, s->clf.enc.emb);
    const float *P = nn_w(&pre->clf.s, pre->clf.enc.emb);
    memcpy(E, P, NN_ENC_SPECIAL * d * sizeof *E);
    for (size_t k = 0; k < ((size_t)s->buckets + 63) / 64; k++)
        for (uint64_t x = s->bits[k] & pre->bits[k]; x; x &= x - 1) {
            uint32_t b = (uint32_t)(k * 64 + (size_t)__builtin_ctzll(x));
            memcpy(E + (NN_ENC_SPECIAL + (size_t)tf_row(s, b)) * d, P + (NN_ENC_SPECIAL + (size_t)tf_row(pre, b)) * d,
                   d * sizeof *E);
        }
    size_t from = pre->clf.enc.pos.off, to = s->clf.enc.pos.off, n = pre->clf.enc.first + pre->clf.enc.count - from;
    memcpy(s->clf.s.w + to, pre->clf.s.w + from, n * sizeof(float));
}

static int tf_train_dp(const text_set *set, const text_set *valid, const aisle_config *cfg, core_progress *prog,
                       const nn_dp_hook *dp, void **out) {
    (void)valid;
    const option_spec *o = tf_options;
    nn_encoder_cfg ec;
    nn_encoder_default(&ec);
    ec.d = (size_t)config_int(cfg, o, "hidden");
    ec.layers = (int)config_int(cfg, o, "blocks");
    ec.heads = (int)config_int(cfg, o, "heads");
    ec.ff = (size_t)config_int(cfg, o, "ff_hidden");
    ec.max_len = (size_t)config_int(cfg, o, "maxlen");
    ec.pool = strcmp(config_string(cfg, o, "pooling"), "cls") == 0 ? NN_POOL_CLS : NN_POOL_MEAN;
    ec.act = strcmp(config_string(cfg, o, "activation"), "relu") == 0 ? NN_ACT_RELU : NN_ACT_GELU;
    ec.dropout = (float)config_float(cfg, o, "dropout");
    nn_train_cfg tc;
    nn_train_default(&tc);
    tc.epochs = (int)config_int(cfg, o, "epochs");
    tc.pretrain_epochs = (int)config_int(cfg, o, "pretrain_epochs");
    tc.batch = (size_t)config_int(cfg, o, "batch_size");
    tc.lr = tc.pretrain_lr = (float)config_float(cfg, o, "learning_rate");
    tc.weight_decay = (float)config_float(cfg, o, "l2");
    tc.clip_norm = (float)config_float(cfg, o, "clip_norm");
    tc.mask_rate = (float)config_float(cfg, o, "mask_rate");
    tc.mlm_buckets = (uint32_t)config_int(cfg, o, "mlm_buckets");
    tc.threads = core_thread_count(config_int(cfg, o, "threads"));
    tc.seed = (uint64_t)config_int(cfg, o, "seed");
    tc.soft = set->soft;
    tc.soft_alpha = set->soft_alpha;
    tc.soft_temperature = set->soft_temperature;
    tf_prog tp = {prog, tc.pretrain_epochs + tc.epochs, tc.pretrain_epochs};
    tc.progress = tf_progress;
    tc.progress_ctx = &tp;
    tc.dp = dp;
    tc.ckpt = dp ? dp->ckpt : NULL;
    const char *pre_path = config_string(cfg, o, "pretrained_encoder");
    const char *pile_path = config_string(cfg, o, "pretrain_texts");

    tf_state *pre = NULL, *s = core_calloc(1, sizeof *s);
    nn_toks toks;
    nn_toks_init(&toks);
    pile extra;
    memset(&extra, 0, sizeof extra);
    if (!s) return core_oom("transformer model");
    s->buckets = set->buckets;
    int rc = pre_path[0] ? read_pretrained(pre_path, set->buckets, &pre) : AISLE_OK;
    if (!rc && pile_path[0] && tc.pretrain_epochs == 0)
        rc = core_error(AISLE_EINVAL, "option pretrain_texts '%s' needs pretrain_epochs > 0", pile_path);
    if (!rc && pile_path[0]) rc = pile_load(pile_path, cfg, set->buckets, &extra);
    if (!rc && pre) {
        ec = pre->clf.enc.c;
        ec.dropout = (float)config_float(cfg, o, "dropout");
    }
    if (!rc) rc = tf_alloc_index(s);
    if (!rc) {
        for (size_t k = 0; k < set->n_ids; k++) s->bits[set->ids[k] >> 6] |= 1ull << (set->ids[k] & 63);
        for (size_t k = 0; k < extra.n_ids; k++) s->bits[extra.ids[k] >> 6] |= 1ull << (extra.ids[k] & 63);
        if (pre)
            for (size_t k = 0; k < ((size_t)s->buckets + 63) / 64; k++) s->bits[k] |= pre->bits[k];
        tf_rank(s);
        ec.buckets = s->n_rows + 1;
        nn_feat_cfg fc;
        nn_feat_default(&fc);
        fc.buckets = ec.buckets;
        fc.max_len = ec.max_len;
        rc = nn_textclf_new(&s->clf, &ec, &fc, set->n_labels, true, tc.seed);
    }
    if (!rc && pre) copy_pretrained(s, pre);
    tf_free(pre);
    if (!rc) rc = tf_set_toks(s, set, &toks);
    /* pre-training reads the training texts and then the pile; fine-tuning
     * the training texts only (a prefix of toks) */
    for (size_t i = 0; i < extra.n_docs && !rc; i++) {
        text_view v = {extra.ids, extra.first + extra.doc_first[i], extra.doc_first[i + 1] - extra.doc_first[i], NULL, 0};
        rc = tf_add_view(s, &v, &toks);
    }
    pile_free(&extra);
    if (!rc) rc = nn_textclf_pretrain(&s->clf, &toks, &tc, NULL);
    if (!rc) {
        nn_toks labelled = toks;
        labelled.n_texts = set->n_docs;
        rc = nn_textclf_finetune(&s->clf, &labelled, set->label, &tc, NULL);
    }
    nn_toks_free(&toks);
    if (rc) {
        tf_free(s);
        return rc;
    }
    /* prediction needs the weights only */
    nn_store *st = &s->clf.s;
    core_free(st->g);
    core_free(st->m);
    core_free(st->v);
    st->g = st->m = st->v = NULL;
    *out = s;
    return AISLE_OK;
}

static int tf_train(const text_set *set, const text_set *valid, const aisle_config *cfg, core_progress *prog,
                    void **out) {
    return tf_train_dp(set, valid, cfg, prog, NULL, out);
}

/* ---- prediction ---- */

static int tf_logits(const void *vs, const text_view *doc, float *logits) {
    const tf_state *s = vs;
    nn_toks t;
    nn_toks_init(&t);
    int rc = tf_add_view(s, doc, &t);
    if (!rc) rc = nn_textclf_logits(&s->clf, &t, logits, NULL);
    nn_toks_free(&t);
    return rc;
}

static int tf_explain(const void *vs, const text_view *doc, uint32_t label, float *contrib) {
    const tf_state *s = vs;
    nn_toks t;
    nn_toks_init(&t);
    size_t n = CORE_MIN(doc->n_tokens, s->clf.enc.c.max_len);
    /* tokens past maxlen are not read: they contribute nothing */
    for (size_t k = n; k < doc->n_tokens; k++) contrib[k] = 0.0f;
    int rc = tf_add_view(s, doc, &t);
    if (!rc && n) rc = nn_textclf_explain(&s->clf, &t, label, contrib);
    nn_toks_free(&t);
    return rc;
}

/* ---- text vectors (search) ---- */

/* The pooled vector the head reads: the mean of the final hidden states
 * (pooling=mean, the default) or the [CLS] state, whichever the model was
 * trained with, because training shaped exactly that vector. */
static size_t tf_embed_dim(const void *vs) { return ((const tf_state *)vs)->clf.enc.c.d; }

static int tf_embed(const void *vs, const text_view *doc, float *out) {
    const tf_state *s = vs;
    nn_toks t;
    nn_toks_init(&t);
    int rc = tf_add_view(s, doc, &t);
    if (!rc) rc = nn_textclf_embed(&s->clf, &t, out, NULL);
    nn_toks_free(&t);
    return rc;
}

static void tf_fingerprint(const void *vs, text_fp *fp) {
    const tf_state *s = vs;
    const nn_encoder_cfg *ec = &s->clf.enc.c;
    uint64_t dims[10] = {s->buckets, s->n_rows, ec->d, ec->ff, (uint64_t)ec->heads, (uint64_t)ec->layers,
                         ec->max_len, (uint64_t)ec->act, (uint64_t)ec->pool, s->clf.n_classes};
    text_fp_mix(fp, "transformer", 11);
    text_fp_mix(fp, dims, sizeof dims);
    text_fp_mix(fp, s->bits, ((size_t)s->buckets + 63) / 64 * sizeof *s->bits);
    /* the rows a bucket can reach, then everything after the table (the
     * spare never-indexed row is not saved: a loaded model has zeros there) */
    const nn_store *st = &s->clf.s;
    size_t rest_off = s->clf.enc.emb.off + nn_size(s->clf.enc.emb);
    text_fp_mix(fp, nn_w(st, s->clf.enc.emb), ((size_t)NN_ENC_SPECIAL + s->n_rows) * ec->d * sizeof *st->w);
    text_fp_mix(fp, st->w + rest_off, (st->n - rest_off) * sizeof *st->w);
}

/* ---- file ---- */

static int tf_save(const void *vs, io_writer *w) {
    const tf_state *s = vs;
    const nn_encoder_cfg *ec = &s->clf.enc.c;
    const nn_store *st = &s->clf.s;
    uint32_t h[TF_HEADER_WORDS] = {TF_FORMAT,          s->buckets,          (uint32_t)s->clf.n_classes,
                                   s->n_rows,          (uint32_t)ec->d,     (uint32_t)ec->ff,
                                   (uint32_t)ec->heads, (uint32_t)ec->layers, (uint32_t)ec->max_len,
                                   (uint32_t)ec->act,  (uint32_t)ec->pool};
    core_buf b;
    buf_init(&b);
    uint32_t *used = core_malloc(((size_t)s->n_rows ? s->n_rows : 1) * sizeof *used);
    if (!used) return core_oom("saving the transformer");
    size_t n = 0;
    for (size_t k = 0; k < ((size_t)s->buckets + 63) / 64; k++)
        for (uint64_t x = s->bits[k]; x; x &= x - 1) used[n++] = (uint32_t)(k * 64 + (size_t)__builtin_ctzll(x));
    int q = io_writer_quant(w), rc = AISLE_OK;
    for (int i = 0; i < TF_HEADER_WORDS && !rc; i++) rc = io_put_u32(&b, h[i]);
    if (!rc) rc = io_writer_add_section(w, SEC_HEADER, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    if (!rc) rc = io_put_u32_array(&b, used, n);
    if (!rc) rc = io_writer_add_section(w, SEC_BUCKETS, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    /* the bucket table (most of the bytes) in the writer's encoding, one
     * int8 scale per row; the dense layers in fp16 when quantizing (int8
     * with one scale per flattened tensor would lose too much) */
    if (!rc) rc = io_put_tensor(&b, nn_w(st, s->clf.enc.emb), (uint64_t)NN_ENC_SPECIAL + s->n_rows, ec->d, q);
    if (!rc) rc = io_writer_add_section(w, SEC_EMBEDDINGS, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    size_t rest_off = s->clf.enc.emb.off + nn_size(s->clf.enc.emb);
    if (!rc) rc = io_put_tensor(&b, st->w + rest_off, 1, st->n - rest_off, q == IO_QUANT_NONE ? q : IO_QUANT_FP16);
    if (!rc) rc = io_writer_add_section(w, SEC_WEIGHTS, IO_FLAG_REQUIRED, &b);
    core_free(used);
    buf_free(&b);
    return rc;
}

static int tf_describe(const void *vs, core_buf *out) {
    const tf_state *s = vs;
    const nn_encoder_cfg *ec = &s->clf.enc.c;
    return buf_printf(out,
                      "transformer_hidden: %zu\ntransformer_blocks: %d\ntransformer_heads: %d\ntransformer_ff: %zu\n"
                      "transformer_maxlen: %zu\ntransformer_pooling: %s\ntransformer_rows: %u\nparameters: %zu\n",
                      ec->d, ec->layers, ec->heads, ec->ff, ec->max_len, ec->pool == NN_POOL_CLS ? "cls" : "mean",
                      s->n_rows, s->clf.s.n - ec->d /* the never-indexed spare row */);
}

const text_arch_ops text_transformer_ops = {
    .name = "transformer",
    .summary = "BERT-style encoder over hashed token buckets (optional masked-token pre-training), fine-tuned",
    .options = tf_options,
    .train = tf_train,
    .train_dp = tf_train_dp,
    .logits = tf_logits,
    .explain = tf_explain,
    .save = tf_save,
    .load = tf_load,
    .describe = tf_describe,
    .free = tf_free,
    .embed_dim = tf_embed_dim,
    .embed = tf_embed,
    .fingerprint = tf_fingerprint,
};
