/* file.c - a forecast in the model container (kind "forecast", sections
 * 1024..1029, docs/FORMAT.md).  Loading checks every count, index, length
 * and float so a damaged file is refused with AISLE_EFORMAT, never read
 * past its end or followed into a loop. */
#include "forecast.h"
#include "io/io.h"

#include <math.h>
#include <string.h>

enum {
    SEC_SETTINGS = 1024,
    SEC_KEYS = 1025,
    SEC_SERIES = 1026,
    SEC_LOCAL = 1027,
    SEC_QTABLES = 1028,
    SEC_GLOBAL = 1029
};

static int put_keys(core_buf *b, const core_keys *k) {
    int rc = io_put_u64(b, k->n);
    for (size_t i = 0; !rc && i < k->n; i++) rc = io_put_str(b, keys_at(k, (uint32_t)i));
    return rc;
}

static int put_gbt(core_buf *b, const fc_gbt *g) {
    int rc = io_put_u32(b, g->n_features);
    if (!rc) rc = io_put_u32(b, g->n_trees);
    if (!rc) rc = io_put_f32(b, g->base);
    if (!rc) rc = io_put_u32_array(b, g->tree_off, (uint64_t)g->n_trees + 1);
    if (!rc) rc = io_put_u64(b, g->n_nodes);
    for (size_t i = 0; !rc && i < g->n_nodes; i++) {
        const fc_gbt_node *nd = &g->nodes[i];
        rc = io_put_u32(b, (uint32_t)nd->feature);
        if (!rc) rc = io_put_u32(b, nd->left);
        if (!rc) rc = io_put_f32(b, nd->threshold);
        if (!rc) rc = io_put_f32(b, nd->value);
    }
    return rc;
}

static int put_section(io_writer *w, uint32_t type, core_buf *b, int rc) {
    if (!rc) rc = io_writer_add_section(w, type, IO_FLAG_REQUIRED, b);
    buf_free(b);
    buf_init(b);
    return rc;
}

static int forecast_writer(const aisle_forecast *fc, const aisle_config *cfg, io_writer **out) {
    const fc_series *S = &fc->S;
    io_writer *w;
    int rc = io_writer_new(&w, "forecast", cfg);
    if (rc) return rc;
    core_buf b;
    buf_init(&b);
    rc = io_put_u8(&b, (uint8_t)S->period);
    if (!rc) rc = io_put_u8(&b, (uint8_t)fc->method_opt);
    if (!rc) rc = io_put_u32(&b, fc->season);
    if (!rc) rc = io_put_u32(&b, fc->horizon);
    if (!rc) rc = io_put_i64(&b, S->last);
    if (!rc) rc = io_put_u32(&b, S->n);
    if (!rc) rc = io_put_u32(&b, S->n_items);
    if (!rc) rc = io_put_u64(&b, S->events_used);
    if (!rc) rc = io_put_u64(&b, S->events_future);
    if (!rc) rc = io_put_u64(&b, S->periods_clamped);
    if (!rc) rc = io_put_str(&b, fc->options);
    rc = put_section(w, SEC_SETTINGS, &b, rc);

    if (!rc) rc = put_keys(&b, &S->items);
    if (!rc) rc = put_keys(&b, &S->categories);
    if (!rc) rc = io_put_u32_array(&b, S->category, S->n_items);
    rc = put_section(w, SEC_KEYS, &b, rc);

    if (!rc) rc = io_put_u32_array(&b, S->len, S->n);
    if (!rc) rc = io_put_f32_array(&b, S->values, S->off[S->n]);
    if (!rc) rc = io_put_f32_array(&b, S->price, S->n);
    if (!rc) rc = io_put_u64(&b, S->n_holidays);
    for (size_t i = 0; !rc && i < S->n_holidays; i++) rc = io_put_i64(&b, S->holidays[i]);
    rc = put_section(w, SEC_SERIES, &b, rc);

    for (uint32_t s = 0; !rc && s < S->n; s++) {
        const fc_local *f = &fc->local[s];
        rc = io_put_u8(&b, fc->method[s]);
        if (!rc) rc = io_put_u8(&b, f->trend);
        if (!rc) rc = io_put_u8(&b, f->season);
        if (!rc) rc = io_put_u32(&b, f->m);
        const float v[7] = {f->alpha, f->beta, f->gamma, f->phi, f->level, f->slope, f->scale};
        for (int k = 0; !rc && k < 7; k++) rc = io_put_f32(&b, v[k]);
        for (uint32_t j = 0; !rc && f->season && j < f->m; j++) rc = io_put_f32(&b, f->seas[j]);
    }
    rc = put_section(w, SEC_LOCAL, &b, rc);

    for (int m = 0; !rc && m < FC_N_METHODS; m++) {
        rc = io_put_u32(&b, fc->qt[m].horizon);
        if (!rc) rc = io_put_f32_array(&b, fc->qt[m].q, fc->qt[m].q ? (uint64_t)fc->qt[m].horizon * FC_NQ : 0);
    }
    rc = put_section(w, SEC_QTABLES, &b, rc);

    if (!rc) rc = io_put_u8(&b, (uint8_t)fc->global.trained);
    if (!rc && fc->global.trained) {
        rc = io_put_u32(&b, fc->global.horizon);
        if (!rc) rc = io_put_f32_array(&b, fc->global.cqr, fc->global.horizon);
        for (int q = 0; !rc && q < FC_NQ; q++) rc = put_gbt(&b, &fc->global.q[q]);
    }
    rc = put_section(w, SEC_GLOBAL, &b, rc);
    if (rc) {
        io_writer_free(w);
        return rc;
    }
    *out = w;
    return AISLE_OK;
}

int fc_save_buffer(const aisle_forecast *fc, const aisle_config *cfg, void **out, size_t *len) {
    io_writer *w;
    int rc = forecast_writer(fc, cfg, &w);
    if (rc) return rc;
    rc = io_writer_to_buffer(w, out, len);
    io_writer_free(w);
    return rc;
}

AISLE_API int aisle_forecast_save(const aisle_forecast *fc, const char *path, const aisle_config *cfg) {
    if (!fc || !path) return core_error(AISLE_EINVAL, "aisle_forecast_save: NULL argument");
    io_writer *w;
    int rc = forecast_writer(fc, cfg, &w);
    if (rc) return rc;
    rc = io_writer_to_file(w, path, UINT64_MAX);
    io_writer_free(w);
    return rc;
}

AISLE_API int aisle_forecast_save_buffer(const aisle_forecast *fc, const aisle_config *cfg, void **out,
                                         size_t *len) {
    if (!fc || !out || !len) return core_error(AISLE_EINVAL, "aisle_forecast_save_buffer: NULL argument");
    return fc_save_buffer(fc, cfg, out, len);
}

/* ---- loading ---- */

static int bad(const io_cursor *c, const char *what) {
    return core_error(AISLE_EFORMAT, "%s: %s", c->section, what);
}

static int get_keys(io_cursor *c, core_keys *k) {
    uint64_t n;
    int rc = io_get_u64(c, &n);
    if (rc) return rc;
    if (n > (c->len - c->pos) / 5) return bad(c, "more keys than bytes");
    for (uint64_t i = 0; i < n; i++) {
        char *s;
        rc = io_get_str(c, &s);
        if (rc) return rc;
        bool added = false;
        size_t len = strlen(s);
        if (!len) rc = bad(c, "empty key");
        if (!rc) rc = keys_intern(k, s, len, &(uint32_t){0}, &added);
        if (!rc && !added) rc = bad(c, "repeated key");
        core_free(s);
        if (rc) return rc;
    }
    return AISLE_OK;
}

static int get_gbt(io_cursor *c, fc_gbt *g) {
    uint32_t nf, nt;
    uint64_t nn, n_off;
    int rc = io_get_u32(c, &nf);
    if (!rc) rc = io_get_u32(c, &nt);
    if (!rc) rc = io_get_f32(c, &g->base);
    if (rc) return rc;
    if (nf != FC_GLOBAL_FEATURES || !isfinite(g->base)) return bad(c, "bad tree model header");
    rc = io_get_u32_array(c, &g->tree_off, &n_off, (uint64_t)nt + 1);
    if (!rc && n_off != (uint64_t)nt + 1) rc = bad(c, "tree offsets do not match the tree count");
    if (!rc) rc = io_get_u64(c, &nn);
    if (rc) return rc;
    g->n_features = nf;
    g->n_trees = nt;
    if (nn > (c->len - c->pos) / 16 || nn > UINT32_MAX) return bad(c, "more tree nodes than bytes");
    g->nodes = core_malloc((nn ? nn : 1) * sizeof *g->nodes);
    if (!g->nodes) return core_oom("forecast trees");
    g->n_nodes = nn;
    for (uint64_t i = 0; !rc && i < nn; i++) {
        fc_gbt_node *nd = &g->nodes[i];
        uint32_t f;
        rc = io_get_u32(c, &f);
        if (!rc) rc = io_get_u32(c, &nd->left);
        if (!rc) rc = io_get_f32(c, &nd->threshold);
        if (!rc) rc = io_get_f32(c, &nd->value);
        nd->feature = (int32_t)f;
        if (!rc && (nd->feature < -1 || nd->feature >= (int32_t)nf || !isfinite(nd->value) || isnan(nd->threshold)))
            rc = bad(c, "bad tree node");
    }
    /* each tree owns a contiguous node range; children lie after their parent inside it */
    if (!rc && (g->tree_off[0] != 0 || g->tree_off[nt] != nn)) rc = bad(c, "tree offsets do not cover the nodes");
    for (uint32_t t = 0; !rc && t < nt; t++) {
        uint32_t a = g->tree_off[t], z = g->tree_off[t + 1];
        if (a >= z) rc = bad(c, "empty tree");
        for (uint32_t i = a; !rc && i < z; i++) {
            const fc_gbt_node *nd = &g->nodes[i];
            if (nd->feature >= 0 && (nd->left <= i || nd->left >= z - 1)) rc = bad(c, "tree node child out of range");
        }
    }
    return rc;
}

static int load_image(const void *data, size_t len, const aisle_config *cfg, aisle_forecast **out) {
    io_reader *r;
    int rc = io_reader_open(&r, data, len, (uint64_t)config_int(cfg, io_options, "max_model_bytes"));
    if (rc) return rc;
    if (strcmp(io_reader_kind(r), "forecast") != 0) {
        rc = core_error(AISLE_EINVAL, "the file holds a '%s' model, not a forecast", io_reader_kind(r));
        io_reader_free(r);
        return rc;
    }
    aisle_forecast *fc = core_calloc(1, sizeof *fc);
    if (!fc) {
        io_reader_free(r);
        return core_oom("forecast");
    }
    fc_series *S = &fc->S;
    keys_init(&S->items);
    keys_init(&S->categories);
    io_cursor c;
    uint8_t period = 0, mopt = 0;
    uint32_t n = 0, n_items = 0;
    rc = io_reader_section(r, SEC_SETTINGS, &c);
    if (!rc) rc = io_get_u8(&c, &period);
    if (!rc) rc = io_get_u8(&c, &mopt);
    if (!rc) rc = io_get_u32(&c, &fc->season);
    if (!rc) rc = io_get_u32(&c, &fc->horizon);
    if (!rc) rc = io_get_i64(&c, &S->last);
    if (!rc) rc = io_get_u32(&c, &n);
    if (!rc) rc = io_get_u32(&c, &n_items);
    if (!rc) rc = io_get_u64(&c, &S->events_used);
    if (!rc) rc = io_get_u64(&c, &S->events_future);
    if (!rc) rc = io_get_u64(&c, &S->periods_clamped);
    char *opts = NULL;
    if (!rc) rc = io_get_str(&c, &opts);
    if (!rc) {
        snprintf(fc->options, sizeof fc->options, "%s", opts);
        if (period > 1 || (mopt >= FC_N_METHODS - 1 && mopt != FC_AUTO) || fc->season < 1 || fc->season > 400 ||
            fc->horizon < 1 || fc->horizon > 1000 || n_items > n || S->last > ((int64_t)1 << 40) ||
            S->last < -((int64_t)1 << 40))
            rc = bad(&c, "settings out of range");
    }
    core_free(opts);
    if (!rc) rc = io_cursor_done(&c);
    S->period = period;
    fc->method_opt = mopt;
    S->n_items = n_items;

    uint64_t cnt = 0;
    if (!rc) rc = io_reader_section(r, SEC_KEYS, &c);
    if (!rc) rc = get_keys(&c, &S->items);
    if (!rc) rc = get_keys(&c, &S->categories);
    if (!rc && (S->items.n != n_items || S->categories.n != (uint64_t)(n - n_items)))
        rc = bad(&c, "key counts do not match the series count");
    if (!rc) rc = io_get_u32_array(&c, &S->category, &cnt, n_items);
    if (!rc && cnt != n_items) rc = bad(&c, "category list does not match the products");
    for (uint32_t i = 0; !rc && i < n_items; i++)
        if (S->category[i] != UINT32_MAX && S->category[i] >= S->categories.n) rc = bad(&c, "category out of range");
    if (!rc) rc = io_cursor_done(&c);

    if (!rc) rc = io_reader_section(r, SEC_SERIES, &c);
    if (!rc) rc = io_get_u32_array(&c, &S->len, &cnt, n);
    if (!rc && cnt != n) rc = bad(&c, "length list does not match the series count");
    if (!rc) {
        S->n = n;
        S->off = core_calloc((size_t)n + 1, sizeof *S->off);
        if (!S->off) rc = core_oom("forecast");
        for (uint32_t i = 0; !rc && i < n; i++) S->off[i + 1] = S->off[i] + S->len[i];
    }
    if (!rc) rc = io_get_f32_array(&c, &S->values, &cnt, S->off[n]);
    if (!rc && cnt != S->off[n]) rc = bad(&c, "value count does not match the lengths");
    for (uint64_t i = 0; !rc && i < cnt; i++)
        if (!(S->values[i] >= 0) || !isfinite(S->values[i])) rc = bad(&c, "negative or non-finite demand");
    if (!rc) rc = io_get_f32_array(&c, &S->price, &cnt, n);
    if (!rc && cnt != n) rc = bad(&c, "price count does not match the series count");
    uint64_t nh = 0;
    if (!rc) rc = io_get_u64(&c, &nh);
    if (!rc && nh > (c.len - c.pos) / 8) rc = bad(&c, "more holidays than bytes");
    if (!rc && nh) {
        S->holidays = core_malloc(nh * sizeof *S->holidays);
        if (!S->holidays) rc = core_oom("forecast");
        for (uint64_t i = 0; !rc && i < nh; i++) rc = io_get_i64(&c, &S->holidays[i]);
        for (uint64_t i = 1; !rc && i < nh; i++)
            if (S->holidays[i] < S->holidays[i - 1]) rc = bad(&c, "holidays out of order");
        S->n_holidays = nh;
    }
    if (!rc) rc = io_cursor_done(&c);

    if (!rc) {
        fc->method = core_calloc(n ? n : 1, 1);
        fc->local = core_calloc(n ? n : 1, sizeof *fc->local);
        if (!fc->method || !fc->local) rc = core_oom("forecast");
    }
    uint8_t gtrained = 0;
    if (!rc) rc = io_reader_section(r, SEC_GLOBAL, &c);
    if (!rc) rc = io_get_u8(&c, &gtrained);
    if (!rc && gtrained > 1) rc = bad(&c, "bad flag");
    if (!rc && gtrained) {
        fc_global *g = &fc->global;
        rc = io_get_u32(&c, &g->horizon);
        if (!rc && (g->horizon < 1 || g->horizon > 1000)) rc = bad(&c, "horizon out of range");
        if (!rc) rc = io_get_f32_array(&c, &g->cqr, &cnt, g->horizon);
        if (!rc && cnt != g->horizon) rc = bad(&c, "offsets do not match the horizon");
        for (uint32_t h = 0; !rc && h < g->horizon; h++)
            if (!isfinite(g->cqr[h])) rc = bad(&c, "non-finite offset");
        for (int q = 0; !rc && q < FC_NQ; q++) rc = get_gbt(&c, &g->q[q]);
        g->trained = !rc;
    }
    if (!rc) rc = io_cursor_done(&c);

    if (!rc) rc = io_reader_section(r, SEC_LOCAL, &c);
    for (uint32_t s = 0; !rc && s < n; s++) {
        fc_local *f = &fc->local[s];
        uint8_t m;
        rc = io_get_u8(&c, &m);
        if (!rc) rc = io_get_u8(&c, &f->trend);
        if (!rc) rc = io_get_u8(&c, &f->season);
        if (!rc) rc = io_get_u32(&c, &f->m);
        float v[7];
        for (int k = 0; !rc && k < 7; k++) {
            rc = io_get_f32(&c, &v[k]);
            if (!rc && !isfinite(v[k])) rc = bad(&c, "non-finite parameter");
        }
        if (rc) break;
        f->alpha = v[0], f->beta = v[1], f->gamma = v[2], f->phi = v[3], f->level = v[4], f->slope = v[5];
        f->scale = v[6];
        fc->method[s] = m;
        f->method = m == FC_GLOBAL ? FC_ZERO : m;
        if (m >= FC_N_METHODS || (m == FC_GLOBAL && (!gtrained || s >= n_items)) || f->trend > 2 || f->season > 2 ||
            f->m > 400 || (f->season && f->m < 1) || !(f->scale > 0))
            rc = bad(&c, "bad series model");
        if (!rc && f->season) {
            f->seas = core_malloc((size_t)f->m * sizeof *f->seas);
            if (!f->seas) rc = core_oom("forecast");
            for (uint32_t j = 0; !rc && j < f->m; j++) {
                rc = io_get_f32(&c, &f->seas[j]);
                if (!rc && !isfinite(f->seas[j])) rc = bad(&c, "non-finite season");
            }
        }
    }
    if (!rc) rc = io_cursor_done(&c);

    if (!rc) rc = io_reader_section(r, SEC_QTABLES, &c);
    for (int m = 0; !rc && m < FC_N_METHODS; m++) {
        fc_qtable *t = &fc->qt[m];
        rc = io_get_u32(&c, &t->horizon);
        if (!rc && t->horizon > 1000) rc = bad(&c, "horizon out of range");
        if (!rc) rc = io_get_f32_array(&c, &t->q, &cnt, (uint64_t)t->horizon * FC_NQ);
        if (!rc && m != FC_GLOBAL && (t->horizon < 1 || cnt != (uint64_t)t->horizon * FC_NQ))
            rc = bad(&c, "quantile table does not match its horizon");
        for (uint64_t i = 0; !rc && i < cnt; i++)
            if (!isfinite(t->q[i])) rc = bad(&c, "non-finite quantile");
    }
    if (!rc) rc = io_cursor_done(&c);
    if (!rc) rc = io_reader_check_required(r);
    io_reader_free(r);
    if (rc) {
        aisle_forecast_free(fc);
        return rc;
    }
    *out = fc;
    return AISLE_OK;
}

AISLE_API int aisle_forecast_load_buffer(aisle_forecast **out, const void *data, size_t len, const aisle_config *cfg) {
    if (!out || (!data && len)) return core_error(AISLE_EINVAL, "aisle_forecast_load_buffer: NULL argument");
    int rc = load_image(data ? data : "", len, cfg, out);
    return rc ? core_error_prefix(rc, "forecast buffer") : AISLE_OK;
}

AISLE_API int aisle_forecast_load(aisle_forecast **out, const char *path, const aisle_config *cfg) {
    if (!out || !path) return core_error(AISLE_EINVAL, "aisle_forecast_load: NULL argument");
    uint8_t *data;
    size_t len;
    int rc = io_read_file(path, (uint64_t)config_int(cfg, io_options, "max_model_bytes"), &data, &len);
    if (rc) return rc;
    rc = load_image(data, len, cfg, out);
    core_free(data);
    return rc ? core_error_prefix(rc, "%s", path) : AISLE_OK;
}
