/*
 * text.h - internal interface of the text module: labelled-text corpora
 * and their loader, hashed token features, and the text classifier
 * architectures behind one operations table (text_arch_ops).
 *
 * Layer: above core, data, features, io and nn; below models (the `intent`
 * kind in src/models/intent.c wraps a corpus's labels, the feature
 * settings, calibration and one architecture's state).
 *
 * Features.  A text is tokenized by the features tokenizer (lower-cased
 * words, numbers, CJK characters plus CJK bigrams) and each TOKEN gets a
 * group of hashed feature ids in [0, buckets):
 *   - its own unigram,
 *   - the word bigram ending at it (previous word or CJK character + this
 *     one; tokens of kind CJK bigram take no bigram of their own),
 *   - with word_ngrams = 3, the word trigram ending at it,
 *   - the character n-grams of the word wrapped in '<' '>' (fastText,
 *     Bojanowski et al. 2017), words only.
 * Keeping features grouped by token lets a bag model sum them all (order
 * free) while a sequence model embeds token t as the sum of its group's
 * bucket vectors at position t.  Texts longer than max_tokens tokens are
 * truncated, never rejected.
 */
#ifndef AISLE_TEXT_H
#define AISLE_TEXT_H

#include "core/core.h"
#include "data/data.h"
#include "features/features.h"
#include "io/io.h"

#include <math.h>

/* ------------------------------------------------------------------------
 * Labelled texts (corpus.c, corpus_load.c): the public aisle_texts handle.
 * Texts are valid UTF-8 without NUL bytes, stored NUL-terminated in one
 * arena; labels are interned in a key dictionary in order of first sight.
 * ------------------------------------------------------------------------ */
struct aisle_texts {
    core_buf arena;       /* texts, each NUL-terminated */
    uint64_t *off;        /* n: offset of text i in arena */
    uint32_t *len;        /* n: byte length of text i */
    uint32_t *label;      /* n: label index of text i */
    size_t n, cap;
    core_keys labels;     /* label names <-> indices */
    data_report report;   /* of the last successful load */
};

static inline const char *text_at(const aisle_texts *t, size_t i) { return t->arena.data + t->off[i]; }

/* Appends a text (checked: valid UTF-8, no NUL) with its label. */
int text_corpus_add(aisle_texts *t, const char *text, size_t len, const char *label, size_t label_len);
/* Seeded stratified split: per label, round(test_fraction * count) texts
 * (at least one when a label has >= 2 texts, none when it has one) go to
 * test.  Both parts share the label dictionary of t (same indices). */
int text_corpus_split(const aisle_texts *t, double test_fraction, uint64_t seed, aisle_texts **train,
                      aisle_texts **test);
/* An empty corpus carrying a copy of t's label dictionary. */
int text_corpus_new_like(const aisle_texts *t, aisle_texts **out);

/* ------------------------------------------------------------------------
 * Hashed features (features.c).
 * ------------------------------------------------------------------------ */
typedef struct text_feat_cfg {
    feat_tok_cfg tok;    /* lowercase, cjk_bigrams; no stop words */
    int word_ngrams;     /* 1 (unigrams), 2 (plus bigrams) or 3 (plus trigrams) */
    int char_min, char_max; /* character n-gram lengths; 0 0 = none */
    uint32_t buckets;    /* feature ids are in [0, buckets) */
    uint32_t max_tokens; /* longer texts are truncated */
} text_feat_cfg;

/* Reads the feature options (text_options) from cfg. */
int text_feat_configure(text_feat_cfg *c, const aisle_config *cfg);

/* A featurized text, reusable across calls (arrays grow, never shrink).
 * Token t's feature ids are ids[first[t] .. first[t+1]).  With keep_text,
 * token t's text (lower-cased as tokenized) is tok_text.data + tok_off[t],
 * NUL-terminated. */
typedef struct text_doc {
    uint32_t *ids;
    size_t n_ids, ids_cap;
    size_t *first;        /* n_tokens + 1 */
    size_t n_tokens, first_cap;
    bool keep_text;
    core_buf tok_text;
    size_t *tok_off;      /* n_tokens (keep_text only) */
    size_t tok_off_cap;
    bool truncated;       /* the text had more than max_tokens tokens */
} text_doc;

void text_doc_init(text_doc *d);
void text_doc_free(text_doc *d);
/* Fills d from text[0..len) (any bytes: invalid UTF-8 is skipped by the
 * tokenizer, NUL bytes separate words).  AISLE_OK or AISLE_ENOMEM. */
int text_featurize(const text_feat_cfg *c, const char *text, size_t len, text_doc *d);

/* What an architecture reads: one text's token groups (a view into a
 * text_doc or into a text_set), and for an architecture that tokenizes
 * for itself (text_arch_ops.raw_text) the text itself. */
typedef struct text_view {
    const uint32_t *ids;  /* feature ids */
    const size_t *first;  /* n_tokens + 1 offsets into ids */
    size_t n_tokens;
    const char *text;     /* raw_text architectures: the text's bytes (not NUL-terminated), else NULL */
    size_t len;
} text_view;

static inline text_view text_doc_view(const text_doc *d) {
    text_view v = {d->ids, d->first, d->n_tokens, NULL, 0};
    return v;
}

/* A featurized training corpus, packed: document i's tokens are
 * tok_first[doc_first[i] .. doc_first[i+1]], so its view is
 * {ids, tok_first + doc_first[i], doc_first[i+1] - doc_first[i]}. */
typedef struct text_set {
    size_t n_docs;
    size_t *doc_first;    /* n_docs + 1 offsets into tok_first (token index) */
    size_t *tok_first;    /* n_tokens_total + 1 offsets into ids */
    uint32_t *ids;
    uint32_t *label;      /* n_docs: gold label index (< n_labels) */
    /* Distillation (optional): a teacher's probabilities at temperature
     * soft_temperature, n_docs x n_labels row-major, and the weight alpha of
     * the soft-target cross-entropy; the loss of a document is
     *   alpha * T^2 * CE(soft, softmax(z / T)) + (1 - alpha) * CE(label, softmax(z)).
     * soft == NULL: plain cross-entropy on the labels. */
    float *soft;
    float soft_alpha, soft_temperature;
    uint32_t n_labels;
    uint32_t buckets;
    size_t n_tokens_total, n_ids;
    /* raw_text architectures: the texts themselves (borrowed; text i is
     * text_at(texts, i)) and no features (doc_first, tok_first, ids NULL) */
    const aisle_texts *texts;
} text_set;

static inline text_view text_set_view(const text_set *s, size_t i) {
    text_view v = {s->ids, s->tok_first + s->doc_first[i], s->doc_first[i + 1] - s->doc_first[i], NULL, 0};
    return v;
}

/* One training example's loss (cross-entropy on its label, mixed with
 * the distillation targets when set->soft is set: text_set's formula) and
 * its gradient with respect to the logits z into g[nl]; p[nl] is scratch.
 * Inline because bag's SGD calls it once per example. */
static inline double text_example_grad(const text_set *set, size_t doc, const float *z, float *p, float *g,
                                       uint32_t nl) {
    uint32_t y = set->label[doc];
    float zmax = z[0];
    for (uint32_t l = 1; l < nl; l++) zmax = z[l] > zmax ? z[l] : zmax;
    double sum = 0;
    for (uint32_t l = 0; l < nl; l++) sum += p[l] = expf(z[l] - zmax);
    for (uint32_t l = 0; l < nl; l++) p[l] = (float)(p[l] / sum);
    double loss = -log(CORE_MAX(p[y], 1e-12f));
    float a = set->soft ? set->soft_alpha : 0.0f;
    for (uint32_t l = 0; l < nl; l++) g[l] = (1.0f - a) * (p[l] - (l == y ? 1.0f : 0.0f));
    if (set->soft && a > 0) {
        /* alpha T^2 CE(q, softmax(z/T)): gradient alpha T (softmax(z/T) - q) */
        const float *q = set->soft + doc * nl;
        float T = set->soft_temperature;
        double st = 0, ce = 0;
        float *pt = p; /* reuse p for softmax(z / T) after the hard part is done */
        for (uint32_t l = 0; l < nl; l++) st += pt[l] = expf((z[l] - zmax) / T);
        for (uint32_t l = 0; l < nl; l++) {
            pt[l] = (float)(pt[l] / st);
            g[l] += a * T * (pt[l] - q[l]);
            if (q[l] > 0) ce -= q[l] * log(CORE_MAX(pt[l], 1e-12f));
        }
        loss = (1.0 - a) * loss + a * T * T * ce;
    }
    return loss;
}

/* Featurizes every text of t (labels copied; soft NULL). */
int text_set_build(const text_feat_cfg *c, const aisle_texts *t, text_set *out);
/* For a raw_text architecture: labels copied, texts borrowed from t (which
 * must outlive out), no features. */
int text_set_raw(const aisle_texts *t, text_set *out);
void text_set_free(text_set *s);

/* A running 64-bit fingerprint of a model and its algorithm.  Search
 * indexes save the value (section 261, whose pooling byte names the
 * algorithm), so neither algorithm may change: TEXT_FP_BYTES, the first
 * (FNV-1a of each part's bytes, then a multiply-xorshift so the order of
 * the parts counts; serial per byte: slow on a large model), is kept to
 * attach indexes saved with it; TEXT_FP_WORDS (core_hash_words, eight
 * bytes at a time) is what new vectors carry.  It tells models apart; it
 * does not resist forgery. */
enum { TEXT_FP_BYTES = 1, TEXT_FP_WORDS = 2 };
typedef struct text_fp {
    uint64_t h;
    int alg;
} text_fp;

static inline void text_fp_mix(text_fp *fp, const void *p, size_t n) {
    if (fp->alg == TEXT_FP_WORDS) {
        fp->h = core_hash_words(fp->h, p, n);
        return;
    }
    uint64_t h = (fp->h ^ core_hash_bytes(p, n) ^ (uint64_t)n) * 0xff51afd7ed558ccdULL;
    fp->h = h ^ (h >> 33);
}

/* ------------------------------------------------------------------------
 * Classifier architectures: the contract (one entry per architecture in
 * text_archs[], arch.c).  The intent kind owns everything around an
 * architecture: labels, features, calibration, the unknown threshold,
 * distillation targets, the model file's generic sections.  An
 * architecture owns only its parameters, kept in an opaque state.
 *
 * Rules every implementation follows:
 *   - train builds a new state from a text_set (and may read the held-out
 *     `valid` set, which may be NULL, e.g. for early stopping); it reads its
 *     own options with config_int/config_float/... (cfg, ops->options, NAME),
 *     the thread count from the generic option `threads` and the seed from
 *     `seed` (core options; own tables list only what they add or narrow,
 *     and config_int falls back to the generic entry), reports progress
 *     with core_progress_report and returns AISLE_ECANCELLED (freeing what
 *     it built) when asked to stop.  Result must depend only on the data,
 *     the options and the seed given the thread count.
 *   - logits and explain are read-only on the state and safe to call from
 *     many threads at once on one state; they may allocate scratch memory
 *     (core_malloc, failure -> core_oom, AISLE_ENOMEM) but nothing that
 *     outlives the call.  A view with n_tokens == 0 is valid (empty text):
 *     return the logits of "no evidence" (the output bias).
 *   - logits are unnormalised scores (before the intent kind's calibration
 *     temperature and softmax), one per label index.
 *   - explain writes contrib[0..n_tokens): each token's contribution to
 *     logit[label] minus the mean logit over labels, so positive values
 *     pushed towards `label` relative to the others (for the linear bag
 *     model exact; for others an attribution such as leave-one-token-out).
 *   - save writes the architecture's sections through io (types
 *     TEXT_SECTION_<ARCH> .. +7; big matrices with io_put_tensor and the
 *     writer's encoding io_writer_quant(w), so fp16/int8 weights come for
 *     free) and load reads them back into a new state, validating every
 *     size against the bytes present (AISLE_EFORMAT naming the section).
 *     n_labels and buckets are given to load because the intent kind
 *     stores them.
 *   - describe appends "key: value" lines (dimensions, parameter count).
 *   - free is NULL-safe.
 *
 * Raw texts (raw_text true; e.g. a pretrained BERT, which runs its own
 * WordPiece tokenizer): the intent kind then never featurizes.  train gets
 * a text_set from text_set_raw (texts and labels, no features); logits gets
 * a view with only text/len set (n_tokens 0); explain gets a view with
 * text/len plus the architecture's own tokens, made by its tokens op into
 * a text_doc (n_tokens, and with keep_text the token texts shown to the
 * user), and writes contrib[0..n_tokens) over those tokens.  The bag and
 * the transformer keep the hashed path, untouched.  logits_batch (optional,
 * any architecture) computes n texts' logits at once over `threads`
 * (z: n x n_labels), for the kind's corpus-wide passes (calibration,
 * distillation targets, evaluation) where batching pays.
 * Fields may be added to this table later; NULL means "not supported".
 * ------------------------------------------------------------------------ */
struct nn_dp_hook;
typedef struct text_arch_ops {
    const char *name;           /* value of option `architecture` ("bag") */
    const char *summary;        /* one line for describe and docs */
    const option_spec *options; /* own options (NULL-name terminated), scope "intent" */

    int (*train)(const text_set *train, const text_set *valid, const aisle_config *cfg, core_progress *prog,
                 void **out);
    int (*logits)(const void *state, const text_view *doc, float *logits);
    int (*explain)(const void *state, const text_view *doc, uint32_t label, float *contrib);
    int (*save)(const void *state, io_writer *w);
    int (*load)(io_reader *r, uint32_t n_labels, uint32_t buckets, void **out);
    int (*describe)(const void *state, core_buf *out);
    void (*free)(void *state);
    bool raw_text;
    int (*tokens)(const void *state, const char *text, size_t len, text_doc *d);
    int (*logits_batch)(const void *state, const char *const *texts, const size_t *lens, size_t n, int threads,
                        float *z);
    /* Optional: train with a data-parallel hook (src/dist: each rank
     * computes a slice of every step's batch, the gradients are summed
     * before the step; nn.h nn_dp_hook), the same as train when dp is
     * NULL.  NULL: the architecture does not train distributed. */
    int (*train_dp)(const text_set *train, const text_set *valid, const aisle_config *cfg, core_progress *prog,
                    const struct nn_dp_hook *dp, void **out);
    /* Text vectors (optional; src/search/encoder.c uses them for semantic
     * retrieval): embed writes the embed_dim floats the head reads (the
     * architecture's pooled vector; same thread rules as logits), and
     * fingerprint mixes (text_fp_mix) every dimension and parameter the
     * state holds into fp, so a changed weight gives another value. */
    size_t (*embed_dim)(const void *state);
    int (*embed)(const void *state, const text_view *doc, float *out);
    void (*fingerprint)(const void *state, text_fp *fp);
} text_arch_ops;


/* Section types of the intent kind (the model file's kind range starts at
 * IO_SECTION_KIND = 256; see docs/FORMAT.md). */
enum {
    TEXT_SECTION_INTENT = IO_SECTION_KIND + 0,     /* labels, feature settings, calibration, architecture name */
    TEXT_SECTION_BAG = IO_SECTION_KIND + 16,        /* bag: .. +7 */
    TEXT_SECTION_TRANSFORMER = IO_SECTION_KIND + 24, /* transformer: .. +7 */
    TEXT_SECTION_BERT = IO_SECTION_KIND + 32         /* bert (src/bert/intent.c): .. +7 */
};

/* NULL-terminated list of the architectures this layer implements
 * (arch.c); adding one is a line there.  Architectures of layers above
 * (bert's, bert_intent_ops) are added to the list by the intent kind. */
extern const text_arch_ops *const text_archs[];
const text_arch_ops *text_arch_find(const char *name);

extern const text_arch_ops text_bag_ops;         /* bag.c */
extern const text_arch_ops text_transformer_ops; /* transformer.c */

/* ------------------------------------------------------------------------
 * Options (options.c): the intent kind's common options (features,
 * calibration, unknown threshold, distillation), listed in the kind's
 * table; each architecture's own table is listed after it by
 * option_table_at.
 * ------------------------------------------------------------------------ */
extern const option_spec text_options[];

/* ------------------------------------------------------------------------
 * Probabilities and quality (calibrate.c).
 * ------------------------------------------------------------------------ */
/* In place: p = softmax(z / temperature) over n values. */
void text_softmax(float *z, size_t n, float temperature);
/* Temperature T > 0 minimising the negative log-likelihood of labels under
 * softmax(logits / T) (rows x n_labels), by golden-section search on
 * log T in [1/20, 20]. */
float text_fit_temperature(const float *logits, const uint32_t *labels, size_t rows, uint32_t n_labels);
/* Expected calibration error over `bins` equal-width confidence bins:
 * sum_b |B_b|/N * |accuracy(B_b) - confidence(B_b)| (Guo et al. 2017). */
double text_ece(const float *confidence, const uint8_t *correct, size_t n, int bins);

#endif /* AISLE_TEXT_H */
