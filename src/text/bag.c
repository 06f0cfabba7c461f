/* bag.c - architecture `bag`: a fastText-style linear text classifier
 * (Joulin et al. 2017, "Bag of Tricks for Efficient Text Classification").
 *
 * A text is the average h of the embedding rows of its hashed features
 * (every token's unigram, bigram and character n-grams), and the label
 * scores are z = W h, trained with softmax cross-entropy by SGD whose
 * learning rate decays linearly to zero over the run.  Threads update the
 * shared weights without locks (Hogwild, Recht et al. 2011), so with more
 * than one thread results vary slightly from run to run; threads=1 is
 * deterministic.
 *
 * Only buckets that occur in training get an embedding row: a bitmap over
 * the buckets with a popcount rank per 64-bit word maps a bucket to its row
 * in O(1), so hash_buckets can be large (few collisions) while memory and
 * the file hold only the rows used.  Features never seen in training have
 * no row and are ignored (they would only add the noise of their random
 * initial vectors). */
#include "text.h"

#include <math.h>
#include <string.h>

static const option_spec bag_options[] = {
    OPTION_INT("dim", 1, 1024, "64", "intent (bag)", "Embedding size of the bag model."),
    OPTION_INT("epochs", 1, 10000, "25", "intent (bag)", "Passes over the training texts."),
    OPTION_FLOAT("learning_rate", 1e-6, 10, "0.5", "intent (bag)",
     "Initial SGD learning rate, decayed linearly to zero."),
    OPTION_CHOICE("bag_norm", "mean", "mean|sqrt", "intent (bag)",
     "How a text's feature vectors are pooled: mean (fastText: sum / n) or sqrt (sum / sqrt(n): longer "
     "texts carry more evidence)."),
    OPTION_FLOAT("bag_dropout", 0, 0.9, "0", "intent (bag)",
     "Training only: share of a text's features left out of each update, drawn afresh every time (0: "
     "none). Keeps the model from leaning on a few features when texts carry many."),
    OPTION_END};

enum { BAG_NORM_MEAN = 0, BAG_NORM_SQRT = 1 };

typedef struct bag_state {
    uint32_t dim, n_labels, buckets, n_rows;
    uint32_t norm;    /* BAG_NORM_*: h = sum of the rows times bag_scale(n) */
    uint64_t *bits;   /* buckets/64 words: bucket used */
    uint32_t *rank;   /* rows before each word */
    float *in;        /* n_rows x dim */
    float *out;       /* n_labels x dim */
} bag_state;

/* Row of a bucket, or UINT32_MAX when it has none. */
static inline uint32_t bag_row(const bag_state *s, uint32_t bucket) {
    uint64_t w = s->bits[bucket >> 6], bit = 1ull << (bucket & 63);
    if (!(w & bit)) return UINT32_MAX;
    return s->rank[bucket >> 6] + (uint32_t)__builtin_popcountll(w & (bit - 1));
}

static void bag_free(void *vs) {
    bag_state *s = vs;
    if (!s) return;
    core_free(s->bits);
    core_free(s->rank);
    core_free(s->in);
    core_free(s->out);
    core_free(s);
}

/* Allocates s's index for buckets (bits zeroed). */
static int bag_alloc_index(bag_state *s) {
    size_t words = ((size_t)s->buckets + 63) / 64;
    s->bits = core_calloc(words, sizeof *s->bits);
    s->rank = core_malloc(words * sizeof *s->rank);
    return s->bits && s->rank ? AISLE_OK : core_oom("bag model index");
}

static void bag_rank(bag_state *s) {
    size_t words = ((size_t)s->buckets + 63) / 64;
    uint32_t r = 0;
    for (size_t k = 0; k < words; k++) {
        s->rank[k] = r;
        r += (uint32_t)__builtin_popcountll(s->bits[k]);
    }
    s->n_rows = r;
}

/* The pooling factor for n known features: 1/n (the mean) or 1/sqrt(n). */
static inline float bag_scale(const bag_state *s, size_t n) {
    if (!n) return 0.0f;
    return s->norm == BAG_NORM_SQRT ? 1.0f / sqrtf((float)n) : 1.0f / (float)n;
}

static inline float dot(const float *a, const float *b, uint32_t n) {
    float r = 0;
    for (uint32_t k = 0; k < n; k++) r += a[k] * b[k];
    return r;
}

static inline void axpy(float *y, float a, const float *x, uint32_t n) {
    for (uint32_t k = 0; k < n; k++) y[k] += a * x[k];
}

/* h = the pooled rows of the known features; returns their number. */
static size_t bag_hidden(const bag_state *s, const text_view *v, float *h) {
    uint32_t d = s->dim;
    memset(h, 0, d * sizeof *h);
    size_t n = 0;
    size_t b = v->n_tokens ? v->first[0] : 0, e = v->n_tokens ? v->first[v->n_tokens] : 0;
    for (size_t k = b; k < e; k++) {
        uint32_t r = v->ids[k] < s->buckets ? bag_row(s, v->ids[k]) : UINT32_MAX;
        if (r == UINT32_MAX) continue;
        axpy(h, 1.0f, s->in + (size_t)r * d, d);
        n++;
    }
    if (n > 1) {
        float inv = bag_scale(s, n);
        for (uint32_t k = 0; k < d; k++) h[k] *= inv;
    }
    return n;
}

static int bag_logits(const void *vs, const text_view *v, float *z) {
    const bag_state *s = vs;
    float stack[256];
    float *h = s->dim <= 256 ? stack : core_malloc(s->dim * sizeof *h);
    if (!h) return core_oom("bag prediction");
    bag_hidden(s, v, h);
    for (uint32_t l = 0; l < s->n_labels; l++) z[l] = dot(s->out + (size_t)l * s->dim, h, s->dim);
    if (h != stack) core_free(h);
    return AISLE_OK;
}

static int bag_explain(const void *vs, const text_view *v, uint32_t label, float *contrib) {
    const bag_state *s = vs;
    uint32_t d = s->dim;
    float *dir = core_calloc(d, sizeof *dir);
    if (!dir) return core_oom("bag explanation");
    /* logit[label] - mean logit = (W_label - mean_l W_l) . h, linear in h */
    for (uint32_t l = 0; l < s->n_labels; l++) axpy(dir, -1.0f / (float)s->n_labels, s->out + (size_t)l * d, d);
    axpy(dir, 1.0f, s->out + (size_t)label * d, d);
    size_t known = 0;
    for (size_t k = v->n_tokens ? v->first[0] : 0; v->n_tokens && k < v->first[v->n_tokens]; k++)
        known += v->ids[k] < s->buckets && bag_row(s, v->ids[k]) != UINT32_MAX;
    float inv = bag_scale(s, known);
    for (size_t t = 0; t < v->n_tokens; t++) {
        float c = 0;
        for (size_t k = v->first[t]; k < v->first[t + 1]; k++) {
            uint32_t r = v->ids[k] < s->buckets ? bag_row(s, v->ids[k]) : UINT32_MAX;
            if (r != UINT32_MAX) c += dot(dir, s->in + (size_t)r * d, d);
        }
        contrib[t] = c * inv;
    }
    core_free(dir);
    return AISLE_OK;
}

/* ---- training ---- */

typedef struct bag_train_ctx {
    bag_state *s;
    const text_set *set;
    const uint32_t *rows;   /* set->ids mapped to rows */
    uint32_t *order;        /* example order of the current epoch */
    int threads, epoch, epochs;
    float lr0;
    uint32_t keep_below;    /* feature dropout: keep a feature when 32 random bits < this; UINT32_MAX: all */
    uint64_t seed;
    double *loss;           /* per thread, padded */
    float *scratch;         /* per thread: 2*dim + 2*labels, padded */
    size_t scratch_stride;
    uint32_t *kept;         /* per thread: rows of the current example's kept features */
    size_t kept_stride;
} bag_train_ctx;

static int bag_train_range(void *vc, size_t begin, size_t end, int tid) {
    bag_train_ctx *c = vc;
    bag_state *s = c->s;
    const text_set *set = c->set;
    uint32_t d = s->dim, nl = s->n_labels;
    float *h = c->scratch + (size_t)tid * c->scratch_stride, *gh = h + d, *z = gh + d, *p = z + nl, *g = p + nl;
    uint32_t *kept = c->kept ? c->kept + (size_t)tid * c->kept_stride : NULL;
    double loss = 0;
    size_t n_docs = set->n_docs;
    double total = (double)n_docs * c->epochs;
    /* worker slot `begin` of `threads` owns a contiguous slice of the order */
    for (size_t w = begin; w < end; w++) {
        core_rng rng;
        rng_seed_stream(&rng, c->seed, (uint64_t)c->epoch * (uint64_t)c->threads + w);
        size_t lo = n_docs * w / (size_t)c->threads, hi = n_docs * (w + 1) / (size_t)c->threads;
        for (size_t i = lo; i < hi; i++) {
            size_t doc = c->order[i];
            size_t b = set->tok_first[set->doc_first[doc]], e = set->tok_first[set->doc_first[doc + 1]];
            /* progress as if the threads advanced in step */
            double done = (double)c->epoch * n_docs + (double)(i - lo) * c->threads;
            float lr = c->lr0 * (float)CORE_MAX(0.0, 1.0 - done / total);
            /* with dropout each update sees a random subset of the features
             * (its own stream per slot and epoch, so threads=1 repeats) */
            const uint32_t *rows = c->rows + b;
            size_t n = e - b;
            if (c->keep_below != UINT32_MAX) {
                size_t m = 0;
                for (size_t k = 0; k < n; k++)
                    if ((uint32_t)(rng_next(&rng) >> 32) < c->keep_below) kept[m++] = rows[k];
                rows = kept;
                n = m;
            }
            memset(h, 0, d * sizeof *h);
            for (size_t k = 0; k < n; k++) axpy(h, 1.0f, s->in + (size_t)rows[k] * d, d);
            if (n > 1) {
                float inv = bag_scale(s, n);
                for (uint32_t k = 0; k < d; k++) h[k] *= inv;
            }
            for (uint32_t l = 0; l < nl; l++) z[l] = dot(s->out + (size_t)l * d, h, d);
            loss += text_example_grad(set, doc, z, p, g, nl);
            memset(gh, 0, d * sizeof *gh);
            for (uint32_t l = 0; l < nl; l++) {
                float *wl = s->out + (size_t)l * d;
                if (g[l] == 0.0f) continue;
                axpy(gh, g[l], wl, d);
                axpy(wl, -lr * g[l], h, d);
            }
            if (!n) continue;
            float step = -lr * bag_scale(s, n);
            for (size_t k = 0; k < n; k++) axpy(s->in + (size_t)rows[k] * d, step, gh, d);
        }
    }
    c->loss[(size_t)tid * 8] += loss;
    return AISLE_OK;
}

static int bag_train(const text_set *set, const text_set *valid, const aisle_config *cfg, core_progress *prog,
                     void **out) {
    (void)valid;
    bag_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("bag model");
    s->dim = (uint32_t)config_int(cfg, bag_options, "dim");
    s->norm = strcmp(config_string(cfg, bag_options, "bag_norm"), "sqrt") == 0 ? BAG_NORM_SQRT : BAG_NORM_MEAN;
    s->n_labels = set->n_labels;
    s->buckets = set->buckets;
    int epochs = (int)config_int(cfg, bag_options, "epochs");
    int threads = core_thread_count(config_int(cfg, bag_options, "threads"));
    bag_train_ctx c = {.s = s, .set = set, .threads = threads, .epochs = epochs};
    c.lr0 = (float)config_float(cfg, bag_options, "learning_rate");
    double dropout = config_float(cfg, bag_options, "bag_dropout");
    c.keep_below = dropout > 0 ? (uint32_t)((1.0 - dropout) * 4294967296.0) : UINT32_MAX;
    c.seed = (uint64_t)config_int(cfg, bag_options, "seed");
    uint32_t *rows = NULL;
    int rc = bag_alloc_index(s);
    if (!rc) {
        for (size_t k = 0; k < set->n_ids; k++) s->bits[set->ids[k] >> 6] |= 1ull << (set->ids[k] & 63);
        bag_rank(s);
        uint32_t d = s->dim;
        s->in = core_malloc(((size_t)s->n_rows ? s->n_rows : 1) * d * sizeof *s->in);
        s->out = core_calloc((size_t)s->n_labels * d, sizeof *s->out);
        rows = core_malloc((set->n_ids ? set->n_ids : 1) * sizeof *rows);
        c.order = core_malloc((set->n_docs ? set->n_docs : 1) * sizeof *c.order);
        c.loss = core_calloc((size_t)threads * 8, sizeof *c.loss);
        c.scratch_stride = ((size_t)2 * d + 3 * (size_t)s->n_labels + 15) / 16 * 16;
        c.scratch = core_malloc(c.scratch_stride * (size_t)threads * sizeof *c.scratch);
        /* the longest text's feature count bounds what one example keeps */
        for (size_t i = 0; i < set->n_docs; i++) {
            size_t n = set->tok_first[set->doc_first[i + 1]] - set->tok_first[set->doc_first[i]];
            c.kept_stride = CORE_MAX(c.kept_stride, n);
        }
        if (c.keep_below != UINT32_MAX)
            c.kept = core_malloc(CORE_MAX(c.kept_stride, 1) * (size_t)threads * sizeof *c.kept);
        if (!s->in || !s->out || !rows || !c.order || !c.loss || !c.scratch || (c.keep_below != UINT32_MAX && !c.kept))
            rc = core_oom("bag training");
    }
    if (!rc) {
        core_rng rng;
        rng_seed(&rng, (uint64_t)config_int(cfg, bag_options, "seed"));
        /* fastText's initialisation: inputs uniform in [-1/dim, 1/dim], outputs zero */
        float a = 1.0f / (float)s->dim;
        for (size_t k = 0; k < (size_t)s->n_rows * s->dim; k++) s->in[k] = a * (2.0f * rng_float(&rng) - 1.0f);
        for (size_t k = 0; k < set->n_ids; k++) rows[k] = bag_row(s, set->ids[k]);
        c.rows = rows;
        for (size_t i = 0; i < set->n_docs; i++) c.order[i] = (uint32_t)i;
        for (c.epoch = 0; c.epoch < epochs && !rc; c.epoch++) {
            rng_shuffle_u32(&rng, c.order, set->n_docs);
            memset(c.loss, 0, (size_t)threads * 8 * sizeof *c.loss);
            rc = core_parallel_for(threads, (size_t)threads, 1, bag_train_range, &c);
            double loss = 0;
            for (int t = 0; t < threads; t++) loss += c.loss[(size_t)t * 8];
            if (!rc) rc = core_progress_report(prog, c.epoch + 1, epochs, loss / (double)CORE_MAX(set->n_docs, 1), NAN);
        }
    }
    core_free(rows);
    core_free(c.order);
    core_free(c.loss);
    core_free(c.scratch);
    core_free(c.kept);
    if (rc) {
        bag_free(s);
        return rc;
    }
    *out = s;
    return AISLE_OK;
}

/* ---- file ---- */

static int bag_save(const void *vs, io_writer *w) {
    const bag_state *s = vs;
    core_buf b;
    buf_init(&b);
    uint32_t *used = core_malloc(((size_t)s->n_rows ? s->n_rows : 1) * sizeof *used);
    if (!used) return core_oom("saving the bag model");
    size_t n = 0;
    for (size_t k = 0; k < ((size_t)s->buckets + 63) / 64; k++)
        for (uint64_t x = s->bits[k]; x; x &= x - 1) used[n++] = (uint32_t)(k * 64 + (size_t)__builtin_ctzll(x));
    int q = io_writer_quant(w);
    int rc = io_put_u32(&b, s->dim);
    if (!rc) rc = io_put_u32_array(&b, used, n);
    if (!rc) rc = io_put_tensor(&b, s->in, s->n_rows, s->dim, q);
    if (!rc) rc = io_put_tensor(&b, s->out, s->n_labels, s->dim, q);
    if (!rc) rc = io_writer_add_section(w, TEXT_SECTION_BAG, IO_FLAG_REQUIRED, &b);
    /* pooling other than the mean: a section of its own, REQUIRED so that
     * a reader without it refuses the file rather than pooling wrongly */
    if (!rc && s->norm != BAG_NORM_MEAN) {
        b.len = 0;
        rc = io_put_u32(&b, s->norm);
        if (!rc) rc = io_writer_add_section(w, TEXT_SECTION_BAG + 1, IO_FLAG_REQUIRED, &b);
    }
    core_free(used);
    buf_free(&b);
    return rc;
}

static int bag_load(io_reader *r, uint32_t n_labels, uint32_t buckets, void **out) {
    io_cursor c;
    int rc = io_reader_section(r, TEXT_SECTION_BAG, &c);
    if (rc) return rc;
    bag_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("loading the bag model");
    s->n_labels = n_labels;
    s->buckets = buckets;
    uint32_t *used = NULL;
    uint64_t n = 0, rows = 0, cols = 0;
    rc = io_get_u32(&c, &s->dim);
    if (!rc && (s->dim < 1 || s->dim > 1024)) rc = core_error(AISLE_EFORMAT, "%s: dim %u outside [1, 1024]", c.section, s->dim);
    if (!rc) rc = io_get_u32_array(&c, &used, &n, buckets);
    if (!rc) rc = bag_alloc_index(s);
    for (uint64_t k = 0; !rc && k < n; k++) {
        if (used[k] >= buckets || (k && used[k] <= used[k - 1]))
            rc = core_error(AISLE_EFORMAT, "%s: bucket list not increasing below %u at entry %llu", c.section, buckets,
                            (unsigned long long)k);
        else
            s->bits[used[k] >> 6] |= 1ull << (used[k] & 63);
    }
    if (!rc) bag_rank(s);
    if (!rc) rc = io_get_tensor(&c, &s->in, &rows, &cols, 0, 0);
    if (!rc && (rows != n || cols != s->dim))
        rc = core_error(AISLE_EFORMAT, "%s: embedding tensor %llu x %llu, expected %llu x %u", c.section,
                        (unsigned long long)rows, (unsigned long long)cols, (unsigned long long)n, s->dim);
    if (!rc) rc = io_get_tensor(&c, &s->out, &rows, &cols, 0, 0);
    if (!rc && (rows != n_labels || cols != s->dim))
        rc = core_error(AISLE_EFORMAT, "%s: output tensor %llu x %llu, expected %u x %u", c.section,
                        (unsigned long long)rows, (unsigned long long)cols, n_labels, s->dim);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && io_reader_has_section(r, TEXT_SECTION_BAG + 1)) {
        io_cursor cn;
        rc = io_reader_section(r, TEXT_SECTION_BAG + 1, &cn);
        if (!rc) rc = io_get_u32(&cn, &s->norm);
        if (!rc && s->norm != BAG_NORM_MEAN && s->norm != BAG_NORM_SQRT)
            rc = core_error(AISLE_EFORMAT, "%s: pooling %u is neither 0 (mean) nor 1 (sqrt)", cn.section, s->norm);
        if (!rc) rc = io_cursor_done(&cn);
    }
    core_free(used);
    if (rc) {
        bag_free(s);
        return rc;
    }
    *out = s;
    return AISLE_OK;
}

static int bag_describe(const void *vs, core_buf *out) {
    const bag_state *s = vs;
    return buf_printf(out, "bag_dim: %u\nbag_rows: %u\nbag_norm: %s\nparameters: %llu\n", s->dim, s->n_rows,
                      s->norm == BAG_NORM_SQRT ? "sqrt" : "mean",
                      (unsigned long long)((uint64_t)s->n_rows * s->dim + (uint64_t)s->n_labels * s->dim));
}

/* ---- text vectors (search) ---- */

/* The vector the head reads: h, the pooled rows of the text's known
 * features (z = W h); the bag has no other hidden state. */
static size_t bag_embed_dim(const void *vs) { return ((const bag_state *)vs)->dim; }

static int bag_embed(const void *vs, const text_view *v, float *out) {
    bag_hidden(vs, v, out);
    return AISLE_OK;
}

static void bag_fingerprint(const void *vs, text_fp *fp) {
    const bag_state *s = vs;
    uint32_t dims[5] = {s->dim, s->n_labels, s->buckets, s->n_rows, s->norm};
    text_fp_mix(fp, "bag", 3);
    text_fp_mix(fp, dims, sizeof dims);
    text_fp_mix(fp, s->bits, ((size_t)s->buckets + 63) / 64 * sizeof *s->bits);
    text_fp_mix(fp, s->in, (size_t)s->n_rows * s->dim * sizeof *s->in);
    text_fp_mix(fp, s->out, (size_t)s->n_labels * s->dim * sizeof *s->out);
}

const text_arch_ops text_bag_ops = {
    .name = "bag",
    .summary = "fastText-style linear model over hashed word, bigram and character n-gram buckets",
    .options = bag_options,
    .train = bag_train,
    .logits = bag_logits,
    .explain = bag_explain,
    .save = bag_save,
    .load = bag_load,
    .describe = bag_describe,
    .free = bag_free,
    .embed_dim = bag_embed_dim,
    .embed = bag_embed,
    .fingerprint = bag_fingerprint,
};
