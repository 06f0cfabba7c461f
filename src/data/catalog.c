/* catalog.c - the product catalog: keys, text fields, price and free
 * key=value attributes, with lookups for models, the CLI and the public
 * getters.
 *
 * Strings live in one arena (text); products hold offsets, so a product
 * is five words plus its attributes.  Replacing a field appends the new
 * text and leaves the old bytes unused (catalogs are mostly loaded once);
 * an update with identical text appends nothing. */
#include "data.h"

#include <math.h>
#include <string.h>

static int catalog_init(aisle_catalog *c) {
    memset(c, 0, sizeof *c);
    keys_init(&c->keys);
    keys_init(&c->attr_names);
    buf_init(&c->text);
    return buf_append(&c->text, "", 1); /* offset 0 = "" */
}

void data_catalog_release(aisle_catalog *c) {
    keys_clear(&c->keys);
    keys_clear(&c->attr_names);
    buf_free(&c->text);
    core_free(c->fields);
    core_free(c->price);
    core_free(c->attr_head);
    core_free(c->attr_tail);
    core_free(c->attrs);
    core_free(c->attr_slots);
    data_report_clear(&c->report);
    memset(c, 0, sizeof *c);
}

static int dup_array(void **dst, const void *src, size_t n, size_t elem) {
    *dst = NULL;
    if (!n) return AISLE_OK;
    *dst = core_malloc(n * elem);
    if (!*dst) return core_oom("copying a catalog");
    memcpy(*dst, src, n * elem);
    return AISLE_OK;
}

int data_catalog_copy(aisle_catalog *dst, const aisle_catalog *src) {
    memset(dst, 0, sizeof *dst);
    size_t n = src->keys.n;
    int rc = keys_copy(&dst->keys, &src->keys);
    if (!rc) rc = keys_copy(&dst->attr_names, &src->attr_names);
    if (!rc) rc = buf_append(&dst->text, src->text.data, src->text.len);
    if (!rc) rc = dup_array((void **)&dst->fields, src->fields, n * DATA_N_FIELDS, sizeof *dst->fields);
    if (!rc) rc = dup_array((void **)&dst->price, src->price, n, sizeof *dst->price);
    if (!rc) rc = dup_array((void **)&dst->attr_head, src->attr_head, n, sizeof *dst->attr_head);
    if (!rc) rc = dup_array((void **)&dst->attr_tail, src->attr_tail, n, sizeof *dst->attr_tail);
    if (!rc) rc = dup_array((void **)&dst->attrs, src->attrs, src->n_attrs, sizeof *dst->attrs);
    if (!rc) rc = dup_array((void **)&dst->attr_slots, src->attr_slots, src->attr_nslots, sizeof *dst->attr_slots);
    if (rc) {
        data_catalog_release(dst);
        return rc;
    }
    dst->cap = n;
    dst->n_attrs = dst->attrs_cap = src->n_attrs;
    dst->attr_nslots = src->attr_nslots;
    return AISLE_OK;
}

/* Offset of text (appended unless equal to the string at `old`). */
static int put_text(aisle_catalog *c, const char *p, size_t len, uint64_t old, uint64_t *out) {
    if (len == 0) {
        *out = 0;
        return AISLE_OK;
    }
    const char *cur = c->text.data + old;
    if (strncmp(cur, p, len) == 0 && cur[len] == '\0') {
        *out = old;
        return AISLE_OK;
    }
    uint64_t off = c->text.len;
    int rc = buf_append(&c->text, p, len);
    if (!rc) rc = buf_append(&c->text, "", 1);
    if (rc) {
        c->text.len = (size_t)off;
        return rc;
    }
    *out = off;
    return AISLE_OK;
}

/* Room for one more product in the per-product arrays. */
static int reserve_product(aisle_catalog *c, size_t n) {
    if (n <= c->cap) return AISLE_OK;
    size_t cap = c->cap ? c->cap * 2 : 64;
    if (cap < n) cap = n;
    uint64_t *f = core_reallocarray(c->fields, cap * DATA_N_FIELDS, sizeof *f);
    if (!f) return core_oom("catalog");
    c->fields = f;
    double *pr = core_reallocarray(c->price, cap, sizeof *pr);
    if (!pr) return core_oom("catalog");
    c->price = pr;
    uint32_t *h = core_reallocarray(c->attr_head, cap, sizeof *h);
    if (!h) return core_oom("catalog");
    c->attr_head = h;
    uint32_t *t = core_reallocarray(c->attr_tail, cap, sizeof *t);
    if (!t) return core_oom("catalog");
    c->attr_tail = t;
    c->cap = cap;
    return AISLE_OK;
}

int data_catalog_upsert(aisle_catalog *c, const char *key, size_t key_len, const char *const *text,
                        const size_t *text_len, double price, bool set_price, uint32_t *index) {
    size_t n0 = c->keys.n, tlen0 = c->text.len;
    int rc = reserve_product(c, n0 + 1);
    if (rc) return rc;
    uint32_t idx = 0;
    bool added;
    if ((rc = keys_intern(&c->keys, key, key_len, &idx, &added))) return rc;
    if (added) {
        for (int f = 0; f < DATA_N_FIELDS; f++) c->fields[(size_t)idx * DATA_N_FIELDS + f] = 0;
        c->price[idx] = NAN;
        c->attr_head[idx] = c->attr_tail[idx] = 0;
    }
    uint64_t off[DATA_N_FIELDS];
    for (int f = 0; f < DATA_N_FIELDS; f++) {
        uint64_t old = c->fields[(size_t)idx * DATA_N_FIELDS + f];
        off[f] = old;
        if (text[f] && (rc = put_text(c, text[f], text_len[f], old, &off[f]))) {
            c->text.len = tlen0;
            keys_truncate(&c->keys, n0);
            return rc;
        }
    }
    memcpy(&c->fields[(size_t)idx * DATA_N_FIELDS], off, sizeof off);
    if (set_price) c->price[idx] = price;
    if (index) *index = idx;
    return AISLE_OK;
}

/* The slot of (item, name): the one holding it, else the empty slot where
 * it belongs.  The table must have an empty slot. */
static data_attr_slot *attr_slot(const data_attr_slot *slots, size_t nslots, uint32_t item, uint32_t name) {
    uint64_t h = ((uint64_t)item << 32 | name) * 0x9E3779B97F4A7C15ull;
    size_t mask = nslots - 1;
    for (size_t j = (size_t)(h >> 32) & mask;; j = (j + 1) & mask)
        if (!slots[j].entry1 || (slots[j].item == item && slots[j].name == name)) return (data_attr_slot *)&slots[j];
}

/* Entry index + 1 of product item's attribute `name`, or 0. */
static uint32_t attr_find(const aisle_catalog *c, uint32_t item, uint32_t name) {
    return c->attr_nslots ? attr_slot(c->attr_slots, c->attr_nslots, item, name)->entry1 : 0;
}

/* Room for one more entry in the index (at most 3/4 full). */
static int attr_index_reserve(aisle_catalog *c) {
    if ((c->n_attrs + 1) * 4 <= c->attr_nslots * 3) return AISLE_OK;
    size_t ns = c->attr_nslots ? c->attr_nslots * 2 : 64;
    data_attr_slot *slots = core_calloc(ns, sizeof *slots);
    if (!slots) return core_oom("catalog attribute index");
    for (size_t i = 0; i < c->attr_nslots; i++)
        if (c->attr_slots[i].entry1)
            *attr_slot(slots, ns, c->attr_slots[i].item, c->attr_slots[i].name) = c->attr_slots[i];
    core_free(c->attr_slots);
    c->attr_slots = slots;
    c->attr_nslots = ns;
    return AISLE_OK;
}

int data_catalog_set_attr(aisle_catalog *c, uint32_t index, const char *name, size_t name_len, const char *value,
                          size_t value_len) {
    size_t nn = c->attr_names.n, tlen0 = c->text.len;
    uint32_t id;
    int rc = keys_intern(&c->attr_names, name, name_len, &id, NULL);
    if (rc) return rc;
    uint32_t e = attr_find(c, index, id);
    if (e) {
        uint64_t off;
        if ((rc = put_text(c, value, value_len, c->attrs[e - 1].value, &off))) return rc;
        c->attrs[e - 1].value = off;
        return AISLE_OK;
    }
    uint64_t off = 0;
    if (c->n_attrs >= UINT32_MAX - 1) rc = core_error(AISLE_ERANGE, "more than 2^32 - 2 catalog attributes");
    if (rc || (rc = put_text(c, value, value_len, 0, &off)) ||
        (rc = core_grow((void **)&c->attrs, &c->attrs_cap, c->n_attrs + 1, sizeof *c->attrs)) ||
        (rc = attr_index_reserve(c))) {
        c->text.len = tlen0;
        keys_truncate(&c->attr_names, nn);
        return rc;
    }
    data_attr *a = &c->attrs[c->n_attrs++];
    a->name = id;
    a->next = 0;
    a->value = off;
    uint32_t e1 = (uint32_t)c->n_attrs;
    if (c->attr_tail[index]) c->attrs[c->attr_tail[index] - 1].next = e1;
    else c->attr_head[index] = e1;
    c->attr_tail[index] = e1;
    data_attr_slot *sl = attr_slot(c->attr_slots, c->attr_nslots, index, id);
    sl->item = index;
    sl->name = id;
    sl->entry1 = e1;
    return AISLE_OK;
}

/* ---- internal accessors (data.h) ---- */

size_t data_catalog_size(const aisle_catalog *c) { return c ? c->keys.n : 0; }

int64_t data_catalog_find(const aisle_catalog *c, const char *key, size_t len) {
    return c ? keys_find(&c->keys, key, len) : -1;
}

const char *data_catalog_key(const aisle_catalog *c, size_t idx) {
    return c && idx < c->keys.n ? keys_at(&c->keys, (uint32_t)idx) : "";
}

const char *data_catalog_field(const aisle_catalog *c, size_t idx, int field) {
    if (!c || idx >= c->keys.n || field < 0 || field >= DATA_N_FIELDS) return "";
    return c->text.data + c->fields[idx * DATA_N_FIELDS + (size_t)field];
}

double data_catalog_price(const aisle_catalog *c, size_t idx) {
    return c && idx < c->keys.n ? c->price[idx] : NAN;
}

/* ---- public API ---- */

static const char *const field_names[DATA_N_FIELDS] = {"title", "description", "category", "brand"};

AISLE_API int aisle_catalog_new(aisle_catalog **out) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_catalog_new: out is NULL");
    aisle_catalog *c = core_malloc(sizeof *c);
    if (!c) return core_oom("catalog");
    int rc = catalog_init(c);
    if (rc) {
        data_catalog_release(c);
        core_free(c);
        return rc;
    }
    *out = c;
    return AISLE_OK;
}

AISLE_API void aisle_catalog_free(aisle_catalog *c) {
    if (!c) return;
    data_catalog_release(c);
    core_free(c);
}

static int check_text(const char *what, const char *s) {
    size_t len = strlen(s), bad = data_utf8_check(s, len);
    if (bad < len) return core_error(AISLE_EINVAL, "catalog %s: invalid UTF-8 byte 0x%02x at byte %zu", what,
                                     (unsigned char)s[bad], bad + 1);
    return AISLE_OK;
}

AISLE_API int aisle_catalog_add_item(aisle_catalog *c, const char *key, const char *title, const char *description,
                                     const char *category, const char *brand, double price) {
    if (!c || !key) return core_error(AISLE_EINVAL, "aisle_catalog_add_item: NULL catalog or key");
    if (!key[0]) return core_error(AISLE_EINVAL, "aisle_catalog_add_item: empty key");
    if (isinf(price)) return core_error(AISLE_EINVAL, "aisle_catalog_add_item: price of '%s' is infinite", key);
    const char *text[DATA_N_FIELDS] = {title ? title : "", description ? description : "",
                                       category ? category : "", brand ? brand : ""};
    size_t len[DATA_N_FIELDS];
    int rc = check_text("key", key);
    for (int f = 0; f < DATA_N_FIELDS && !rc; f++) {
        rc = check_text(field_names[f], text[f]);
        len[f] = strlen(text[f]);
    }
    if (rc) return rc;
    return data_catalog_upsert(c, key, strlen(key), text, len, price, true, NULL);
}

static int find_item(const aisle_catalog *c, const char *key, uint32_t *idx) {
    int64_t i = keys_find(&c->keys, key, strlen(key));
    if (i < 0) return core_error(AISLE_ENOTFOUND, "catalog has no item '%s'", key);
    *idx = (uint32_t)i;
    return AISLE_OK;
}

AISLE_API int aisle_catalog_set_attribute(aisle_catalog *c, const char *key, const char *name, const char *value) {
    if (!c || !key || !name || !value) return core_error(AISLE_EINVAL, "aisle_catalog_set_attribute: NULL argument");
    if (!name[0]) return core_error(AISLE_EINVAL, "aisle_catalog_set_attribute: empty attribute name for item '%s'", key);
    int rc = check_text("attribute name", name);
    if (!rc) rc = check_text("attribute value", value);
    uint32_t idx = 0;
    if (!rc) rc = find_item(c, key, &idx);
    if (rc) return rc;
    return data_catalog_set_attr(c, idx, name, strlen(name), value, strlen(value));
}

AISLE_API int aisle_catalog_count(const aisle_catalog *c, size_t *out) {
    if (!c || !out) return core_error(AISLE_EINVAL, "aisle_catalog_count: NULL argument");
    *out = c->keys.n;
    return AISLE_OK;
}

AISLE_API int aisle_catalog_index(const aisle_catalog *c, const char *key, size_t *out) {
    if (!c || !key || !out) return core_error(AISLE_EINVAL, "aisle_catalog_index: NULL argument");
    uint32_t idx = 0;
    int rc = find_item(c, key, &idx);
    if (!rc) *out = idx;
    return rc;
}

AISLE_API int aisle_catalog_key(const aisle_catalog *c, size_t index, const char **out) {
    if (!c || !out) return core_error(AISLE_EINVAL, "aisle_catalog_key: NULL argument");
    if (index >= c->keys.n)
        return core_error(AISLE_ERANGE, "catalog index %zu out of range [0, %zu)", index, c->keys.n);
    *out = keys_at(&c->keys, (uint32_t)index);
    return AISLE_OK;
}

AISLE_API int aisle_catalog_item_text(const aisle_catalog *c, const char *key, const char *field, const char **out) {
    if (!c || !key || !field || !out) return core_error(AISLE_EINVAL, "aisle_catalog_item_text: NULL argument");
    uint32_t idx = 0;
    int rc = find_item(c, key, &idx);
    if (rc) return rc;
    for (int f = 0; f < DATA_N_FIELDS; f++)
        if (strcmp(field, field_names[f]) == 0) {
            *out = c->text.data + c->fields[(size_t)idx * DATA_N_FIELDS + f];
            return AISLE_OK;
        }
    int64_t id = keys_find(&c->attr_names, field, strlen(field));
    uint32_t e = id >= 0 ? attr_find(c, idx, (uint32_t)id) : 0;
    if (e) {
        *out = c->text.data + c->attrs[e - 1].value;
        return AISLE_OK;
    }
    return core_error(AISLE_ENOTFOUND, "catalog item '%s' has no field or attribute '%s'", key, field);
}

AISLE_API int aisle_catalog_item_price(const aisle_catalog *c, const char *key, double *out) {
    if (!c || !key || !out) return core_error(AISLE_EINVAL, "aisle_catalog_item_price: NULL argument");
    uint32_t idx = 0;
    int rc = find_item(c, key, &idx);
    if (!rc) *out = c->price[idx];
    return rc;
}

AISLE_API int aisle_catalog_item_attribute_count(const aisle_catalog *c, const char *key, size_t *out) {
    if (!c || !key || !out) return core_error(AISLE_EINVAL, "aisle_catalog_item_attribute_count: NULL argument");
    uint32_t idx = 0;
    int rc = find_item(c, key, &idx);
    if (rc) return rc;
    size_t n = 0;
    for (uint32_t e = c->attr_head[idx]; e; e = c->attrs[e - 1].next) n++;
    *out = n;
    return AISLE_OK;
}

AISLE_API int aisle_catalog_item_attribute(const aisle_catalog *c, const char *key, size_t index, const char **name,
                                           const char **value) {
    if (!c || !key) return core_error(AISLE_EINVAL, "aisle_catalog_item_attribute: NULL argument");
    uint32_t idx = 0;
    int rc = find_item(c, key, &idx);
    if (rc) return rc;
    size_t n = 0;
    for (uint32_t e = c->attr_head[idx]; e; e = c->attrs[e - 1].next, n++)
        if (n == index) {
            if (name) *name = keys_at(&c->attr_names, c->attrs[e - 1].name);
            if (value) *value = c->text.data + c->attrs[e - 1].value;
            return AISLE_OK;
        }
    return core_error(AISLE_ERANGE, "catalog item '%s': attribute index %zu out of range [0, %zu)", key, index, n);
}
