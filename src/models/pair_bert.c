/* pair_bert.c - kind `pair` read by a pretrained BERT (option encoder):
 * the seed's own section 5.2 set-up, a BertForSequenceClassification over
 * "[CLS] shopper [SEP] product [SEP]" (Devlin et al. 2019, sentence-pair
 * tasks), run in-process by the bert module.
 *
 * The shopper side is the hashed encoder's, written out as text: the
 * profile, then each recent item's first title_tokens words followed, for
 * ratings, by "rated R" (R the rounded rating), items separated by " . ".
 * bert_encode truncates the pair longest-first to max_length, as BERT's
 * tokenizer does.  The head is the bert model's classifier on the pooler
 * output: one regression output (rating minus the training mean) or two
 * classes (purchase), trained by bert_finetune_head - the head alone on the
 * frozen encoder, or with finetune_layers the top layers and the pooler
 * too (tune.c). */
#include "pair.h"

#include <math.h>
#include <string.h>

enum { BERT_PAIR_BATCH = 32, EXPLAIN_TOKENS = 4096 };

static const char *btext(const pair_state *s, size_t t) { return s->btext + s->btext_off[t]; }

int pair_bert_open(pair_state *s, const aisle_config *cfg) {
    const char *path = config_string(cfg, pair_options, "encoder");
    int rc = bert_load_file(path, cfg, "encoder", &s->bert);
    if (rc) return rc;
    if (!s->bert->cfg.has_pooler)
        return core_error(AISLE_EUNSUPPORTED, "option encoder: %s has no pooler, which pair's head reads (import a "
                          "checkpoint with bert.pooler.dense)", path);
    size_t ml = 0;
    if ((rc = bert_max_length(s->bert, cfg, &ml))) return rc;
    if (ml < 3) return core_error(AISLE_ERANGE, "option max_length=%zu leaves no room for a pair", ml);
    s->bert_max_len = (uint32_t)ml;
    return AISLE_OK;
}

/* The first `words` whitespace-separated words of t, appended to b. */
static int put_words(core_buf *b, const char *t, uint32_t words) {
    const char *p = t;
    for (uint32_t w = 0; *p && w < words; w++) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') p++;
    }
    return buf_append(b, t, (size_t)(p - t));
}

/* The shopper side of job as text (NUL-terminated) at b->data + *at:
 * appended to b, whose data may move. */
static int shopper_text(const pair_state *s, const pair_job *job, core_buf *b, size_t *at) {
    const pair_side *sd = job->side;
    size_t start = b->len;
    *at = start;
    int rc = AISLE_OK;
    if (sd->profile != SIZE_MAX) rc = buf_append(b, btext(s, sd->profile), strlen(btext(s, sd->profile)));
    for (size_t k = 0, used = 0; !rc && k < sd->n && used < s->recent; k++) {
        if (sd->items[k] == job->item || k == job->drop) continue;
        if (b->len > start) rc = buf_append(b, " . ", 3);
        if (!rc) rc = put_words(b, btext(s, pair_item_text(s, sd->items[k])), s->title_tokens);
        if (!rc && sd->vals && isfinite(sd->vals[k])) rc = buf_printf(b, " rated %ld", lrintf(sd->vals[k]));
        used++;
    }
    if (!rc) rc = buf_append(b, "", 1);
    return rc;
}

/* Raw outputs of the head on pooled vectors P[n x H]: the regression
 * value, or class 1's logit minus class 0's. */
static void head_raw(const aisle_bert *m, const float *P, size_t n, float *out) {
    size_t H = m->cfg.hidden;
    const float *W = m->cls.f, *b = m->cls_b; /* the classifier is always fp32 */
    for (size_t i = 0; i < n; i++) {
        const float *x = P + i * H;
        float z0 = b[0] + model_dot(W, x, H);
        out[i] = m->cfg.num_labels == 1 ? z0 : b[1] + model_dot(W + H, x, H) - z0;
    }
}

int pair_bert_raw(const pair_state *s, const pair_job *jobs, size_t n, float *out) {
    if (!n) return AISLE_OK;
    size_t B = CORE_MIN(n, (size_t)BERT_PAIR_BATCH), H = s->bert->cfg.hidden;
    const char **a = core_malloc(B * sizeof *a), **b = core_malloc(B * sizeof *b);
    size_t *at = core_malloc(B * sizeof *at);
    float *P = core_malloc(B * H * sizeof *P);
    core_buf text;
    buf_init(&text);
    int rc = a && b && at && P ? AISLE_OK : core_oom("pair scoring");
    for (size_t i0 = 0; !rc && i0 < n; i0 += B) {
        size_t m = CORE_MIN(B, n - i0);
        text.len = 0;
        for (size_t j = 0; !rc && j < m; j++) rc = shopper_text(s, &jobs[i0 + j], &text, &at[j]);
        for (size_t j = 0; !rc && j < m; j++)
            a[j] = text.data + at[j], b[j] = btext(s, pair_item_text(s, jobs[i0 + j].item));
        if (!rc) rc = bert_embed_with(s->bert, a, b, m, AISLE_BERT_POOL_POOLER, s->bert_max_len, 1, P);
        if (!rc) head_raw(s->bert, P, m, out + i0);
    }
    buf_free(&text);
    core_free(a);
    core_free(b);
    core_free(at);
    core_free(P);
    return rc;
}

int pair_bert_train(pair_state *s, const pair_example *ex, size_t n, const aisle_config *cfg, double *loss) {
    const char **a = core_malloc((n ? n : 1) * sizeof *a), **b = core_malloc((n ? n : 1) * sizeof *b);
    size_t *at = core_malloc((n ? n : 1) * sizeof *at);
    float *labels = core_malloc((n ? n : 1) * sizeof *labels);
    core_buf text;
    buf_init(&text);
    int rc = a && b && at && labels ? AISLE_OK : core_oom("pair training");
    for (size_t k = 0; !rc && k < n; k++) {
        model_query q = {.user = ex[k].user};
        pair_side side;
        rc = pair_side_of(s, &q, &side, NULL, NULL);
        pair_job job = {&side, ex[k].user, ex[k].item, SIZE_MAX};
        if (!rc) rc = shopper_text(s, &job, &text, &at[k]);
        /* ratings: the head learns the offset from the mean, as the
         * hashed encoder's head does; purchases: class 1 or 0 */
        labels[k] = s->rating ? ex[k].target - s->mean : ex[k].target;
    }
    for (size_t k = 0; !rc && k < n; k++) a[k] = text.data + at[k], b[k] = btext(s, pair_item_text(s, ex[k].item));
    if (!rc) rc = bert_finetune_head(s->bert, a, b, labels, n, s->rating ? 1 : 2, cfg, loss);
    buf_free(&text);
    core_free(a);
    core_free(b);
    core_free(at);
    core_free(labels);
    return rc;
}

/* Outputs of sequence 0 (ids[0..L) as encoded) and of the sequences
 * without position drop[v] (v < nv), packed per group of about
 * EXPLAIN_TOKENS tokens; out[0] the full pair, out[1 + v] the variants. */
static int variants_raw(const pair_state *s, const uint32_t *ids, const uint32_t *types, size_t L,
                        const size_t *drop, size_t nv, float *out) {
    size_t per = CORE_MAX((size_t)1, EXPLAIN_TOKENS / L), H = s->bert->cfg.hidden;
    uint32_t *seq = core_malloc(2 * per * L * sizeof *seq);
    size_t *start = core_malloc((per + 1) * sizeof *start);
    float *P = core_malloc(per * H * sizeof *P);
    int rc = seq && start && P ? AISLE_OK : core_oom("pair explanation");
    for (size_t g0 = 0; !rc && g0 < nv + 1; g0 += per) {
        size_t g1 = CORE_MIN(nv + 1, g0 + per), pos = 0;
        uint32_t *ty = seq + per * L;
        for (size_t v = g0; v < g1; v++) {
            start[v - g0] = pos;
            for (size_t t = 0; t < L; t++)
                if (v == 0 || t != drop[v - 1]) seq[pos] = ids[t], ty[pos++] = types[t];
        }
        start[g1 - g0] = pos;
        bert_seqs q = {g1 - g0, start, seq, ty};
        rc = bert_embed_seqs(s->bert, &q, AISLE_BERT_POOL_POOLER, 1, P);
        if (!rc) head_raw(s->bert, P, g1 - g0, out + g0);
    }
    core_free(seq);
    core_free(start);
    core_free(P);
    return rc;
}

int pair_bert_explain_words(const pair_state *s, const pair_job *job, core_buf *text, size_t **off, float **contrib,
                            size_t *n) {
    const aisle_bert *m = s->bert;
    size_t L = 0, at = 0, nv = 0;
    core_buf shop;
    buf_init(&shop);
    uint32_t *ids = core_malloc(2 * (size_t)s->bert_max_len * sizeof *ids);
    size_t *drop = core_malloc((size_t)s->bert_max_len * sizeof *drop);
    float *raw = core_malloc(((size_t)s->bert_max_len + 1) * sizeof *raw);
    *off = NULL;
    *contrib = NULL;
    *n = 0;
    int rc = ids && drop && raw ? shopper_text(s, job, &shop, &at) : core_oom("pair explanation");
    uint32_t *types = ids + s->bert_max_len;
    if (!rc)
        rc = bert_encode(&m->vocab, m->cfg.lower, m->cfg.strip_accents, shop.data + at,
                         btext(s, pair_item_text(s, job->item)),
                         s->bert_max_len, ids, types, &L);
    /* every WordPiece: not [CLS] (0), the shopper's [SEP] (the last
     * type-0 position) or the final [SEP] */
    size_t sep_a = 0;
    for (size_t t = 0; !rc && t < L; t++)
        if (!types[t]) sep_a = t;
    for (size_t t = 1; !rc && t + 1 < L; t++)
        if (t != sep_a) drop[nv++] = t;
    if (!rc) rc = variants_raw(s, ids, types, L, drop, nv, raw);
    if (!rc) {
        *off = core_malloc((nv ? nv : 1) * sizeof **off);
        *contrib = core_malloc((nv ? nv : 1) * sizeof **contrib);
        if (!*off || !*contrib) rc = core_oom("pair explanation");
    }
    float base = rc ? 0.0f : pair_explained(s, raw[0]);
    for (size_t v = 0; !rc && v < nv; v++) {
        uint32_t id = ids[drop[v]];
        (*off)[v] = text->len;
        (*contrib)[v] = base - pair_explained(s, raw[v + 1]);
        rc = buf_printf(text, "%s: %s", types[drop[v]] ? "product" : "shopper", m->vocab.arena + m->vocab.off[id]);
        if (!rc) rc = buf_append(text, "", 1);
    }
    if (!rc) *n = nv;
    else {
        core_free(*off);
        core_free(*contrib);
        *off = NULL;
        *contrib = NULL;
    }
    buf_free(&shop);
    core_free(ids);
    core_free(drop);
    core_free(raw);
    return rc;
}
