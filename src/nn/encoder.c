/* encoder.c - the BERT-style text encoder (Devlin et al. 2019) on the nn
 * core: hashed-bucket token embeddings plus learned positions, N
 * bidirectional pre-LN blocks (attention.c with NN_MASK_NONE), a final
 * layer norm and [CLS] or mean pooling.  Batches are ragged (nn_batch), so
 * padding never enters attention.  Forward and backward allocate nothing;
 * the workspace is sized once per run. */
#include "nn.h"

#include <math.h>
#include <string.h>

void nn_encoder_default(nn_encoder_cfg *c) {
    c->buckets = 1u << 17;
    c->d = 64;
    c->ff = 256;
    c->max_len = 64;
    c->heads = 4;
    c->layers = 2;
    c->act = NN_ACT_GELU;
    c->pool = NN_POOL_MEAN;
    c->dropout = 0.1f;
    c->attn_dropout = 0.0f;
    c->emb_std = 0.1f;
    c->segments = 0;
}

int nn_encoder_check(const nn_encoder_cfg *c) {
    if (c->buckets < 1 || c->buckets > (1u << 24))
        return core_error(AISLE_EINVAL, "text encoder: buckets %u out of range [1, 2^24]", c->buckets);
    if (c->d < 1 || c->d > 4096) return core_error(AISLE_EINVAL, "text encoder: width %zu out of range [1, 4096]", c->d);
    if (c->heads < 1 || c->d % (size_t)c->heads)
        return core_error(AISLE_EINVAL, "text encoder: width %zu is not a multiple of heads %d", c->d, c->heads);
    if (c->ff < 1 || c->ff > 16384) return core_error(AISLE_EINVAL, "text encoder: ff %zu out of range [1, 16384]", c->ff);
    if (c->layers < 0 || c->layers > 48)
        return core_error(AISLE_EINVAL, "text encoder: layers %d out of range [0, 48]", c->layers);
    if (c->max_len < 1 || c->max_len > 4096)
        return core_error(AISLE_EINVAL, "text encoder: max_len %zu out of range [1, 4096]", c->max_len);
    if (c->pool != NN_POOL_CLS && c->pool != NN_POOL_MEAN)
        return core_error(AISLE_EINVAL, "text encoder: unknown pooling %d", c->pool);
    if (c->act != NN_ACT_RELU && c->act != NN_ACT_GELU)
        return core_error(AISLE_EINVAL, "text encoder: unknown activation %d", c->act);
    if (!(c->dropout >= 0 && c->dropout < 1) || !(c->attn_dropout >= 0 && c->attn_dropout < 1))
        return core_error(AISLE_EINVAL, "text encoder: dropout must be in [0, 1)");
    if (c->segments != 0 && c->segments != 2)
        return core_error(AISLE_EINVAL, "text encoder: segments %d is neither 0 nor 2", c->segments);
    return AISLE_OK;
}

int nn_encoder_init(nn_encoder *e, nn_store *s, const nn_encoder_cfg *c) {
    memset(e, 0, sizeof *e);
    int rc = nn_encoder_check(c);
    if (rc) return rc;
    e->c = *c;
    e->first = s->n;
    rc = nn_store_add(s, NN_ENC_SPECIAL + (size_t)c->buckets, c->d, true, &e->emb);
    if (!rc) rc = nn_store_add(s, c->max_len + 1, c->d, false, &e->pos);
    if (rc) return rc;
    if (c->layers) {
        e->blocks = core_calloc((size_t)c->layers, sizeof *e->blocks);
        if (!e->blocks) return core_oom("text encoder blocks");
    }
    nn_block_cfg bc = {.d = c->d, .ff = c->ff, .heads = c->heads, .act = c->act, .mask = NN_MASK_NONE,
                       .dropout = c->dropout, .layout = NN_LAYOUT_PRE_LN, .attn_dropout = c->attn_dropout};
    for (int l = 0; l < c->layers && !rc; l++) rc = nn_block_init(&e->blocks[l], s, &bc);
    if (!rc) rc = nn_layernorm_init(&e->ln_f, s, c->d);
    /* registered last, so single-text encoders keep their layout */
    if (!rc && c->segments) rc = nn_store_add(s, (size_t)c->segments, c->d, false, &e->seg);
    if (!rc && c->segments) rc = nn_store_add(s, 1, c->d, true, &e->sep);
    e->count = s->n - e->first;
    return rc;
}

void nn_encoder_reset(const nn_encoder *e, nn_store *s, core_rng *r) {
    nn_init_normal(s, e->emb, e->c.emb_std, r);
    nn_init_normal(s, e->pos, 0.02f, r);
    for (int l = 0; l < e->c.layers; l++) nn_block_reset(&e->blocks[l], s, r);
    nn_layernorm_reset(&e->ln_f, s);
    if (e->c.segments) {
        nn_init_normal(s, e->seg, 0.02f, r);
        nn_init_normal(s, e->sep, e->c.emb_std, r);
    }
}

void nn_encoder_free(nn_encoder *e) {
    if (!e) return;
    core_free(e->blocks);
    e->blocks = NULL;
}

/* ---- workspace ---- */

void nn_encoder_ws_free(nn_encoder_ws *w) {
    if (!w) return;
    nn_batch_free(&w->bt);
    if (w->caches)
        for (size_t l = 0; l < w->n_layers; l++) nn_block_cache_free(&w->caches[l]);
    float **bufs[] = {&w->x0, &w->h0, &w->h1, &w->fin, &w->mean_f, &w->rstd_f, &w->pooled,
                      &w->dfin, &w->dh0, &w->dh1, &w->dpooled};
    for (size_t i = 0; i < CORE_ARRAY_LEN(bufs); i++) core_free(*bufs[i]);
    core_free(w->caches);
    core_free(w->lens);
    core_free(w->src);
    core_free(w->touched);
    core_free(w->seg);
    core_free(w->keys);
    memset(w, 0, sizeof *w);
}

int nn_encoder_ws_alloc(nn_encoder_ws *w, const nn_encoder *e, size_t max_batch, int threads, bool training) {
    return nn_encoder_ws_alloc_for(w, e, max_batch, e->c.max_len + 1, threads, training);
}

int nn_encoder_ws_alloc_for(nn_encoder_ws *w, const nn_encoder *e, size_t max_batch, size_t max_seq, int threads,
                            bool training) {
    memset(w, 0, sizeof *w);
    if (max_batch < 1) max_batch = 1;
    if (max_seq < 1 || max_seq > e->c.max_len + 1) max_seq = e->c.max_len + 1;
    size_t len = max_seq, d = e->c.d;
    w->max_seq = max_seq;
    w->max_batch = max_batch;
    w->max_rows = max_batch * len;
    w->threads = threads < 1 ? 1 : threads;
    w->training = training;
    size_t n = w->max_rows;
    int rc = nn_batch_alloc(&w->bt, max_batch);
    if (rc) return rc;
    w->lens = core_calloc(max_batch, sizeof *w->lens);
    w->src = core_calloc(n, sizeof *w->src);
    if (e->c.layers) w->caches = core_calloc((size_t)e->c.layers, sizeof *w->caches);
    if (e->c.segments) w->seg = core_calloc(n, 1);
    if (!w->lens || !w->src || (e->c.layers && !w->caches) || (e->c.segments && !w->seg)) goto oom;
    struct {
        float **p;
        size_t count;
        bool train_only;
    } want[] = {
        {&w->x0, n * d, false},   {&w->h0, n * d, false},    {&w->h1, n * d, false},
        {&w->fin, n * d, false},  {&w->mean_f, n, false},    {&w->rstd_f, n, false},
        {&w->pooled, max_batch * d, false}, {&w->dfin, n * d, true}, {&w->dh0, n * d, true},
        {&w->dh1, n * d, true},   {&w->dpooled, max_batch * d, true},
    };
    for (size_t i = 0; i < CORE_ARRAY_LEN(want); i++) {
        if (want[i].train_only && !training) continue;
        *want[i].p = core_malloc(want[i].count * sizeof(float));
        if (!*want[i].p) goto oom;
    }
    for (int l = 0; l < e->c.layers; l++) {
        rc = nn_block_cache_alloc(&w->caches[l], &e->blocks[l].c, n, len, w->threads, training);
        if (rc) {
            nn_encoder_ws_free(w);
            return rc;
        }
        w->caches[l].salt = (uint64_t)l;
        w->n_layers = (size_t)l + 1;
    }
    if (training) {
        w->touched = core_calloc(NN_ENC_SPECIAL + (size_t)e->c.buckets, 1);
        w->keys = core_calloc(max_batch, sizeof *w->keys);
        if (!w->touched || !w->keys) goto oom;
    }
    return AISLE_OK;
oom:
    nn_encoder_ws_free(w);
    return core_oom("text encoder workspace");
}

void nn_encoder_ws_batch(nn_encoder_ws *w, const nn_toks *toks, const size_t *idx, size_t first_text, size_t B) {
    size_t r = 0;
    for (size_t b = 0; b < B; b++) {
        size_t t = idx ? idx[b] : first_text + b, first = toks->text_off[t];
        size_t n = CORE_MIN(nn_toks_len(toks, t), w->max_seq - 1); /* longer texts are cut, never overrun */
        w->lens[b] = 1 + n;
        w->src[r++] = NN_SRC_CLS;
        for (size_t k = 0; k < n; k++) w->src[r++] = first + k;
    }
    if (w->seg) memset(w->seg, 0, r);
    nn_batch_set(&w->bt, w->lens, B);
}

/* Tokens the pieces [lo, hi) of a side offer. */
static size_t side_tokens(const nn_toks *toks, const size_t *piece, const size_t *cap, size_t lo, size_t hi) {
    size_t n = 0;
    for (size_t i = lo; i < hi; i++) n += CORE_MIN(nn_toks_len(toks, piece[i]), cap ? cap[i] : SIZE_MAX);
    return n;
}

/* Writes up to `room` rows of a side's pieces; returns the rows written. */
static size_t side_rows(nn_encoder_ws *w, size_t r, const nn_toks *toks, const size_t *piece, const size_t *cap,
                        size_t lo, size_t hi, size_t room, unsigned char seg) {
    size_t done = 0;
    for (size_t i = lo; i < hi && done < room; i++) {
        size_t t = piece[i], first = toks->text_off[t];
        size_t n = CORE_MIN(CORE_MIN(nn_toks_len(toks, t), cap ? cap[i] : SIZE_MAX), room - done);
        for (size_t k = 0; k < n; k++) {
            w->src[r + done + k] = first + k;
            w->seg[r + done + k] = seg;
        }
        done += n;
    }
    return done;
}

void nn_encoder_ws_pairs(nn_encoder_ws *w, const nn_toks *toks, const nn_pair_spec *p, size_t B) {
    size_t r = 0, room = w->max_seq >= 2 ? w->max_seq - 2 : 0; /* [CLS] and [SEP] */
    for (size_t b = 0; b < B; b++) {
        size_t na = side_tokens(toks, p->a_piece, p->a_cap, p->a_off[b], p->a_off[b + 1]);
        size_t nb = side_tokens(toks, p->b_piece, p->b_cap, p->b_off[b], p->b_off[b + 1]);
        /* B keeps half the room, or more when A leaves it free */
        size_t keep_b = CORE_MIN(nb, CORE_MAX(room / 2, room - CORE_MIN(na, room)));
        size_t keep_a = CORE_MIN(na, room - keep_b);
        size_t start = r;
        w->src[r] = NN_SRC_CLS, w->seg[r++] = 0;
        r += side_rows(w, r, toks, p->a_piece, p->a_cap, p->a_off[b], p->a_off[b + 1], keep_a, 0);
        w->src[r] = NN_SRC_SEP, w->seg[r++] = 0;
        r += side_rows(w, r, toks, p->b_piece, p->b_cap, p->b_off[b], p->b_off[b + 1], keep_b, 1);
        w->lens[b] = r - start;
    }
    nn_batch_set(&w->bt, w->lens, B);
}

/* ---- forward ---- */

typedef struct embed_job {
    const nn_encoder *e;
    const nn_store *s;
    const nn_encoder_ws *w;
    const nn_toks *toks;
} embed_job;

static size_t row_text(const nn_batch *bt, size_t r) {
    /* binary search of the text holding row r */
    size_t lo = 0, hi = bt->batch;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (bt->offs[mid] <= r) lo = mid;
        else hi = mid;
    }
    return lo;
}

static int embed_rows(void *vjob, size_t begin, size_t end, int tid) {
    (void)tid;
    const embed_job *j = vjob;
    size_t d = j->e->c.d;
    const float *E = nn_w(j->s, j->e->emb), *P = nn_w(j->s, j->e->pos);
    size_t b = row_text(&j->w->bt, begin);
    for (size_t r = begin; r < end; r++) {
        while (r >= j->w->bt.offs[b + 1]) b++;
        float *x = j->w->x0 + r * d;
        const float *p = P + (r - j->w->bt.offs[b]) * d;
        size_t src = j->w->src[r];
        if (src == NN_SRC_CLS || src == NN_SRC_MASK || src == NN_SRC_SEP) {
            const float *t = src == NN_SRC_SEP ? nn_w(j->s, j->e->sep)
                                               : E + (src == NN_SRC_CLS ? NN_ENC_CLS : NN_ENC_MASK) * d;
            for (size_t k = 0; k < d; k++) x[k] = t[k] + p[k];
        } else {
            size_t a = j->toks->tok_off[src], z = j->toks->tok_off[src + 1];
            float scale = 1.0f / sqrtf((float)(z - a));
            memset(x, 0, d * sizeof *x);
            for (size_t i = a; i < z; i++) {
                const float *t = E + (size_t)j->toks->ids[i] * d;
                for (size_t k = 0; k < d; k++) x[k] += t[k];
            }
            for (size_t k = 0; k < d; k++) x[k] = x[k] * scale + p[k];
        }
        if (j->e->c.segments) {
            const float *sg = nn_w(j->s, j->e->seg) + (size_t)j->w->seg[r] * d;
            for (size_t k = 0; k < d; k++) x[k] += sg[k];
        }
    }
    return AISLE_OK;
}

/* Output of the last block (the final norm's input). */
static float *last_hidden(const nn_encoder *e, nn_encoder_ws *w) {
    if (e->c.layers == 0) return w->x0;
    return (e->c.layers - 1) % 2 == 0 ? w->h0 : w->h1;
}

int nn_encoder_forward(const nn_store *s, const nn_encoder *e, nn_encoder_ws *w, const nn_toks *toks, bool training,
                       core_rng *rng) {
    size_t n = w->bt.rows, d = e->c.d, B = w->bt.batch;
    embed_job job = {e, s, w, toks};
    int rc = core_parallel_for(n * d >= (1u << 15) ? w->threads : 1, n, 64, embed_rows, &job);
    if (rc) return rc;
    const float *in = w->x0;
    for (int l = 0; l < e->c.layers; l++) {
        float *out = l % 2 == 0 ? w->h0 : w->h1;
        rc = nn_block_forward(s, &e->blocks[l], &w->caches[l], &w->bt, in, training, rng, out);
        if (rc) return rc;
        in = out;
    }
    nn_layernorm_forward(s, &e->ln_f, in, n, w->fin, w->mean_f, w->rstd_f);
    for (size_t b = 0; b < B; b++) {
        float *p = w->pooled + b * d;
        size_t a = w->bt.offs[b], z = w->bt.offs[b + 1];
        if (e->c.pool == NN_POOL_CLS) {
            memcpy(p, w->fin + a * d, d * sizeof *p);
            continue;
        }
        memset(p, 0, d * sizeof *p);
        for (size_t r = a; r < z; r++)
            for (size_t k = 0; k < d; k++) p[k] += w->fin[r * d + k];
        float inv = 1.0f / (float)(z - a);
        for (size_t k = 0; k < d; k++) p[k] *= inv;
    }
    return AISLE_OK;
}

/* ---- backward ---- */

int nn_encoder_backward(nn_store *s, const nn_encoder *e, nn_encoder_ws *w, const nn_toks *toks) {
    size_t n = w->bt.rows, d = e->c.d, B = w->bt.batch;
    for (size_t b = 0; b < B; b++) {
        const float *g = w->dpooled + b * d;
        size_t a = w->bt.offs[b], z = w->bt.offs[b + 1];
        if (e->c.pool == NN_POOL_CLS) {
            for (size_t k = 0; k < d; k++) w->dfin[a * d + k] += g[k];
            continue;
        }
        float inv = 1.0f / (float)(z - a);
        for (size_t r = a; r < z; r++)
            for (size_t k = 0; k < d; k++) w->dfin[r * d + k] += g[k] * inv;
    }
    float *dy = w->dh0, *dx = w->dh1;
    nn_layernorm_backward(s, &e->ln_f, last_hidden(e, w), w->dfin, w->mean_f, w->rstd_f, n, dy);
    for (int l = e->c.layers - 1; l >= 0; l--) {
        int rc = nn_block_backward(s, &e->blocks[l], &w->caches[l], &w->bt, dy, dx);
        if (rc) return rc;
        float *t = dy;
        dy = dx;
        dx = t;
    }
    /* dy: gradient at the embeddings.  Sequential: bucket rows repeat, and
     * a fixed order keeps sums identical run to run. */
    float *gE = nn_g(s, e->emb), *gP = nn_g(s, e->pos);
    size_t b = 0;
    for (size_t r = 0; r < n; r++) {
        while (r >= w->bt.offs[b + 1]) b++;
        const float *g = dy + r * d;
        float *gp = gP + (r - w->bt.offs[b]) * d;
        for (size_t k = 0; k < d; k++) gp[k] += g[k];
        if (e->c.segments) {
            float *gs = nn_g(s, e->seg) + (size_t)w->seg[r] * d;
            for (size_t k = 0; k < d; k++) gs[k] += g[k];
        }
        size_t src = w->src[r];
        if (src == NN_SRC_SEP) {
            float *gsep = nn_g(s, e->sep);
            for (size_t k = 0; k < d; k++) gsep[k] += g[k];
            continue;
        }
        if (src == NN_SRC_CLS || src == NN_SRC_MASK) {
            size_t row = src == NN_SRC_CLS ? NN_ENC_CLS : NN_ENC_MASK;
            float *ge = gE + row * d;
            for (size_t k = 0; k < d; k++) ge[k] += g[k];
            if (w->touched) w->touched[row] = 1;
            continue;
        }
        size_t a = toks->tok_off[src], z = toks->tok_off[src + 1];
        float scale = 1.0f / sqrtf((float)(z - a));
        for (size_t i = a; i < z; i++) {
            uint32_t id = toks->ids[i];
            float *ge = gE + (size_t)id * d;
            for (size_t k = 0; k < d; k++) ge[k] += scale * g[k];
            if (w->touched) w->touched[id] = 1;
        }
    }
    return AISLE_OK;
}
