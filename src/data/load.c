/* load.c - behaviour events from delimited text files and buffers.
 *
 * All or nothing in strict mode: events are appended to the dataset as
 * rows are read and the dictionaries grow, and a failure truncates the
 * dictionaries (keys_truncate) and the event count back to where they were,
 * so the dataset is exactly as before the call.  In lenient mode every
 * check of a row happens before anything of it is interned, so a skipped
 * row leaves no trace. */
#include "data.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#if defined(__linux__)
#  include <sys/mman.h>
#endif

enum { R_USER, R_ITEM, R_VALUE, R_TIME, R_EVENT, R_COUNT };
static const char *const event_roles[R_COUNT] = {"user", "item", "value", "time", "event"};

/* Known header names (compared case-insensitively). */
static const char *const user_alias[] = {"user", "user_id", "userid", "customer", "customer_id", "customerid",
                                         "visitorid", "visitor_id", "uid", NULL};
static const char *const item_alias[] = {"item",     "item_id", "itemid", "product", "product_id", "productid",
                                         "movie_id", "movieid", "stockcode", "sku",  "asin",       "iid", NULL};
static const char *const value_alias[] = {"value", "rating", "quantity", "qty", "count", "weight", "score", NULL};
static const char *const time_alias[] = {"time",       "timestamp", "ts",         "date", "datetime",
                                         "invoicedate", "event_time", "created_at", NULL};
static const char *const event_alias[] = {"event", "event_type", "type", "action", "behavior", "behaviour", NULL};
static const char *const *const event_aliases[R_COUNT] = {user_alias, item_alias, value_alias, time_alias,
                                                          event_alias};

enum { NEG_SUBTRACT, NEG_SKIP, NEG_KEEP };

/* GCC 12 -O2 removed the __builtin_prefetch calls of this file (its tree
 * DCE; seen with objdump, kept with -fno-tree-dce), so x86-64 and AArch64
 * get the instruction directly. */
#if defined(__GNUC__) && defined(__x86_64__)
#  define LOAD_PREFETCH(p) __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)(p)))
#elif defined(__GNUC__) && defined(__aarch64__)
#  define LOAD_PREFETCH(p) __asm__ volatile("prfm pldl1keep, %0" : : "Q"(*(const char *)(p)))
#elif defined(__GNUC__)
#  define LOAD_PREFETCH(p) __builtin_prefetch(p)
#else
#  define LOAD_PREFETCH(p) ((void)(p))
#endif

/* A loader-local index over a key dictionary.  core_keys hashes with
 * FNV-1a, whose low bits (the table slot) mix poorly for short numeric
 * ids, and each probe reads the key arena; this index uses a
 * multiply-xorshift hash with a murmur3 finalizer and keeps, per slot, the
 * full hash and the key's first 8 bytes, so a lookup of a short key
 * touches one cache line.  A miss falls back to keys_intern. */
typedef struct key_slot {
    uint64_t head;   /* first 8 bytes of the key, zero padded */
    uint32_t check;  /* high hash bits, low bit set for keys longer than 8 bytes */
    uint32_t index1; /* index+1; 0 = empty */
} key_slot;

typedef struct key_cache {
    key_slot *slots;
    size_t nslots, n;
    unsigned shift; /* slot = hash >> shift */
} key_cache;

/* The first min(len, 8) bytes of p in memory order, zero padded, with
 * fixed-size loads only (a variable-length memcpy is a library call). */
static inline uint64_t load_head(const char *p, size_t len) {
    uint64_t w = 0;
    if (len >= 8) {
        memcpy(&w, p, 8);
        return w;
    }
    unsigned char b[8] = {0};
    size_t o = 0;
    if (len & 4) memcpy(b, p, 4), o = 4;
    if (len & 2) memcpy(b + o, p + o, 2), o += 2;
    if (len & 1) b[o] = (unsigned char)p[o];
    memcpy(&w, b, 8);
    return w;
}

/* load_head for a key inside a buffer that ends at lim: when 8 bytes are
 * readable, one load and a mask (little-endian: the first bytes are the
 * low ones). */
static inline uint64_t load_head_in(const char *p, size_t len, const char *lim) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (len < 8 && (size_t)(lim - p) >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        return w & ~(~0ull << (8 * len));
    }
#else
    (void)lim;
#endif
    return load_head(p, len);
}

/* head: load_head(p, len), computed once by the caller. */
static uint64_t fast_hash(const char *p, size_t len, uint64_t head) {
    uint64_t h = 0x243F6A8885A308D3ull ^ (len * 0x9E3779B97F4A7C15ull), w = head;
    if (len > 8) {
        while (len >= 8) {
            memcpy(&w, p, 8);
            h = (h ^ w) * 0x9E3779B97F4A7C15ull;
            h ^= h >> 29;
            p += 8;
            len -= 8;
        }
        w = load_head(p, len);
    }
    h = (h ^ w) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 33; /* murmur3 fmix64 */
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static void cache_free(key_cache *c) {
    core_free(c->slots);
    memset(c, 0, sizeof *c);
}

/* check = the hash's top 32 bits with bit 0 replaced by "longer than 8
 * bytes"; the slot is the hash's top log2(nslots) bits (at most 31), i.e.
 * check >> (shift - 32), so growing needs no rehash of the keys. */
static uint32_t check_of(uint64_t h, size_t len) { return ((uint32_t)(h >> 32) & ~1u) | (len > 8); }

static int cache_grow(key_cache *c) {
    size_t ns = c->nslots ? c->nslots * 2 : 1024;
    unsigned shift = 64;
    for (size_t t = ns; t > 1; t >>= 1) shift--;
    if (shift < 33) return core_error(AISLE_ERANGE, "too many distinct keys for the loader index");
    key_slot *slots = core_calloc(ns, sizeof *slots);
    if (!slots) return core_oom("loader key index");
    for (size_t i = 0; i < c->nslots; i++)
        if (c->slots[i].index1) {
            size_t j = c->slots[i].check >> (shift - 32);
            while (slots[j].index1) j = (j + 1) & (ns - 1);
            slots[j] = c->slots[i];
        }
    core_free(c->slots);
    c->slots = slots;
    c->nslots = ns;
    c->shift = shift;
    return AISLE_OK;
}

static void cache_prefetch(const key_cache *c, uint64_t h, size_t len) {
    if (c->nslots) LOAD_PREFETCH(&c->slots[check_of(h, len) >> (c->shift - 32)]);
}

/* Index of key (hash h, first bytes head) in k, interning it if new. */
static int cache_intern_h(key_cache *c, core_keys *k, const char *key, size_t len, uint64_t h, uint64_t head,
                          uint32_t *index) {
    uint32_t check = check_of(h, len);
    size_t j = 0;
    if (c->nslots) {
        for (j = check >> (c->shift - 32); c->slots[j].index1; j = (j + 1) & (c->nslots - 1)) {
            const key_slot *sl = &c->slots[j];
            if (sl->check != check || sl->head != head) continue;
            if (len > 8) { /* keys of up to 8 bytes are identified by head and check (keys hold no NUL) */
                const char *kk = keys_at(k, sl->index1 - 1);
                if (memcmp(kk, key, len) != 0 || kk[len] != '\0') continue;
            }
            *index = sl->index1 - 1;
            return AISLE_OK;
        }
    }
    int rc = keys_intern(k, key, len, index, NULL);
    if (rc) return rc;
    if ((c->n + 1) * 4 > c->nslots * 3) {
        if ((rc = cache_grow(c))) return rc;
        for (j = check >> (c->shift - 32); c->slots[j].index1; j = (j + 1) & (c->nslots - 1)) {}
    }
    c->slots[j].head = head;
    c->slots[j].check = check;
    c->slots[j].index1 = *index + 1;
    c->n++;
    return AISLE_OK;
}


/* Rows wait in a short queue between checking and interning, so the index
 * slots of their keys, prefetched when they enter, are in cache when they
 * leave (big dictionaries make interning a chain of cache misses). */
enum { LOAD_AHEAD = 16, PEND_KEY = 40 };
typedef struct pend_row {
    data_event ev;          /* user and item still to resolve */
    uint64_t uh, uhead, ih, ihead;
    uint32_t ulen, ilen;
    char ukey[PEND_KEY], ikey[PEND_KEY];
} pend_row;

typedef struct ev_loader {
    aisle_dataset *ds;
    data_reader rd;
    data_columns cols;
    size_t need_fields;          /* 1 + largest mapped field index */
    const char *time_format;
    int negative;
    bool lenient, latin1;
    uint32_t default_type;
    core_buf conv[3];            /* user, item, event text after conversion */
    key_cache ucache, icache;
    pend_row ring[LOAD_AHEAD];
    size_t ring_head, ring_n;
    int64_t last_user;           /* cache: logs are often grouped by user */
    char last_key[32];           /* its key (when short), compared without touching the dictionary */
    size_t last_len;
    uint64_t last_head;          /* its first 8 bytes, as in key_slot (the whole key when short) */
    int64_t last_type;
    data_report rep;
} ev_loader;

/* Whether p holds only ASCII bytes 1..127 (head = load_head(p, len)),
 * eight bytes at a time: a word has a byte >= 0x80 or a zero byte iff
 * (w | ((w - 0x01..) & ~w)) has a high bit set (the zero-byte test is
 * exact as a whole, and a borrow only moves toward later bytes, so the
 * zero padding after a short key is masked off by keep). */
static inline bool ascii_no_nul(const char *p, size_t len, uint64_t head) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (len <= 8) {
        uint64_t keep = highs >> (8 * (8 - len)); /* len >= 1 */
        return !((head | ((head - ones) & ~head)) & keep);
    }
#else
    (void)head;
#endif
    uint64_t acc = 0, w;
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        acc |= w | ((w - ones) & ~w);
    }
    for (; len; p++, len--) acc |= (unsigned char)*p - 1u >= 0x7fu ? highs : 0;
    return !(acc & highs);
}

/* Checks and converts a text field (key or event name) to UTF-8 without
 * NULs.  *out / *out_len point into the field or into conv. */
static int text_field(ev_loader *L, const data_field *f, size_t role, core_buf *conv, const char **out,
                      size_t *out_len) {
    const char *p = f->p;
    size_t len = f->len;
    char exp[128], found[96];
    if (memchr(p, '\0', len)) {
        snprintf(exp, sizeof exp, "text in column %s", L->cols.label[role]);
        return data_field_error(&L->rd, f, exp, "a NUL byte");
    }
    if (L->latin1) {
        conv->len = 0;
        int rc = data_latin1_to_utf8(conv, p, len);
        if (rc) return rc;
        p = conv->data;
        len = conv->len;
    } else {
        size_t bad = data_utf8_check(p, len);
        if (bad < len) {
            snprintf(exp, sizeof exp, "UTF-8 text in column %s", L->cols.label[role]);
            snprintf(found, sizeof found, "byte 0x%02x at byte %zu of the field (option encoding=latin1?)",
                     (unsigned char)p[bad], bad + 1);
            return data_field_error(&L->rd, f, exp, found);
        }
        size_t bom = data_bom_find(p, len);
        if (bom < len) {
            snprintf(exp, sizeof exp, "a %s without a byte order mark in column %s",
                     role == R_EVENT ? "name" : "key", L->cols.label[role]);
            snprintf(found, sizeof found, "U+FEFF at byte %zu of the field (files concatenated with their BOMs?)",
                     bom + 1);
            return data_field_error(&L->rd, f, exp, found);
        }
    }
    *out = p;
    *out_len = len;
    return AISLE_OK;
}

/* A queued key: in its head when it fits (head holds the bytes in memory
 * order), else in the copy. */
static inline const char *pend_key(const char *copy, const uint64_t *head, uint32_t len) {
    return len <= 8 ? (const char *)head : copy;
}

/* Resolves a queued row's keys and appends its event. */
static int commit_row(ev_loader *L, pend_row *p, const char *ukey, const char *ikey) {
    aisle_dataset *ds = L->ds;
    int rc;
    if (L->last_user >= 0 && !(p->ulen == L->last_len && p->uhead == L->last_head &&
                               (p->ulen <= 8 || memcmp(L->last_key, ukey, p->ulen) == 0)))
        L->last_user = -1;
    if (L->last_user >= 0) {
        p->ev.user = (uint32_t)L->last_user;
    } else {
        if ((rc = cache_intern_h(&L->ucache, &ds->users, ukey, p->ulen, p->uh, p->uhead, &p->ev.user))) return rc;
        if (p->ulen <= sizeof L->last_key) { /* longer keys are not remembered */
            L->last_user = p->ev.user;
            if (p->ulen > 8) memcpy(L->last_key, ukey, p->ulen); /* shorter ones are last_head */
            L->last_len = p->ulen;
            L->last_head = p->uhead;
        }
    }
    if ((rc = cache_intern_h(&L->icache, &ds->items, ikey, p->ilen, p->ih, p->ihead, &p->ev.item))) return rc;
    if (ds->n_events == ds->events_cap &&
        (rc = core_grow((void **)&ds->events, &ds->events_cap, ds->n_events + 1, sizeof *ds->events)))
        return rc;
    ds->events[ds->n_events++] = p->ev;
    return AISLE_OK;
}

static int flush_rows(ev_loader *L) {
    while (L->ring_n) {
        pend_row *q = &L->ring[L->ring_head];
        int rc = commit_row(L, q, pend_key(q->ukey, &q->uhead, q->ulen), pend_key(q->ikey, &q->ihead, q->ilen));
        if (rc) return rc;
        L->ring_head = (L->ring_head + 1) % LOAD_AHEAD;
        L->ring_n--;
    }
    return AISLE_OK;
}

/* One record: AISLE_OK (loaded), 1 (filtered by negative=skip), an
 * AISLE_EFORMAT row error, or a fatal error. */
static int load_row(ev_loader *L) {
    data_reader *r = &L->rd;
    data_columns *c = &L->cols;
    char exp[160], found[96];
    if (r->nf < L->need_fields) {
        size_t role = SIZE_MAX; /* the first missing column */
        for (size_t k = 0; k < R_COUNT; k++)
            if (c->field[k] != SIZE_MAX && c->field[k] >= r->nf && (role == SIZE_MAX || c->field[k] < c->field[role]))
                role = k;
        snprintf(exp, sizeof exp, "column %s (field %zu)", c->label[role], c->field[role] + 1);
        snprintf(found, sizeof found, "the end of the line after %zu field%s", r->nf, r->nf == 1 ? "" : "s");
        data_field end = r->fields[r->nf - 1];
        end.col = r->rec_end_col;
        return data_field_error(r, &end, exp, found);
    }
    double value = 1.0;
    int64_t time = 0;
    if (c->field[R_VALUE] != SIZE_MAX) {
        const data_field *f = &r->fields[c->field[R_VALUE]];
        if (data_parse_number(f->p, f->len, &value) != 0 || fabs(value) > 3.4e38) {
            snprintf(exp, sizeof exp, "a number in column %s", c->label[R_VALUE]);
            if (f->len) data_quote(f->p, f->len, found, sizeof found);
            else snprintf(found, sizeof found, "an empty field");
            return data_field_error(r, f, exp, found);
        }
        if (value < 0) {
            if (L->negative == NEG_SKIP) return 1;
            if (L->negative == NEG_KEEP) value = -value;
        }
    }
    if (c->field[R_TIME] != SIZE_MAX) {
        const data_field *f = &r->fields[c->field[R_TIME]];
        if (data_parse_time(f->p, f->len, L->time_format, &time) != 0) {
            if (L->time_format[0])
                snprintf(exp, sizeof exp, "a time in format '%s' (option time_format) in column %s", L->time_format,
                         c->label[R_TIME]);
            else
                snprintf(exp, sizeof exp, "a time (epoch seconds or ISO 8601 like 2010-12-01 08:26:00) in column %s",
                         c->label[R_TIME]);
            if (f->len) data_quote(f->p, f->len, found, sizeof found);
            else snprintf(found, sizeof found, "an empty field");
            return data_field_error(r, f, exp, found);
        }
    }
    const char *key[2];
    size_t klen[2];
    uint64_t head[2]; /* load_head of each key */
    const uintptr_t data_lo = (uintptr_t)r->data;
    for (int k = 0; k < 2; k++) {
        const data_field *f = &r->fields[c->field[k]];
        if (!f->len) {
            snprintf(exp, sizeof exp, "a%s %s key in column %s", k ? "n" : "", event_roles[k], c->label[k]);
            return data_field_error(r, f, exp, "an empty field");
        }
        /* a field lies in the block (readable to its end) or, unescaped, in the scratch buffer */
        const char *lim = (uintptr_t)f->p - data_lo < r->len ? r->data + r->len : f->p + f->len;
        head[k] = load_head_in(f->p, f->len, lim);
        if (ascii_no_nul(f->p, f->len, head[k])) { /* the usual key: nothing to check or convert (latin-1 too) */
            key[k] = f->p;
            klen[k] = f->len;
            continue;
        }
        int rc = text_field(L, f, (size_t)k, &L->conv[k], &key[k], &klen[k]);
        if (rc) return rc;
        if (key[k] != f->p) head[k] = load_head(key[k], klen[k]); /* converted */
    }
    const char *ename = NULL;
    size_t elen = 0;
    if (c->field[R_EVENT] != SIZE_MAX && r->fields[c->field[R_EVENT]].len) {
        int rc = text_field(L, &r->fields[c->field[R_EVENT]], R_EVENT, &L->conv[2], &ename, &elen);
        if (rc) return rc;
    }
    /* the row is good: intern (only allocation failures or the key limit can fail now) */
    aisle_dataset *ds = L->ds;
    data_event ev = {0, 0, L->default_type, (float)value, time};
    int rc;
    if (ename) {
        const char *lt = L->last_type >= 0 ? keys_at(&ds->event_names, (uint32_t)L->last_type) : NULL;
        if (lt && strncmp(lt, ename, elen) == 0 && lt[elen] == '\0') {
            ev.type = (uint32_t)L->last_type;
        } else {
            core_buf *b = &L->conv[2];
            if (ename != b->data) { /* NUL-terminate a copy */
                b->len = 0;
                if ((rc = buf_append(b, ename, elen))) return rc;
            }
            b->data[b->len] = '\0';
            if ((rc = data_event_type(ds, b->data, &ev.type))) return rc;
            L->last_type = ev.type;
        }
    }
    if (klen[0] > PEND_KEY || klen[1] > PEND_KEY) { /* long keys skip the queue */
        if ((rc = flush_rows(L))) return rc;
        pend_row p;
        p.ev = ev;
        p.uhead = head[0];
        p.ihead = head[1];
        p.uh = fast_hash(key[0], klen[0], head[0]);
        p.ih = fast_hash(key[1], klen[1], head[1]);
        p.ulen = (uint32_t)klen[0];
        p.ilen = (uint32_t)klen[1];
        return commit_row(L, &p, key[0], key[1]);
    }
    if (L->ring_n == LOAD_AHEAD) {
        pend_row *q = &L->ring[L->ring_head];
        if ((rc = commit_row(L, q, pend_key(q->ukey, &q->uhead, q->ulen), pend_key(q->ikey, &q->ihead, q->ilen))))
            return rc;
        L->ring_head = (L->ring_head + 1) % LOAD_AHEAD;
        L->ring_n--;
    }
    pend_row *p = &L->ring[(L->ring_head + L->ring_n) % LOAD_AHEAD];
    p->ev = ev;
    p->ulen = (uint32_t)klen[0];
    p->ilen = (uint32_t)klen[1];
    p->uhead = head[0];
    p->ihead = head[1];
    p->uh = fast_hash(key[0], klen[0], head[0]);
    p->ih = fast_hash(key[1], klen[1], head[1]);
    if (klen[0] > 8) memcpy(p->ukey, key[0], klen[0]); /* shorter keys are their head's bytes */
    if (klen[1] > 8) memcpy(p->ikey, key[1], klen[1]);
    cache_prefetch(&L->ucache, p->uh, klen[0]);
    cache_prefetch(&L->icache, p->ih, klen[1]);
    L->ring_n++;
    return AISLE_OK;
}

static int run_load(ev_loader *L, const aisle_config *cfg) {
    data_reader *r = &L->rd;
    int rc = data_reader_next(r);
    while (rc == AISLE_EFORMAT && L->lenient && !r->fatal) { /* a malformed first record */
        L->rep.read++;
        L->rep.skipped++;
        if ((rc = data_report_keep_message(&L->rep))) return rc;
        rc = data_reader_next(r);
    }
    if (rc == 0 && L->rep.read) return AISLE_OK; /* nothing but bad records */
    if (rc == 0) return core_error(AISLE_EFORMAT, "%s:1:1: expected a header or data row, found an empty file", r->name);
    if (rc < 0) return rc;
    bool header;
    rc = data_columns_resolve(&L->cols, r, config_string(cfg, data_options, "header"), event_aliases, 4, R_VALUE,
                              R_TIME, L->time_format, &header);
    if (rc) return rc;
    if (L->cols.field[R_USER] == SIZE_MAX || L->cols.field[R_ITEM] == SIZE_MAX)
        return core_error(AISLE_EINVAL, "%s: option columns must map the %s role (e.g. user=1,item=2)", r->name,
                          L->cols.field[R_USER] == SIZE_MAX ? "user" : "item");
    L->need_fields = 0;
    for (size_t k = 0; k < R_COUNT; k++)
        if (L->cols.field[k] != SIZE_MAX) L->need_fields = CORE_MAX(L->need_fields, L->cols.field[k] + 1);
    /* the first record is in r->fields unless it was the header */
    for (rc = header ? data_reader_next(r) : 1; rc != 0; rc = data_reader_next(r)) {
        L->rep.read++;
        int row = rc == 1 ? load_row(L) : rc;
        if (row == AISLE_OK) {
            L->rep.loaded++;
        } else if (row == 1) {
            L->rep.filtered++;
        } else if (row == AISLE_EFORMAT && L->lenient && !r->fatal) {
            L->rep.skipped++;
            int mrc = data_report_keep_message(&L->rep);
            if (mrc) return mrc;
        } else {
            return row;
        }
    }
    return flush_rows(L);
}

/* Sizes the event array for a plain file from its size and the bytes per
 * line of the first block, so it is not regrown (and refaulted) while
 * loading, and on Linux asks for transparent huge pages on it: faulting
 * in 4 KiB pages of a 100 MB array was about a fifth of the load's CPU
 * time in bench_load (system time in a VM). */
static int presize_events(aisle_dataset *ds, const data_reader *r) {
    struct stat st;
    if (r->fd < 0 || r->zs || fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return AISLE_OK;
    size_t sample = CORE_MIN(r->len, (size_t)1 << 16), lines = 0;
    for (const char *p = r->data, *e = r->data + sample; (p = memchr(p, '\n', (size_t)(e - p))); p++) lines++;
    if (lines < 16) return AISLE_OK;
    size_t rows = (size_t)((double)st.st_size / ((double)sample / (double)lines) * 1.02) + 1024;
    size_t want = ds->n_events + rows;
    if (want <= ds->events_cap) return AISLE_OK;
    size_t cap = ds->events_cap;
    int rc = core_grow((void **)&ds->events, &cap, want, sizeof *ds->events);
    if (rc) return rc;
    ds->events_cap = cap;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)1 << 21;
    uintptr_t lo = ((uintptr_t)(ds->events + ds->n_events) + huge - 1) & ~(huge - 1);
    uintptr_t hi = (uintptr_t)(ds->events + ds->events_cap) & ~(huge - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    return AISLE_OK;
}

typedef struct load_src {
    const char *path;
    const void *data;
    size_t len;
    const char *name;
} load_src;

static int load_events(aisle_dataset *ds, const load_src *src, const aisle_config *cfg) {
    ev_loader L;
    memset(&L, 0, sizeof L);
    L.ds = ds;
    L.last_user = L.last_type = -1;
    L.time_format = config_string(cfg, data_options, "time_format");
    const char *neg = config_string(cfg, data_options, "negative");
    L.negative = strcmp(neg, "skip") == 0 ? NEG_SKIP : strcmp(neg, "keep") == 0 ? NEG_KEEP : NEG_SUBTRACT;
    L.lenient = config_bool(cfg, data_options, "lenient");
    L.latin1 = strcmp(config_string(cfg, data_options, "encoding"), "latin1") == 0;
    for (int i = 0; i < 3; i++) buf_init(&L.conv[i]);
    int rc = data_columns_parse(&L.cols, event_roles, R_COUNT, config_string(cfg, data_options, "columns"), "columns");
    if (rc) return rc;
    /* reject unknown time conversions up front */
    for (const char *f = L.time_format; *f; f++) {
        if (*f != '%') continue;
        if (!*++f) /* strchr would find the terminator: a lone '%' at the end */
            return core_error(AISLE_EINVAL, "option time_format '%s': a '%%' at the end without a conversion letter",
                              L.time_format);
        if (!strchr("YymdeHIMSpbBhjszTFD%", *f))
            return core_error(AISLE_EINVAL, "option time_format '%s': unknown conversion '%%%c'", L.time_format, *f);
    }
    const char *ev_name = config_string(cfg, data_options, "event");
    if (!ev_name[0]) ev_name = "view";

    size_t nu = ds->users.n, ni = ds->items.n, nn = ds->event_names.n, ne = ds->n_events;
    bool explicit_before = ds->has_explicit;
    data_reader_opts ro;
    data_reader_options(cfg, &ro);
    rc = src->path ? data_reader_open_file(&L.rd, src->path, &ro)
                   : data_reader_open_buffer(&L.rd, src->data, src->len, src->name, &ro);
    if (!rc) rc = data_event_type(ds, ev_name, &L.default_type);
    if (!rc) rc = presize_events(ds, &L.rd);
    if (!rc) rc = run_load(&L, cfg);
    if (!rc) {
        for (size_t e = ne; e < ds->n_events && !ds->has_explicit; e++)
            ds->has_explicit = ds->events[e].type == DATA_EVENT_RATING;
        if (ds->n_events != ne || ds->event_names.n != nn) data_invalidate(ds);
        data_report_clear(&ds->report);
        ds->report = L.rep;
    } else {
        keys_truncate(&ds->users, nu);
        keys_truncate(&ds->items, ni);
        keys_truncate(&ds->event_names, nn);
        ds->n_events = ne;
        ds->has_explicit = explicit_before;
        data_report_clear(&L.rep);
    }
    data_reader_close(&L.rd);
    for (int i = 0; i < 3; i++) buf_free(&L.conv[i]);
    cache_free(&L.ucache);
    cache_free(&L.icache);
    return rc;
}

AISLE_API int aisle_dataset_load(aisle_dataset *ds, const char *path, const aisle_config *cfg) {
    if (!ds || !path) return core_error(AISLE_EINVAL, "aisle_dataset_load: NULL argument");
    load_src src = {path, NULL, 0, path};
    return load_events(ds, &src, cfg);
}

AISLE_API int aisle_dataset_load_buffer(aisle_dataset *ds, const void *data, size_t len, const char *name,
                                        const aisle_config *cfg) {
    if (!ds || (!data && len)) return core_error(AISLE_EINVAL, "aisle_dataset_load_buffer: NULL argument");
    load_src src = {NULL, data, len, name && name[0] ? name : "<buffer>"};
    return load_events(ds, &src, cfg);
}
