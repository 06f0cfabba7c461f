/* pair_file.c - kind `pair`: its sections of a model file (docs/FORMAT.md)
 * and describe.  Sections:
 *   SEC_HEADER  format, objective, encoder shape, feature settings, text
 *               layout, rating statistics (u32 / f32 words);
 *   SEC_TEXTS   the featurised texts: text offsets, token offsets, bucket
 *               ids (u64, u64, u32 arrays), each token's string (u64
 *               array of offsets, u64 length, the bytes);
 *   SEC_RECENT  each user's recent items: offsets, items, values;
 *   SEC_WEIGHTS every parameter tensor in registration order; the bucket
 *               embeddings and id embeddings in the save encoding
 *               (quantize: fp16/int8), the rest in fp32.
 * A model read by a pretrained BERT (option encoder) writes format 2:
 *   SEC_HEADER  format, objective, recent_items, title_tokens, max_length
 *               (u32), rating statistics (f32);
 *   SEC_TEXTS   the raw product and profile texts: u64 offsets, then the
 *               bytes (each text NUL-terminated);
 *   SEC_RECENT  as above;
 *   SEC_BERT .. + 3  the encoder with its head (bert_write_sections: the
 *               save's quantize, else the encoder's own encoding).
 * A reader checks every count against the model's users and items and the
 * bytes present before it allocates. */
#include "pair.h"

#include <math.h>
#include <string.h>

enum { PAIR_FORMAT = 1, PAIR_FORMAT_BERT = 2, HEADER_U32 = 17, BERT_HEADER_U32 = 5 };
enum { SEC_HEADER = IO_SECTION_KIND + 0, SEC_TEXTS = IO_SECTION_KIND + 1, SEC_RECENT = IO_SECTION_KIND + 2,
       SEC_WEIGHTS = IO_SECTION_KIND + 3, SEC_BERT = IO_SECTION_KIND + 4 };

/* Tensors saved in the writer's encoding: the big embedding tables. */
static bool quantizable(const pair_state *s, size_t k) {
    size_t off = s->s.params[k].off;
    if (off == s->enc.emb.off) return true;
    return s->id_factors && (off == s->uf.off || off == s->vf.off);
}

/* Text c of the file's layout (products, profiles, then rating words):
 * where it is held.  The same text unless products or shoppers were added
 * after training (pair_grow.c). */
static size_t file_text(const pair_state *s, size_t c) {
    if (c < s->n_items) return pair_item_text(s, (uint32_t)c);
    c -= s->n_items;
    if (c < s->n_users) return pair_profile_text(s, (uint32_t)c);
    return (size_t)s->text_items + s->text_users + (c - s->n_users);
}

static bool grown(const pair_state *s) { return s->n_items != s->text_items || s->n_users != s->text_users; }

/* The featurised texts in the file's layout, copied into *o (a grown
 * model's only; the others write s->toks as it is). */
static int file_toks(const pair_state *s, nn_toks *o) {
    const nn_toks *t = &s->toks;
    size_t nt = (size_t)s->n_items + s->n_users + s->rating_words, nk = 0, ni = 0, ns = 0;
    for (size_t c = 0; c < nt; c++) {
        size_t x = file_text(s, c), a = t->text_off[x], z = t->text_off[x + 1];
        nk += z - a, ni += t->tok_off[z] - t->tok_off[a], ns += t->str_off[z] - t->str_off[a];
    }
    o->text_off = core_malloc((nt + 1) * sizeof *o->text_off);
    o->tok_off = core_malloc((nk + 1) * sizeof *o->tok_off);
    o->str_off = core_malloc((nk + 1) * sizeof *o->str_off);
    o->ids = core_malloc((ni ? ni : 1) * sizeof *o->ids);
    o->str = core_malloc(ns ? ns : 1);
    if (!o->text_off || !o->tok_off || !o->str_off || !o->ids || !o->str) return core_oom("saving the pair model");
    size_t k = 0;
    o->text_off[0] = o->tok_off[0] = o->str_off[0] = 0;
    o->n_ids = o->str_len = 0;
    for (size_t c = 0; c < nt; c++) {
        size_t x = file_text(s, c);
        for (size_t tok = t->text_off[x]; tok < t->text_off[x + 1]; tok++, k++) {
            size_t ia = t->tok_off[tok], iz = t->tok_off[tok + 1], sa = t->str_off[tok], sz = t->str_off[tok + 1];
            memcpy(o->ids + o->n_ids, t->ids + ia, (iz - ia) * sizeof *o->ids);
            memcpy(o->str + o->str_len, t->str + sa, sz - sa);
            o->n_ids += iz - ia, o->str_len += sz - sa;
            o->tok_off[k + 1] = o->n_ids, o->str_off[k + 1] = o->str_len;
        }
        o->text_off[c + 1] = k;
    }
    o->n_texts = nt, o->n_tokens = nk;
    return AISLE_OK;
}

/* Rows of parameter k in the file: the id tables have one for every user
 * (product), zero for those added after training (not held: id_terms). */
static size_t file_rows(const pair_state *s, size_t k) {
    nn_param p = s->s.params[k];
    if (!s->id_factors) return p.rows;
    if (p.off == s->uf.off || p.off == s->ub.off) return s->n_users;
    if (p.off == s->vf.off || p.off == s->vb.off) return s->n_items;
    return p.rows;
}

static int write_recent(const pair_state *s, io_writer *w, core_buf *b) {
    size_t nr = s->recent_off[s->n_users];
    b->len = 0;
    int rc = io_put_u64_array(b, (const uint64_t *)s->recent_off, (uint64_t)s->n_users + 1);
    if (!rc) rc = io_put_u32_array(b, s->recent_item, nr);
    if (!rc) rc = io_put_f32_array(b, s->recent_val, nr);
    if (!rc) rc = io_writer_add_section(w, SEC_RECENT, IO_FLAG_REQUIRED, b);
    return rc;
}

static int save_bert(const pair_state *s, io_writer *w) {
    uint32_t h[BERT_HEADER_U32] = {PAIR_FORMAT_BERT, s->rating, s->recent, s->title_tokens, s->bert_max_len};
    size_t nt = (size_t)s->n_items + s->n_users;
    core_buf b;
    buf_init(&b);
    int rc = AISLE_OK;
    for (int k = 0; k < BERT_HEADER_U32 && !rc; k++) rc = io_put_u32(&b, h[k]);
    if (!rc) rc = io_put_f32(&b, s->mean);
    if (!rc) rc = io_put_f32(&b, s->rmin);
    if (!rc) rc = io_put_f32(&b, s->rmax);
    if (!rc) rc = io_writer_add_section(w, SEC_HEADER, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    /* the raw texts in the file's layout (a grown model holds its added
     * ones after the others) */
    uint64_t *off = core_malloc((nt + 1) * sizeof *off);
    if (!rc && !off) rc = core_oom("saving the pair model");
    if (!rc) {
        off[0] = 0;
        for (size_t c = 0; c < nt; c++) {
            size_t x = file_text(s, c);
            off[c + 1] = off[c] + (s->btext_off[x + 1] - s->btext_off[x]);
        }
        rc = io_put_u64_array(&b, off, nt + 1);
    }
    for (size_t c = 0; c < nt && !rc; c++) {
        size_t x = file_text(s, c);
        rc = io_put_bytes(&b, s->btext + s->btext_off[x], s->btext_off[x + 1] - s->btext_off[x]);
    }
    core_free(off);
    if (!rc) rc = io_writer_add_section(w, SEC_TEXTS, IO_FLAG_REQUIRED, &b);
    if (!rc) rc = write_recent(s, w, &b);
    buf_free(&b);
    int q = io_writer_quant(w);
    if (!rc) rc = bert_write_sections_enc(s->bert, w, SEC_BERT, q != IO_QUANT_NONE ? q : s->bert->enc);
    return rc;
}

int pair_save(const aisle_model *m, io_writer *w) {
    const pair_state *s = m->state;
    if (s->bert) return save_bert(s, w);
    const nn_encoder_cfg *ec = &s->enc.c;
    uint32_t h[HEADER_U32] = {PAIR_FORMAT, s->rating, ec->buckets, (uint32_t)ec->d, (uint32_t)ec->ff,
                              (uint32_t)ec->heads, (uint32_t)ec->layers, (uint32_t)ec->max_len, (uint32_t)ec->act,
                              (uint32_t)s->feat.word_ngrams, (uint32_t)s->feat.char_min, (uint32_t)s->feat.char_max,
                              s->id_factors, s->recent, s->title_tokens, s->rating_words, (uint32_t)s->rating_lo};
    core_buf b;
    buf_init(&b);
    int rc = AISLE_OK;
    for (int k = 0; k < HEADER_U32 && !rc; k++) rc = io_put_u32(&b, h[k]);
    if (!rc) rc = io_put_f32(&b, s->mean);
    if (!rc) rc = io_put_f32(&b, s->rmin);
    if (!rc) rc = io_put_f32(&b, s->rmax);
    if (!rc) rc = io_writer_add_section(w, SEC_HEADER, IO_FLAG_REQUIRED, &b);
    b.len = 0;
    nn_toks canon;
    nn_toks_init(&canon);
    const nn_toks *t = &s->toks;
    if (!rc && grown(s)) {
        rc = file_toks(s, &canon);
        t = &canon;
    }
    if (!rc) rc = io_put_u64_array(&b, (const uint64_t *)t->text_off, t->n_texts + 1);
    if (!rc) rc = io_put_u64_array(&b, (const uint64_t *)t->tok_off, t->n_tokens + 1);
    if (!rc) rc = io_put_u32_array(&b, t->ids, t->n_ids);
    if (!rc) rc = io_put_u64_array(&b, (const uint64_t *)t->str_off, t->n_tokens + 1);
    if (!rc) rc = io_put_u64(&b, t->str_len);
    if (!rc) rc = io_put_bytes(&b, t->str, t->str_len);
    if (!rc) rc = io_writer_add_section(w, SEC_TEXTS, IO_FLAG_REQUIRED, &b);
    nn_toks_free(&canon);
    if (!rc) rc = write_recent(s, w, &b);
    b.len = 0;
    int quant = io_writer_quant(w);
    for (size_t k = 0; k < s->s.n_params && !rc; k++) {
        nn_param p = s->s.params[k];
        size_t rows = file_rows(s, k);
        const float *x = nn_w(&s->s, p);
        float *padded = NULL;
        if (rows > p.rows) { /* added users or products: zero rows */
            if (!(padded = core_calloc(rows * p.cols, sizeof *padded))) rc = core_oom("saving the pair model");
            else memcpy(padded, x, nn_size(p) * sizeof *padded);
            x = padded;
        }
        if (!rc) rc = io_put_tensor(&b, x, rows, p.cols, quantizable(s, k) ? quant : IO_QUANT_NONE);
        core_free(padded);
    }
    if (!rc) rc = io_writer_add_section(w, SEC_WEIGHTS, IO_FLAG_REQUIRED, &b);
    buf_free(&b);
    return rc;
}

static int bad(const io_cursor *c, const char *what) {
    return core_error(AISLE_EFORMAT, "%s: %s", c->section, what);
}

/* Offsets: n + 1 values from 0, never decreasing, ending at end. */
static int check_offsets(const io_cursor *c, const uint64_t *off, size_t n, uint64_t end, const char *what) {
    if (off[0] != 0 || off[n] != end) return core_error(AISLE_EFORMAT, "%s: %s do not span the data", c->section, what);
    for (size_t k = 0; k < n; k++)
        if (off[k + 1] < off[k]) return core_error(AISLE_EFORMAT, "%s: %s decrease at %zu", c->section, what, k);
    return AISLE_OK;
}

/* Format 2's header after its format word: the bert encoder and its head
 * come from their own sections, checked against this. */
static int read_bert_header(pair_state *s, io_reader *r, io_cursor *c) {
    uint32_t h[BERT_HEADER_U32];
    int rc = AISLE_OK;
    for (int k = 1; k < BERT_HEADER_U32 && !rc; k++) rc = io_get_u32(c, &h[k]);
    if (!rc) rc = io_get_f32(c, &s->mean);
    if (!rc) rc = io_get_f32(c, &s->rmin);
    if (!rc) rc = io_get_f32(c, &s->rmax);
    if (!rc) rc = io_cursor_done(c);
    if (rc) return rc;
    if (h[1] > 1 || h[2] > 256 || h[3] < 1 || h[3] > 256 || h[4] < 3) return bad(c, "invalid settings");
    if (!isfinite(s->mean) || !(s->rmin <= s->rmax)) return bad(c, "invalid rating statistics");
    s->rating = h[1] != 0, s->recent = h[2], s->title_tokens = h[3], s->bert_max_len = h[4];
    if ((rc = bert_read_sections(r, SEC_BERT, c->section, &s->bert))) return rc;
    const bert_config *bc = &s->bert->cfg;
    if (!bc->has_pooler || !bc->has_classifier || bc->num_labels != (s->rating ? 1u : 2u) ||
        bc->regression != (bc->num_labels == 1))
        return bad(c, "the encoder's head does not match the objective");
    if (s->bert_max_len > bc->max_pos) return bad(c, "max_length beyond the encoder's positions");
    return AISLE_OK;
}

static int read_header(pair_state *s, io_reader *r, nn_encoder_cfg *ec) {
    io_cursor c;
    int rc = io_reader_section(r, SEC_HEADER, &c);
    uint32_t h[HEADER_U32];
    if (!rc) rc = io_get_u32(&c, &h[0]);
    if (!rc && h[0] == PAIR_FORMAT_BERT) return read_bert_header(s, r, &c);
    for (int k = 1; k < HEADER_U32 && !rc; k++) rc = io_get_u32(&c, &h[k]);
    if (!rc) rc = io_get_f32(&c, &s->mean);
    if (!rc) rc = io_get_f32(&c, &s->rmin);
    if (!rc) rc = io_get_f32(&c, &s->rmax);
    if (!rc) rc = io_cursor_done(&c);
    if (rc) return rc;
    if (h[0] != PAIR_FORMAT)
        return core_error(AISLE_EVERSION, "%s: pair format %u is not known to this library", c.section, h[0]);
    nn_encoder_default(ec);
    ec->buckets = h[2], ec->d = h[3], ec->ff = h[4], ec->heads = (int)h[5], ec->layers = (int)h[6];
    ec->max_len = h[7], ec->act = (int)h[8], ec->pool = NN_POOL_CLS, ec->segments = 2, ec->dropout = 0;
    if (h[1] > 1 || h[7] < 8 || h[9] < 1 || h[9] > 2 || h[10] > 16 || h[11] > 16 || h[13] > 256 || h[14] < 1 ||
        h[14] > 256 || h[15] > PAIR_MAX_RATING_WORDS || (h[1] && h[15] < 1) || h[12] > 1024 || nn_encoder_check(ec))
        return bad(&c, "invalid settings");
    if (h[11] && (h[10] < 1 || h[10] > h[11])) return bad(&c, "invalid character n-gram lengths");
    if (!isfinite(s->mean) || !(s->rmin <= s->rmax)) return bad(&c, "invalid rating statistics");
    s->rating = h[1] != 0;
    nn_feat_default(&s->feat);
    s->feat.buckets = ec->buckets, s->feat.max_len = ec->max_len;
    s->feat.word_ngrams = (int)h[9], s->feat.char_min = (int)h[10], s->feat.char_max = (int)h[11];
    s->id_factors = h[12], s->recent = h[13], s->title_tokens = h[14], s->rating_words = h[15];
    s->rating_lo = (int32_t)h[16];
    /* the parameters must fit the bytes stored (int8: a byte a weight) */
    uint64_t floats = ((uint64_t)NN_ENC_SPECIAL + ec->buckets) * ec->d +
                      (uint64_t)s->id_factors * ((uint64_t)s->n_users + s->n_items);
    if (floats > io_reader_section_bytes(r, SEC_WEIGHTS)) return bad(&c, "weights larger than the file holds");
    return AISLE_OK;
}

static int read_texts(pair_state *s, io_reader *r) {
    io_cursor c;
    int rc = io_reader_section(r, SEC_TEXTS, &c);
    if (rc) return rc;
    nn_toks *t = &s->toks;
    uint64_t *text_off = NULL, *tok_off = NULL, *str_off = NULL, nt = 0, nk = 0, ni = 0, ns = 0, str_len = 0;
    uint32_t *ids = NULL;
    char *str = NULL;
    rc = io_get_u64_array(&c, &text_off, &nt, c.len);
    if (!rc) rc = io_get_u64_array(&c, &tok_off, &nk, c.len);
    if (!rc) rc = io_get_u32_array(&c, &ids, &ni, c.len);
    if (!rc) rc = io_get_u64_array(&c, &str_off, &ns, c.len);
    if (!rc) rc = io_get_u64(&c, &str_len);
    if (!rc && str_len > c.len - c.pos) rc = bad(&c, "token strings longer than the section");
    if (!rc && !(str = core_malloc(str_len + 1))) rc = core_oom("loading the pair model");
    if (!rc) rc = io_get_bytes(&c, str, str_len);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && (nk < 1 || ns != nk)) rc = bad(&c, "token string count does not match the tokens");
    if (!rc) rc = check_offsets(&c, str_off, ns - 1, str_len, "token string offsets");
    uint64_t want = (uint64_t)s->n_items + s->n_users + s->rating_words + 1;
    if (!rc && nt != want) rc = bad(&c, "text count does not match the model's items and users");
    if (!rc && nk < 1) rc = bad(&c, "no token offsets");
    if (!rc) rc = check_offsets(&c, text_off, nt - 1, nk - 1, "text offsets");
    if (!rc) rc = check_offsets(&c, tok_off, nk - 1, ni, "token offsets");
    for (uint64_t k = 0; !rc && k < ni; k++)
        if (ids[k] >= NN_ENC_SPECIAL + (uint64_t)s->enc.c.buckets || ids[k] == NN_ENC_CLS || ids[k] == NN_ENC_MASK)
            rc = bad(&c, "bucket id out of range");
    for (uint64_t k = 0; !rc && k + 1 < nk; k++)
        if (tok_off[k + 1] == tok_off[k]) rc = bad(&c, "a token without buckets");
    if (!rc) {
        t->word = core_calloc(nk, sizeof *t->word);
        if (!t->word) rc = core_oom("loading the pair model");
    }
    if (rc) {
        core_free(text_off);
        core_free(tok_off);
        core_free(ids);
        core_free(str_off);
        core_free(str);
        return rc;
    }
    /* size_t and uint64_t offsets share a representation on the platforms
     * built for (checked at compile time below) */
    t->text_off = (size_t *)text_off, t->tok_off = (size_t *)tok_off, t->ids = ids;
    t->n_texts = nt - 1, t->n_tokens = nk - 1, t->n_ids = ni;
    t->texts_cap = nt, t->tokens_cap = nk, t->ids_cap = ni, t->word_cap = nk;
    t->str = str, t->str_off = (size_t *)str_off, t->str_len = str_len, t->str_cap = str_len + 1, t->str_off_cap = ns;
    s->feat.keep_strings = true;
    return AISLE_OK;
}
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "pair files store offsets as u64");

static int read_recent(pair_state *s, io_reader *r) {
    io_cursor c;
    int rc = io_reader_section(r, SEC_RECENT, &c);
    if (rc) return rc;
    uint64_t *off = NULL, n_off = 0, n_it = 0, n_val = 0;
    rc = io_get_u64_array(&c, &off, &n_off, c.len);
    s->recent_off = (size_t *)off;
    if (!rc) rc = io_get_u32_array(&c, &s->recent_item, &n_it, c.len);
    if (!rc) rc = io_get_f32_array(&c, &s->recent_val, &n_val, c.len);
    if (!rc) rc = io_cursor_done(&c);
    if (!rc && (n_off != (uint64_t)s->n_users + 1 || n_val != n_it)) rc = bad(&c, "counts do not match the model");
    if (!rc) rc = check_offsets(&c, off, s->n_users, n_it, "recent offsets");
    for (uint32_t u = 0; !rc && u < s->n_users; u++)
        if (off[u + 1] - off[u] > (uint64_t)s->recent + 1) rc = bad(&c, "more recent items than recent_items");
    for (uint64_t k = 0; !rc && k < n_it; k++)
        if (s->recent_item[k] >= s->n_items) rc = bad(&c, "recent item out of range");
    return rc;
}

/* Format 2's raw texts: n_items + n_users of them, each ending in its
 * only NUL. */
static int read_raw_texts(pair_state *s, io_reader *r) {
    io_cursor c;
    int rc = io_reader_section(r, SEC_TEXTS, &c);
    uint64_t *off = NULL, n = 0, want = (uint64_t)s->n_items + s->n_users;
    if (!rc) rc = io_get_u64_array(&c, &off, &n, c.len);
    s->btext_off = (size_t *)off;
    if (!rc && n != want + 1) rc = bad(&c, "text count does not match the model's items and users");
    if (!rc && off[want] != c.len - c.pos) rc = bad(&c, "texts do not fill the section");
    if (!rc) rc = check_offsets(&c, off, want, off[want], "text offsets");
    if (!rc && !(s->btext = core_malloc(off[want] + 1))) rc = core_oom("loading the pair model");
    if (!rc) rc = io_get_bytes(&c, s->btext, off[want]);
    if (!rc) rc = io_cursor_done(&c);
    for (uint64_t t = 0; !rc && t < want; t++) {
        size_t len = off[t + 1] - off[t];
        if (!len || s->btext[off[t + 1] - 1] || memchr(s->btext + off[t], 0, len - 1)) rc = bad(&c, "a malformed text");
    }
    return rc;
}

static int read_weights(pair_state *s, io_reader *r) {
    io_cursor c;
    int rc = io_reader_section(r, SEC_WEIGHTS, &c);
    for (size_t k = 0; k < s->s.n_params && !rc; k++) {
        nn_param p = s->s.params[k];
        float *t = NULL;
        uint64_t rows, cols;
        rc = io_get_tensor(&c, &t, &rows, &cols, p.rows, p.cols);
        for (size_t i = 0; !rc && i < nn_size(p); i++)
            if (!isfinite(t[i])) rc = bad(&c, "a weight is not finite");
        if (!rc) memcpy(nn_w(&s->s, p), t, nn_size(p) * sizeof *t);
        core_free(t);
    }
    if (!rc) rc = io_cursor_done(&c);
    return rc;
}

int pair_load(aisle_model *m, io_reader *r) {
    pair_state *s = core_calloc(1, sizeof *s);
    if (!s) return core_oom("loading the pair model");
    m->state = s;
    nn_toks_init(&s->toks);
    nn_store_init(&s->s);
    s->n_users = s->text_users = s->id_users = model_n_users(m);
    s->n_items = s->text_items = s->id_items = model_n_items(m);
    nn_encoder_cfg ec;
    int rc = read_header(s, r, &ec);
    if (!rc && s->bert) {
        rc = read_raw_texts(s, r);
        if (!rc) rc = read_recent(s, r);
        return rc;
    }
    /* int8 weights: at least a byte each in the (uncompressed) section */
    if (!rc) rc = pair_build_net(s, &ec, false, io_reader_section_bytes(r, SEC_WEIGHTS));
    if (!rc) rc = read_texts(s, r);
    if (!rc) rc = read_recent(s, r);
    if (!rc) rc = read_weights(s, r);
    return rc;
}

/* The structure only: describe must not change when a model is saved in
 * another encoding and loaded again. */
static int describe_bert(const pair_state *s, core_buf *out) {
    const bert_config *c = &s->bert->cfg;
    int rc = buf_printf(out, "objective: %s\nencoder: bert layers=%u hidden=%u heads=%u vocab=%u max_length=%u\n",
                        s->rating ? "rating" : "purchase", c->layers, c->hidden, c->heads, c->vocab, s->bert_max_len);
    if (!rc) rc = buf_printf(out, "shopper text: recent_items=%u title_tokens=%u\n", s->recent, s->title_tokens);
    if (!rc && s->rating)
        rc = buf_printf(out, "ratings: mean %.4g in [%.4g, %.4g]\n", (double)s->mean, (double)s->rmin,
                        (double)s->rmax);
    if (!rc) rc = buf_printf(out, "texts: %zu\n", (size_t)s->n_items + s->n_users);
    return rc;
}

int pair_describe(const aisle_model *m, core_buf *out) {
    const pair_state *s = m->state;
    if (s->bert) return describe_bert(s, out);
    const nn_encoder_cfg *ec = &s->enc.c;
    int rc = buf_printf(out, "objective: %s\nencoder: hidden=%zu blocks=%d heads=%d ff=%zu maxlen=%zu "
                        "hash_buckets=%u\n", s->rating ? "rating" : "purchase", ec->d, ec->layers, ec->heads,
                        ec->ff, ec->max_len, ec->buckets);
    if (!rc) rc = buf_printf(out, "shopper text: recent_items=%u title_tokens=%u\nid_factors: %u\n", s->recent,
                             s->title_tokens, s->id_factors);
    if (!rc && s->rating)
        rc = buf_printf(out, "ratings: mean %.4g in [%.4g, %.4g]\n", (double)s->mean, (double)s->rmin,
                        (double)s->rmax);
    /* as the file holds them: zero id rows for added users and products */
    size_t params = s->s.n + ((size_t)s->id_factors + 1) * ((s->n_users - s->id_users) + (s->n_items - s->id_items));
    if (!s->id_factors) params = s->s.n;
    if (!rc) rc = buf_printf(out, "texts: %zu (%zu tokens)\nparameters: %zu\n", s->toks.n_texts, s->toks.n_tokens,
                             params);
    return rc;
}
