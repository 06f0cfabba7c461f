/* pair_grow.c - products and shoppers joining a trained (or loaded) pair
 * model from a catalog (aisle_model_add_items / aisle_model_add_users,
 * aisle_server_add_items / _add_users; docs/PAIR.md).
 *
 * A new product's text is built by the rule training uses
 * (pair_product_text: title, category, brand, description), a new
 * shopper's profile by pair_shopper_profile (the attributes of its row).
 * The texts are appended after the rating words and found through
 * added_item_text / added_user_text (pair.h), so no trained text is
 * renumbered; a save writes them back in the file's layout.  With id
 * embeddings a new row is zero, as a training catalog's product without
 * events keeps it; the rows are not stored until a save (id_terms reads
 * them as 0).  So a product added today scores bit for bit as it would
 * have had it been in the training catalog without events, and a new
 * shopper (no history) is read as a trained shopper with the same profile
 * and no recent items.
 *
 * All or nothing: every array is made bigger first (a bigger array holding
 * the same rows is the same model), the texts are appended (taken back on
 * failure), then the keys; only then do the counts change. */
#include "pair.h"

#include <string.h>

/* Where the texts stood before the add, to take them back. */
typedef struct toks_mark {
    size_t n_texts, n_tokens, n_ids, str_len;
} toks_mark;

static void toks_restore(pair_state *s, const toks_mark *k) {
    nn_toks *t = &s->toks;
    t->n_texts = k->n_texts, t->n_tokens = k->n_tokens, t->n_ids = k->n_ids, t->str_len = k->str_len;
}

/* Appends the texts of catalog rows pos[0..n) (products or profiles) and
 * records their text indices in tix[0..n). */
static int append_texts(pair_state *s, const aisle_catalog *cat, int side, const size_t *pos, size_t n, size_t *tix) {
    core_buf b, raw;
    buf_init(&b);
    buf_init(&raw);
    size_t total = (size_t)s->n_items + s->n_users; /* bert: the raw texts held */
    int rc = AISLE_OK;
    size_t *off = NULL;
    if (s->bert) {
        off = core_reallocarray(s->btext_off, total + n + 1, sizeof *off);
        if (!off) return core_oom("pair: new texts");
        s->btext_off = off;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        const char *key = data_catalog_key(cat, pos[i]);
        rc = side ? pair_shopper_profile(cat, key, &b) : pair_product_text(cat, key, &b);
        if (rc) break;
        if (s->bert) {
            tix[i] = total + i;
            off[total + i] = s->btext_off[total] + raw.len;
            rc = buf_append(&raw, b.data ? b.data : "", b.len);
            if (!rc) rc = buf_append(&raw, "", 1);
        } else {
            tix[i] = s->toks.n_texts;
            rc = nn_toks_add(&s->toks, &s->feat, b.len ? b.data : "", b.len);
        }
    }
    if (!rc && s->bert) {
        size_t end = s->btext_off[total];
        char *all = core_realloc(s->btext, end + raw.len + 1);
        if (!all) rc = core_oom("pair: new texts");
        else {
            memcpy(all + end, raw.data, raw.len);
            s->btext = all;
            off[total + n] = end + raw.len;
        }
    }
    buf_free(&b);
    buf_free(&raw);
    return rc;
}

int pair_add_catalog(aisle_model *m, const aisle_catalog *cat, int side, size_t *added) {
    pair_state *s = m->state;
    *added = 0;
    core_keys *dict = side ? &m->users : &m->items;
    uint32_t nu = s->n_users, ni = s->n_items, old = side ? nu : ni;
    size_t rows = data_catalog_size(cat), n = 0;
    size_t *pos = core_malloc((rows ? rows : 1) * sizeof *pos);
    if (!pos) return core_oom("pair: new rows");
    for (size_t p = 0; p < rows; p++) {
        const char *key = data_catalog_key(cat, p);
        if (keys_find(dict, key, strlen(key)) < 0) pos[n++] = p; /* rows the model has stay as trained */
    }
    int rc = AISLE_OK;
    if (n > UINT32_MAX / 2 - old)
        rc = core_error(AISLE_ERANGE, "model 'pair': %u %s and %zu new ones are more than supported", old,
                        side ? "users" : "items", n);
    if (rc || n == 0) {
        core_free(pos);
        return rc;
    }
    /* the arrays first (text indices, then recent-item offsets or
     * popularity), so that nothing fails after the rows are added; the
     * history needs no room: users past history.rows read as empty rows */
    size_t had = side ? nu - s->text_users : ni - s->text_items;
    size_t *tix = core_reallocarray(side ? s->added_user_text : s->added_item_text, had + n, sizeof *tix);
    if (!tix) rc = core_oom("pair: new rows");
    else if (side) s->added_user_text = tix;
    else s->added_item_text = tix;
    if (!rc && side) {
        size_t *ro = core_reallocarray(s->recent_off, (size_t)nu + n + 1, sizeof *ro);
        if (!ro) rc = core_oom("pair: new shoppers");
        else s->recent_off = ro;
    } else if (!rc) {
        float *pop = core_reallocarray(m->popularity, (size_t)ni + n, sizeof *pop);
        if (!pop) rc = core_oom("pair: new products");
        else m->popularity = pop;
    }
    toks_mark mark = {s->toks.n_texts, s->toks.n_tokens, s->toks.n_ids, s->toks.str_len};
    if (!rc) rc = append_texts(s, cat, side, pos, n, tix + had);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *key = data_catalog_key(cat, pos[i]);
        uint32_t idx;
        rc = keys_intern(dict, key, strlen(key), &idx, NULL);
    }
    core_free(pos);
    if (rc) {
        keys_truncate(dict, old);
        toks_restore(s, &mark); /* bert: the offsets past the held texts are not read */
        return rc;
    }
    /* nothing fails from here */
    if (side) {
        /* no recent items; no history either: users past history.rows read
         * as empty rows (model_history_row), so the CSR is not touched */
        for (size_t i = 1; i <= n; i++) s->recent_off[nu + i] = s->recent_off[nu];
        s->n_users = nu + (uint32_t)n;
    } else {
        memset(m->popularity + ni, 0, n * sizeof *m->popularity);
        m->history.cols = ni + (uint32_t)n;
        s->n_items = ni + (uint32_t)n;
    }
    *added = n;
    return AISLE_OK;
}
