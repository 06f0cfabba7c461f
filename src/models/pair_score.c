/* pair_score.c - kind `pair`: a batch of (shopper, product) pairs through
 * the cross-encoder, and the serving ops built on it (score every item,
 * score one, explain by leave-one-out over the shopper's recent items). */
#include "pair.h"

#include <math.h>
#include <string.h>

enum { PAIR_SCORE_BATCH = 32 };

size_t pair_rating_text(const pair_state *s, float r) {
    long k = lrintf(r) - (long)s->rating_lo;
    if (k < 0 || !isfinite(r)) k = 0;
    if (k >= (long)s->rating_words) k = (long)s->rating_words - 1;
    return (size_t)s->text_items + s->text_users + (size_t)k;
}

float pair_output(const pair_state *s, float raw) {
    if (!s->rating) return 1.0f / (1.0f + expf(-raw));
    float r = s->mean + raw;
    return r < s->rmin ? s->rmin : r > s->rmax ? s->rmax : r;
}

int pair_side_of(const pair_state *s, const model_query *q, pair_side *side, uint32_t *buf_items, float *buf_vals) {
    if (q->user >= 0) {
        if ((uint64_t)q->user >= s->n_users)
            return core_error(AISLE_ERANGE, "model 'pair': user %lld outside its %u users", (long long)q->user,
                              s->n_users);
        uint32_t u = (uint32_t)q->user;
        size_t a = s->recent_off[u], z = s->recent_off[u + 1];
        *side = (pair_side){pair_profile_text(s, u), s->recent_item + a, s->rating ? s->recent_val + a : NULL, z - a};
        return AISLE_OK;
    }
    /* a session: its newest items first, known ones only */
    size_t n = 0;
    for (size_t k = q->n_items; k-- > 0 && n < s->recent;) {
        if (q->items[k] >= s->n_items) continue;
        buf_items[n] = q->items[k];
        buf_vals[n] = q->weights ? q->weights[k] : s->mean;
        n++;
    }
    *side = (pair_side){SIZE_MAX, buf_items, s->rating && q->weights ? buf_vals : NULL, n};
    return AISLE_OK;
}

void pair_batch_free(pair_batch *b) {
    if (!b) return;
    core_free(b->a_off);
    core_free(b->a_piece);
    core_free(b->a_cap);
    core_free(b->b_off);
    core_free(b->b_piece);
    core_free(b->z);
    memset(b, 0, sizeof *b);
}

int pair_batch_alloc(pair_batch *b, const pair_state *s, size_t max_batch) {
    memset(b, 0, sizeof *b);
    size_t per = 1 + 2 * (size_t)s->recent; /* profile, then each item and its rating word */
    b->max_batch = max_batch;
    b->a_off = core_malloc((max_batch + 1) * sizeof *b->a_off);
    b->a_piece = core_malloc(max_batch * per * sizeof *b->a_piece);
    b->a_cap = core_malloc(max_batch * per * sizeof *b->a_cap);
    b->b_off = core_malloc((max_batch + 1) * sizeof *b->b_off);
    b->b_piece = core_malloc(max_batch * sizeof *b->b_piece);
    b->z = core_malloc(max_batch * sizeof *b->z);
    if (!b->a_off || !b->a_piece || !b->a_cap || !b->b_off || !b->b_piece || !b->z) {
        pair_batch_free(b);
        return core_oom("pair batch");
    }
    return AISLE_OK;
}

/* The id terms of a pair: b_u + b_i + p_u . q_i (0 for unknown users).
 * Users and products added after training have zero rows, which are not
 * stored (pair_grow.c): their terms are read as 0, the same sum to the bit
 * as the zero rows a training catalog's products without events keep. */
static float id_terms(const pair_state *s, int64_t user, uint32_t item) {
    if (!s->id_factors || user < 0) return 0.0f;
    uint32_t k = s->id_factors;
    bool has_u = (uint64_t)user < s->id_users, has_i = item < s->id_items;
    float bu = has_u ? nn_w(&s->s, s->ub)[user] : 0.0f, bi = has_i ? nn_w(&s->s, s->vb)[item] : 0.0f, dot = 0.0f;
    if (has_u && has_i)
        dot = model_dot(nn_w(&s->s, s->uf) + (size_t)user * k, nn_w(&s->s, s->vf) + (size_t)item * k, k);
    return bu + bi + dot;
}

/* Sets w's batch to the pairs of jobs[0..n) (no forward). */
static void batch_set(const pair_state *s, nn_encoder_ws *w, pair_batch *b, const pair_job *jobs, size_t n) {
    size_t na = 0;
    b->a_off[0] = 0;
    for (size_t j = 0; j < n; j++) {
        const pair_side *sd = jobs[j].side;
        if (sd->profile != SIZE_MAX) b->a_piece[na] = sd->profile, b->a_cap[na++] = SIZE_MAX;
        for (size_t k = 0, used = 0; k < sd->n && used < s->recent; k++) {
            if (sd->items[k] == jobs[j].item || k == jobs[j].drop) continue;
            b->a_piece[na] = pair_item_text(s, sd->items[k]), b->a_cap[na++] = s->title_tokens;
            if (sd->vals) b->a_piece[na] = pair_rating_text(s, sd->vals[k]), b->a_cap[na++] = SIZE_MAX;
            used++;
        }
        b->a_off[j + 1] = na;
        b->b_off[j] = j;
        b->b_piece[j] = pair_item_text(s, jobs[j].item);
    }
    b->b_off[n] = n;
    nn_pair_spec spec = {b->a_off, b->a_piece, b->a_cap, b->b_off, b->b_piece, NULL};
    nn_encoder_ws_pairs(w, &s->toks, &spec, n);
}

/* Forward of the batch w holds (jobs[0..n)) into b->z. */
static int forward_set(const pair_state *s, nn_encoder_ws *w, pair_batch *b, const pair_job *jobs, size_t n,
                       bool training, core_rng *rng) {
    int rc = nn_encoder_forward(&s->s, &s->enc, w, &s->toks, training, rng);
    if (rc) return rc;
    nn_linear_forward(&s->s, &s->head, w->pooled, n, b->z);
    for (size_t j = 0; j < n; j++) b->z[j] += id_terms(s, jobs[j].user, jobs[j].item);
    return AISLE_OK;
}

int pair_forward(const pair_state *s, nn_encoder_ws *w, pair_batch *b, const pair_job *jobs, size_t n,
                 bool training, core_rng *rng) {
    batch_set(s, w, b, jobs, n);
    return forward_set(s, w, b, jobs, n, training, rng);
}

int pair_raw(const pair_state *s, const pair_job *jobs, size_t n, float *out) {
    if (s->bert) return pair_bert_raw(s, jobs, n, out);
    if (!n) return AISLE_OK;
    size_t B = CORE_MIN(n, (size_t)PAIR_SCORE_BATCH);
    nn_encoder_ws w;
    pair_batch b;
    int rc = nn_encoder_ws_alloc(&w, &s->enc, B, 1, false);
    if (rc) return rc;
    if ((rc = pair_batch_alloc(&b, s, B))) {
        nn_encoder_ws_free(&w);
        return rc;
    }
    for (size_t start = 0; start < n && !rc; start += B) {
        size_t m = CORE_MIN(B, n - start);
        rc = pair_forward(s, &w, &b, jobs + start, m, false, NULL);
        if (!rc) memcpy(out + start, b.z, m * sizeof *out);
    }
    pair_batch_free(&b);
    nn_encoder_ws_free(&w);
    return rc;
}

/* ---- model ops ---- */

/* Scratch for a session side (at most s->recent items). */
typedef struct side_buf {
    uint32_t *items;
    float *vals;
} side_buf;

static int side_buf_alloc(const pair_state *s, side_buf *sb) {
    sb->items = core_malloc(((size_t)s->recent + 1) * sizeof *sb->items);
    sb->vals = core_malloc(((size_t)s->recent + 1) * sizeof *sb->vals);
    if (sb->items && sb->vals) return AISLE_OK;
    core_free(sb->items);
    core_free(sb->vals);
    return core_oom("pair query");
}

static void side_buf_free(side_buf *sb) {
    core_free(sb->items);
    core_free(sb->vals);
}

int pair_score_items(const aisle_model *m, const model_query *q, float *scores) {
    const pair_state *s = m->state;
    side_buf sb;
    int rc = side_buf_alloc(s, &sb);
    if (rc) return rc;
    pair_side side;
    pair_job *jobs = NULL;
    if (!(rc = pair_side_of(s, q, &side, sb.items, sb.vals))) {
        jobs = core_malloc((s->n_items ? s->n_items : 1) * sizeof *jobs);
        if (!jobs) rc = core_oom("pair scoring");
    }
    for (uint32_t i = 0; !rc && i < s->n_items; i++) jobs[i] = (pair_job){&side, q->user, i, SIZE_MAX};
    if (!rc) rc = pair_raw(s, jobs, s->n_items, scores);
    for (uint32_t i = 0; !rc && i < s->n_items; i++) scores[i] = pair_output(s, scores[i]);
    core_free(jobs);
    side_buf_free(&sb);
    return rc;
}

int pair_score_one(const aisle_model *m, const model_query *q, uint32_t item, float *score) {
    const pair_state *s = m->state;
    side_buf sb;
    int rc = side_buf_alloc(s, &sb);
    if (rc) return rc;
    pair_side side;
    rc = pair_side_of(s, q, &side, sb.items, sb.vals);
    pair_job job = {&side, q->user, item, SIZE_MAX};
    float raw = 0;
    if (!rc) rc = pair_raw(s, &job, 1, &raw);
    if (!rc) *score = pair_output(s, raw);
    side_buf_free(&sb);
    return rc;
}

float pair_explained(const pair_state *s, float raw) {
    return s->rating ? s->mean + raw : pair_output(s, raw);
}

/* Leave-one-out: a query item's contribution is the served score with the
 * shopper side as scored minus the score with that item left out of it.
 * Items that are not on the shopper side (older than the recent ones, or
 * the scored item itself) contribute 0. */
int pair_explain(const aisle_model *m, const model_query *q, uint32_t item, float *contrib) {
    const pair_state *s = m->state;
    side_buf sb;
    int rc = side_buf_alloc(s, &sb);
    if (rc) return rc;
    pair_side side;
    rc = pair_side_of(s, q, &side, sb.items, sb.vals);
    size_t n = side.n;
    pair_job *jobs = rc ? NULL : core_malloc((n + 1) * sizeof *jobs);
    float *raw = rc ? NULL : core_malloc((n + 1) * sizeof *raw);
    if (!rc && (!jobs || !raw)) rc = core_oom("pair explanation");
    if (!rc) {
        jobs[0] = (pair_job){&side, q->user, item, SIZE_MAX};
        for (size_t k = 0; k < n; k++) jobs[k + 1] = (pair_job){&side, q->user, item, k};
        rc = pair_raw(s, jobs, n + 1, raw);
    }
    if (!rc) {
        /* unclipped: a rating at the top of the range still has causes */
        float base = pair_explained(s, raw[0]);
        for (size_t i = 0; i < q->n_items; i++) {
            contrib[i] = 0.0f;
            for (size_t k = 0; k < n; k++)
                if (side.items[k] == q->items[i] && side.items[k] != item) {
                    contrib[i] = base - pair_explained(s, raw[k + 1]);
                    break;
                }
        }
    }
    core_free(jobs);
    core_free(raw);
    side_buf_free(&sb);
    return rc;
}

/* ---- explanation in words ---- */

typedef struct word_rows {
    size_t n, *src;      /* token rows of the pair: their token index */
    unsigned char *seg;  /* and segment */
    size_t *row;         /* row within the pair */
    float *contrib;
} word_rows;

/* Leave-one-token-out over every token row of one pair: the prediction
 * minus the prediction with that row read as [MASK] (as intent's
 * transformer explains), B rows at a time. */
static int explain_rows(const pair_state *s, const pair_job *job, word_rows *wr) {
    enum { B = 16 };
    nn_encoder_ws w;
    pair_batch b;
    pair_job jobs[B];
    for (size_t j = 0; j < B; j++) jobs[j] = *job;
    int rc = nn_encoder_ws_alloc(&w, &s->enc, B, 1, false);
    if (rc) return rc;
    if ((rc = pair_batch_alloc(&b, s, B))) {
        nn_encoder_ws_free(&w);
        return rc;
    }
    batch_set(s, &w, &b, jobs, 1);
    size_t L = w.lens[0];
    wr->src = core_malloc(L * sizeof *wr->src);
    wr->row = core_malloc(L * sizeof *wr->row);
    wr->seg = core_malloc(L);
    wr->contrib = core_malloc(L * sizeof *wr->contrib);
    if (!wr->src || !wr->row || !wr->seg || !wr->contrib) rc = core_oom("pair explanation");
    wr->n = 0;
    for (size_t r = 0; !rc && r < L; r++)
        if (w.src[r] != NN_SRC_CLS && w.src[r] != NN_SRC_SEP)
            wr->src[wr->n] = w.src[r], wr->seg[wr->n] = w.seg[r], wr->row[wr->n++] = r;
    float base = 0;
    if (!rc && !(rc = forward_set(s, &w, &b, jobs, 1, false, NULL))) base = pair_explained(s, b.z[0]);
    for (size_t first = 0; !rc && first < wr->n; first += B) {
        size_t m = CORE_MIN((size_t)B, wr->n - first);
        batch_set(s, &w, &b, jobs, m);
        for (size_t j = 0; j < m; j++) w.src[w.bt.offs[j] + wr->row[first + j]] = NN_SRC_MASK;
        rc = forward_set(s, &w, &b, jobs, m, false, NULL);
        for (size_t j = 0; !rc && j < m; j++) wr->contrib[first + j] = base - pair_explained(s, b.z[j]);
    }
    pair_batch_free(&b);
    nn_encoder_ws_free(&w);
    return rc;
}

AISLE_API int aisle_pair_explain(const aisle_model *m, const char *user_key, const char *item_key,
                                 aisle_text_explanation **out) {
    if (!m || !user_key || !item_key || !out) return core_error(AISLE_EINVAL, "aisle_pair_explain: NULL argument");
    if (m->ops != &model_pair_ops)
        return core_error(AISLE_EUNSUPPORTED, "aisle_pair_explain: model kind '%s' is not a pair model", m->ops->name);
    const pair_state *s = m->state;
    int64_t item = keys_find(&m->items, item_key, strlen(item_key));
    if (item < 0) return core_error(AISLE_ENOTFOUND, "unknown item '%s'", item_key);
    if (!s->bert && !s->toks.str)
        return core_error(AISLE_EUNSUPPORTED, "aisle_pair_explain: the model keeps no token strings");
    model_query q = {.user = -1};
    int64_t u = keys_find(&m->users, user_key, strlen(user_key));
    if (u >= 0) model_user_query(m, (uint32_t)u, &q);
    side_buf sb;
    int rc = side_buf_alloc(s, &sb);
    if (rc) return rc;
    pair_side side;
    word_rows wr;
    memset(&wr, 0, sizeof wr);
    core_buf text;
    buf_init(&text);
    size_t *off = NULL;
    rc = pair_side_of(s, &q, &side, sb.items, sb.vals);
    pair_job job = {&side, q.user, (uint32_t)item, SIZE_MAX};
    if (!rc && s->bert) {
        /* leave-one-WordPiece-out over the pair as BERT reads it */
        rc = pair_bert_explain_words(s, &job, &text, &off, &wr.contrib, &wr.n);
    } else if (!rc) {
        rc = explain_rows(s, &job, &wr);
    }
    if (!rc && !s->bert && !(off = core_malloc((wr.n ? wr.n : 1) * sizeof *off))) rc = core_oom("pair explanation");
    for (size_t k = 0; !rc && !s->bert && k < wr.n; k++) {
        const nn_toks *t = &s->toks;
        size_t a = t->str_off[wr.src[k]], z = t->str_off[wr.src[k] + 1];
        off[k] = text.len;
        rc = buf_printf(&text, "%s: %.*s", wr.seg[k] ? "product" : "shopper", (int)(z - a), t->str + a);
        if (!rc) rc = buf_append(&text, "", 1); /* the NUL ending the token */
    }
    if (!rc) rc = model_text_explanation_new(item_key, text.data, off, wr.contrib, wr.n, text.len, out);
    buf_free(&text);
    core_free(off);
    core_free(wr.src);
    core_free(wr.row);
    core_free(wr.seg);
    core_free(wr.contrib);
    side_buf_free(&sb);
    return rc;
}
