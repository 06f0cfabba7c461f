/* log.c - search logs for learning to rank (docs/SEARCH.md "Learning to
 * rank"): a delimited text file with a header naming the columns
 *     query_id, query, user (optional), item, event
 * one row per (search, product) event, event one of shown, click, cart,
 * purchase (grades 0..3).  Rows of one query_id form a group: its query
 * and user must repeat on every row.  A product's grade in a group is the
 * highest of its events there.  All or nothing: the first bad row fails
 * the load with file:line:column. */
#include "search.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { L_QID, L_QUERY, L_USER, L_ITEM, L_EVENT, L_COUNT };
static const char *const role_name[L_COUNT] = {"query_id", "query", "user", "item", "event"};
static const char *const qid_alias[] = {"query_id", "qid", "search_id", "session_id", "session", NULL};
static const char *const query_alias[] = {"query", "query_text", "q", NULL};
static const char *const user_alias[] = {"user", "user_id", "customer_id", "customerid", NULL};
static const char *const item_alias[] = {"item", "item_id", "product_id", "stockcode", NULL};
static const char *const event_alias[] = {"event", "event_type", "action", NULL};
static const char *const *const aliases[L_COUNT] = {qid_alias, query_alias, user_alias, item_alias, event_alias};
static const char *const event_names[SEARCH_LOG_GRADES] = {"shown", "click", "cart", "purchase"};

void search_log_release(aisle_search_log *log) {
    if (!log) return;
    keys_clear(&log->qids);
    keys_clear(&log->items);
    keys_clear(&log->users);
    buf_free(&log->text);
    core_free(log->query_off);
    core_free(log->user);
    core_free(log->first);
    core_free(log->ev);
    core_free(log);
}

static int field_text(const data_reader *r, const data_field *f, const char *what) {
    char exp[96];
    if (memchr(f->p, '\0', f->len) || data_utf8_check(f->p, f->len) < f->len) {
        snprintf(exp, sizeof exp, "UTF-8 text in column %s", what);
        return data_field_error(r, f, exp, "invalid bytes");
    }
    return AISLE_OK;
}

static int map_header(const data_reader *r, size_t *col) {
    for (size_t k = 0; k < L_COUNT; k++) col[k] = SIZE_MAX;
    for (size_t i = 0; i < r->nf; i++) {
        const data_field *f = &r->fields[i];
        for (size_t k = 0; k < L_COUNT; k++)
            for (const char *const *a = aliases[k]; *a; a++)
                if (strlen(*a) == f->len && !strncasecmp(*a, f->p, f->len) && col[k] == SIZE_MAX) col[k] = i;
    }
    for (size_t k = 0; k < L_COUNT; k++)
        if (col[k] == SIZE_MAX && k != L_USER)
            return core_error(AISLE_EFORMAT, "%s:%zu:1: expected a header naming column %s (query_id, query, "
                              "user, item, event), found none", r->name, r->rec_line, role_name[k]);
    return AISLE_OK;
}

/* One data row into the log. */
static int add_row(aisle_search_log *log, const data_reader *r, const size_t *col, size_t *groups_cap) {
    size_t need = 0;
    for (size_t k = 0; k < L_COUNT; k++)
        if (col[k] != SIZE_MAX) need = CORE_MAX(need, col[k] + 1);
    if (r->nf < need) {
        data_field end = r->fields[r->nf - 1];
        end.col = r->rec_end_col;
        char found[64];
        snprintf(found, sizeof found, "the end of the line after %zu field%s", r->nf, r->nf == 1 ? "" : "s");
        return data_field_error(r, &end, "the log's five columns", found);
    }
    const data_field *qf = &r->fields[col[L_QID]], *tf = &r->fields[col[L_QUERY]], *itf = &r->fields[col[L_ITEM]],
                     *ef = &r->fields[col[L_EVENT]];
    const data_field *uf = col[L_USER] != SIZE_MAX ? &r->fields[col[L_USER]] : NULL;
    int rc = field_text(r, qf, "query_id");
    if (!rc) rc = field_text(r, tf, "query");
    if (!rc) rc = field_text(r, itf, "item");
    if (!rc && uf) rc = field_text(r, uf, "user");
    if (rc) return rc;
    if (!qf->len) return data_field_error(r, qf, "a query id", "an empty field");
    if (!itf->len) return data_field_error(r, itf, "a product key", "an empty field");
    int grade = -1;
    for (int g = 0; g < SEARCH_LOG_GRADES; g++)
        if (strlen(event_names[g]) == ef->len && !strncasecmp(event_names[g], ef->p, ef->len)) grade = g;
    if (grade < 0) {
        char found[96];
        data_quote(ef->p, ef->len, found, sizeof found);
        return data_field_error(r, ef, "an event (shown, click, cart or purchase)", found);
    }
    uint32_t g, item, user = SEARCH_NONE;
    bool added;
    if ((rc = keys_intern(&log->qids, qf->p, qf->len, &g, &added))) return rc;
    if (uf && uf->len && (rc = keys_intern(&log->users, uf->p, uf->len, &user, &(bool){0}))) return rc;
    if (added) {
        uint64_t off = log->text.len;
        if (g >= *groups_cap) {
            size_t c2 = *groups_cap;
            if ((rc = core_grow((void **)&log->query_off, &c2, (size_t)g + 1, sizeof *log->query_off)) ||
                (rc = core_grow((void **)&log->user, groups_cap, (size_t)g + 1, sizeof *log->user))) {
                keys_truncate(&log->qids, g);
                return rc;
            }
        }
        if ((rc = buf_append(&log->text, tf->p, tf->len)) || (rc = buf_append(&log->text, "", 1))) {
            log->text.len = off;
            keys_truncate(&log->qids, g);
            return rc;
        }
        log->query_off[g] = off;
        log->user[g] = user;
        log->n_groups = (size_t)g + 1;
    } else {
        const char *q = log->text.data + log->query_off[g];
        if (strlen(q) != tf->len || memcmp(q, tf->p, tf->len)) {
            char exp[160];
            snprintf(exp, sizeof exp, "the query of the earlier rows of its query_id ('%.100s')", q);
            return data_field_error(r, tf, exp, "another query");
        }
        if (user != log->user[g])
            return data_field_error(r, uf ? uf : tf, "the user of the earlier rows of its query_id", "another user");
    }
    if ((rc = keys_intern(&log->items, itf->p, itf->len, &item, &(bool){0}))) return rc;
    if (log->n_ev == log->ev_cap && (rc = core_grow((void **)&log->ev, &log->ev_cap, log->n_ev + 1, sizeof *log->ev)))
        return rc;
    log->ev[log->n_ev++] = (search_log_event){g, item, (uint8_t)grade};
    return AISLE_OK;
}

static int ev_cmp(const void *x, const void *y) {
    const search_log_event *a = x, *b = y;
    if (a->group != b->group) return a->group < b->group ? -1 : 1;
    if (a->item != b->item) return a->item < b->item ? -1 : 1;
    return (a->grade < b->grade) - (a->grade > b->grade); /* highest grade first */
}

/* Groups the events: sorted by (group, item), one event per product with
 * its highest grade, first[g] where group g starts. */
static int finish(aisle_search_log *log) {
    if (log->n_ev) qsort(log->ev, log->n_ev, sizeof *log->ev, ev_cmp);
    size_t n = 0;
    for (size_t i = 0; i < log->n_ev; i++)
        if (!n || log->ev[n - 1].group != log->ev[i].group || log->ev[n - 1].item != log->ev[i].item)
            log->ev[n++] = log->ev[i];
    log->n_ev = n;
    if (!(log->first = core_malloc((log->n_groups + 1) * sizeof *log->first))) return core_oom("search log groups");
    size_t e = 0;
    for (size_t g = 0; g <= log->n_groups; g++) {
        while (e < n && log->ev[e].group < g) e++;
        log->first[g] = (uint32_t)e;
    }
    return AISLE_OK;
}

static int load(aisle_search_log *log, data_reader *r) {
    size_t col[L_COUNT], groups_cap = 0;
    int rc = data_reader_next(r);
    if (rc == 0) return core_error(AISLE_EFORMAT, "%s:1:1: expected a header (query_id,query,user,item,event), "
                                   "found an empty file", r->name);
    if (rc < 0) return rc;
    if ((rc = map_header(r, col))) return rc;
    while ((rc = data_reader_next(r)) == 1) {
        if (log->n_ev >= UINT32_MAX - 1)
            return core_error(AISLE_ERANGE, "%s:%zu: more than 2^32-2 log rows", r->name, r->rec_line);
        if ((rc = add_row(log, r, col, &groups_cap))) return rc;
    }
    return rc < 0 ? rc : finish(log);
}

int search_log_read(aisle_search_log **out, const char *path, const void *data, size_t len, const char *name,
                    const aisle_config *cfg) {
    data_reader_opts o;
    data_reader_options(cfg, &o);
    aisle_search_log *log = core_calloc(1, sizeof *log);
    if (!log) return core_oom("search log");
    keys_init(&log->qids);
    keys_init(&log->items);
    keys_init(&log->users);
    buf_init(&log->text);
    data_reader r;
    int rc = path ? data_reader_open_file(&r, path, &o) : data_reader_open_buffer(&r, data, len, name, &o);
    if (rc) {
        search_log_release(log);
        return rc;
    }
    rc = load(log, &r);
    data_reader_close(&r);
    if (rc) {
        search_log_release(log);
        return rc;
    }
    *out = log;
    return AISLE_OK;
}
