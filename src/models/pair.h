/*
 * pair.h - internals shared by the files of the `pair` kind (docs/PAIR.md):
 *   pair.c        options, the shopper and product texts, training;
 *   pair_score.c  scoring a batch of (shopper text, product) pairs, the
 *                 model ops that serve (score, explain), re-ranking;
 *   pair_file.c   save, load, describe;
 *   pair_grow.c   products and shoppers added from a catalog after
 *                 training (model_ops.add_catalog);
 *   pair_bert.c   the same pairs read by a pretrained BERT (option
 *                 encoder): training its head, scoring, explaining.
 *
 * The model is a cross-encoder (seed section 4.3): "[CLS] shopper [SEP]
 * product" through the bidirectional text encoder of src/nn with segment
 * embeddings, a linear head on the pooled vector, and optionally id
 * embeddings beside the text (a biased dot product of a user and an item
 * vector, as mf, added to the head's output).
 *
 * Texts live in one nn_toks: product i is text i (title, category, brand,
 * description from the catalog; the key when the catalog has no row), the
 * profile of user u (attributes from a user-attribute table) is text
 * n_items + u, and explicit models add rating words ("r0", "r1", ...; word
 * k = rating rounded minus the lowest rounded rating) after them.  That is
 * the layout of the file and of a model as trained or loaded
 * (text_items, text_users); products and shoppers added later
 * (pair_grow.c) append their texts after the rating words and are found
 * through added_item_text / added_user_text, so nothing is renumbered
 * (pair_item_text, pair_profile_text); a save writes the texts back in the
 * file's layout.  The
 * shopper side of a pair is the profile followed by the user's recent
 * items, newest first, each cut to title_tokens tokens and, for ratings,
 * followed by its rating word.  The scored product never appears on the
 * shopper side (training and serving alike).
 *
 * With option encoder=FILE a pretrained BERT replaces the hashed encoder:
 * the same texts are kept raw (btext: product i is text i, the profile of
 * user u text n_items + u), the shopper side is written out as a string
 * ("profile . first title_tokens words of each recent item rated R . ...")
 * and BERT reads "[CLS] shopper [SEP] product [SEP]" with token types,
 * truncated longest-first to max_length.  Its pooler output feeds the
 * bert model's own head: one regression output (ratings, minus the mean)
 * or two classes (purchase: the raw output is the logit difference, so
 * sigmoid(raw) is the class-1 softmax probability).
 */
#ifndef AISLE_MODELS_PAIR_H
#define AISLE_MODELS_PAIR_H

#include "models.h"
#include "bert/bert.h"
#include "nn/nn.h"

extern const option_spec pair_options[];
extern const model_ops model_pair_ops;

enum { PAIR_MAX_RATING_WORDS = 16 };

typedef struct pair_state {
    nn_store s;
    nn_encoder enc;
    nn_linear head;          /* pooled (d) -> 1 */
    uint32_t id_factors;     /* 0: no id embeddings */
    nn_param uf, vf, ub, vb; /* id_factors > 0: users x k, items x k, user and item biases */
    nn_feat_cfg feat;
    bool rating;             /* objective rating (regression) or purchase (sigmoid) */
    float mean, rmin, rmax;  /* ratings: global mean and observed range */
    uint32_t recent;         /* history items on the shopper side */
    uint32_t title_tokens;   /* tokens of each history item */
    uint32_t rating_words;   /* explicit: words r0 .. r(rating_words-1) */
    int32_t rating_lo;       /* rounded rating of word r0 */
    nn_toks toks;            /* items, profiles, rating words (see above) */
    uint32_t n_users, n_items;
    uint32_t text_items, text_users; /* rows in the file's text layout (see above) */
    size_t *added_item_text;  /* n_items - text_items: text of each added product */
    size_t *added_user_text;  /* n_users - text_users: text of each added profile */
    uint32_t id_users, id_items; /* id_factors: rows of uf / vf (ub / vb); rows past them are zero */
    size_t *recent_off;      /* n_users + 1 */
    uint32_t *recent_item;   /* newest first */
    float *recent_val;       /* its rating (explicit) or weight */
    /* encoder=FILE (pair_bert.c); NULL: the hashed encoder above */
    aisle_bert *bert;        /* encoder, pooler and head (1 output or 2 classes) */
    uint32_t bert_max_len;   /* tokens of a pair, [CLS] and both [SEP] included */
    char *btext;             /* raw texts, each NUL-terminated */
    size_t *btext_off;       /* one offset a text into btext, and the end (the texts as above) */
} pair_state;

/* One training example: a (user, item) pair and its target (the rating,
 * or 1 / 0 for a purchase and a sampled negative). */
typedef struct pair_example {
    uint32_t user, item;
    float target;
} pair_example;

/* Text index of product i, of user u's profile and of a rating's word. */
static inline size_t pair_item_text(const pair_state *s, uint32_t i) {
    return i < s->text_items ? i : s->added_item_text[i - s->text_items];
}
static inline size_t pair_profile_text(const pair_state *s, uint32_t u) {
    return u < s->text_users ? (size_t)s->text_items + u : s->added_user_text[u - s->text_users];
}
size_t pair_rating_text(const pair_state *s, float r);

/* The text of a product (title, category, brand, description of its
 * catalog row; the key when there is none) and the profile of a shopper
 * (attributes of the user-attribute table; empty when it has no row) into
 * b: training and pair_grow.c build them with the same rule. */
int pair_product_text(const aisle_catalog *cat, const char *key, core_buf *b);
int pair_shopper_profile(const aisle_catalog *users, const char *key, core_buf *b);

/* One shopper side: the profile text (SIZE_MAX: none) and recent items
 * (newest first) with their values. */
typedef struct pair_side {
    size_t profile;
    const uint32_t *items;
    const float *vals; /* NULL: no rating words */
    size_t n;
} pair_side;

/* The shopper side of a query: a known user's stored recent items and
 * profile, or a session's items (newest first, at most s->recent). */
int pair_side_of(const pair_state *s, const model_query *q, pair_side *side, uint32_t *buf_items, float *buf_vals);

/* Raw outputs (head + id terms, before mean / sigmoid) of n pairs: the
 * shopper side sides[k] (leaving out item skip[k] when not UINT32_MAX, and
 * position drop[k] of its items when not SIZE_MAX) with product items[k].
 * user[k]: dense user for id embeddings, or -1.  Allocates its own
 * workspace; thread-safe on a shared state. */
typedef struct pair_job {
    const pair_side *side;
    int64_t user;
    uint32_t item;
    size_t drop; /* SIZE_MAX: none */
} pair_job;
int pair_raw(const pair_state *s, const pair_job *jobs, size_t n, float *out);

/* Piece lists of one batch of pairs (nn_pair_spec), sized for max_batch
 * jobs by pair_batch_alloc. */
typedef struct pair_batch {
    size_t max_batch;
    size_t *a_off, *a_piece, *a_cap, *b_off, *b_piece;
    float *z; /* max_batch outputs */
} pair_batch;
int pair_batch_alloc(pair_batch *b, const pair_state *s, size_t max_batch);
void pair_batch_free(pair_batch *b);
/* Forward of jobs[0..n) (n <= both capacities) through encoder, head and
 * id terms into b->z; w->pooled keeps the pooled vectors for a backward. */
int pair_forward(const pair_state *s, nn_encoder_ws *w, pair_batch *b, const pair_job *jobs, size_t n,
                 bool training, core_rng *rng);
/* Raw output to served score: rating clipped to the range, or purchase
 * probability. */
float pair_output(const pair_state *s, float raw);
/* The value explanations measure: the unclipped rating (a rating at the
 * top of the range still has causes) or the purchase probability. */
float pair_explained(const pair_state *s, float raw);

/* Registers the parameters (encoder, head, ids) and allocates the store;
 * max_floats > 0: AISLE_EFORMAT before allocating when they are more (a
 * loader passes the bytes its weights section holds). */
int pair_build_net(pair_state *s, const nn_encoder_cfg *ec, bool training, uint64_t max_floats);
void pair_state_free(pair_state *s);

/* ---- encoder=FILE (pair_bert.c) ---- */
/* Loads the encoder named by option encoder into s->bert and checks it
 * can read pairs (a pooler; max_length >= 3). */
int pair_bert_open(pair_state *s, const aisle_config *cfg);
/* Raw outputs of jobs[0..n) (as pair_raw), one thread. */
int pair_bert_raw(const pair_state *s, const pair_job *jobs, size_t n, float *out);
/* Trains the head (and with finetune_layers the top layers and pooler)
 * on examples ex[0..n); *loss: the final mean loss. */
int pair_bert_train(pair_state *s, const pair_example *ex, size_t n, const aisle_config *cfg, double *loss);
/* Leave-one-WordPiece-out over the pair of job as BERT reads it: token
 * k's text ("shopper: PIECE" / "product: PIECE", NUL-terminated) starts
 * at text->data + off[k]; contrib[k] the prediction minus the prediction
 * without that piece.  *off and *contrib are allocated (n entries). */
int pair_bert_explain_words(const pair_state *s, const pair_job *job, core_buf *text, size_t **off, float **contrib,
                            size_t *n);

/* Model ops (pair_score.c, pair_file.c). */
int pair_score_items(const aisle_model *m, const model_query *q, float *scores);
int pair_score_one(const aisle_model *m, const model_query *q, uint32_t item, float *score);
int pair_explain(const aisle_model *m, const model_query *q, uint32_t item, float *contrib);
int pair_save(const aisle_model *m, io_writer *w);
int pair_load(aisle_model *m, io_reader *r);
int pair_describe(const aisle_model *m, core_buf *out);
int pair_add_catalog(aisle_model *m, const aisle_catalog *cat, int side, size_t *added);

#endif /* AISLE_MODELS_PAIR_H */
