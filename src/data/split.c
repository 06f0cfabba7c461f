/* split.c - train/test splits of a behaviour dataset.
 *
 * Every split assigns each raw event of the source to exactly one part, so
 * the parts are disjoint and their union is the source.  Both parts are
 * created with data_new_like(): they carry the source's full user, item and
 * event-name dictionaries, so an index means the same key in source, train
 * and test (a user may therefore have no events in one part).
 *
 * Kinds (exact rules in docs/DATA.md):
 *  - random: per user, round(test_fraction * pairs) of the user's distinct
 *    items (at most pairs-1) go to test with all their events;
 *  - kfold:  per user, the user's items are shuffled and dealt round-robin
 *    into `folds` folds from a random offset; fold `fold` is the test part;
 *  - time:   one global cutoff T; events with time >= T are test, so every
 *    train event precedes every test event;
 *  - last:   each user's last leave_last events (time order, ties by
 *    arrival) are test, for users with more than leave_last events.
 * Randomness comes from rng_seed_stream(seed, user), so a seed gives the
 * same split on every platform and regardless of thread count. */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SPLIT_RANDOM, SPLIT_TIME, SPLIT_LAST, SPLIT_KFOLD };

typedef struct split_params {
    int kind;
    double fraction;
    double days; /* time: > 0 puts the last `days` days (before the newest event) in test */
    int64_t leave_last, folds, fold;
    uint64_t seed;
} split_params;

/* Position of item in user u's (sorted) row of the by-user view. */
static size_t pair_of(const data_csr *m, uint32_t u, uint32_t item) {
    size_t lo = m->indptr[u], hi = m->indptr[u + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->indices[mid] < item) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* random and kfold: choose test pairs per user, then mark their events. */
static int assign_pairs(const aisle_dataset *ds, const split_params *p, uint8_t *is_test) {
    const data_csr *m;
    int rc = data_by_user(ds, &m);
    if (rc) return rc;
    size_t maxrow = 1;
    for (uint32_t u = 0; u < m->rows; u++) maxrow = CORE_MAX(maxrow, m->indptr[u + 1] - m->indptr[u]);
    uint8_t *pair_test = core_calloc(m->nnz ? m->nnz : 1, 1);
    uint32_t *perm = core_malloc(maxrow * sizeof *perm);
    if (!pair_test || !perm) {
        core_free(pair_test);
        core_free(perm);
        return core_oom("dataset split");
    }
    for (uint32_t u = 0; u < m->rows; u++) {
        size_t b = m->indptr[u], d = m->indptr[u + 1] - b;
        if (!d) continue;
        core_rng r;
        rng_seed_stream(&r, p->seed, u);
        for (size_t j = 0; j < d; j++) perm[j] = (uint32_t)j;
        rng_shuffle_u32(&r, perm, d);
        if (p->kind == SPLIT_RANDOM) {
            size_t k = (size_t)floor(p->fraction * (double)d + 0.5);
            if (k > d - 1) k = d - 1; /* keep at least one train pair per user */
            for (size_t j = 0; j < k; j++) pair_test[b + perm[j]] = 1;
        } else {
            uint64_t off = rng_below(&r, (uint64_t)p->folds);
            for (size_t j = 0; j < d; j++)
                if ((int64_t)((j + off) % (uint64_t)p->folds) == p->fold) pair_test[b + perm[j]] = 1;
        }
    }
    for (size_t e = 0; e < ds->n_events; e++)
        is_test[e] = pair_test[pair_of(m, ds->events[e].user, ds->events[e].item)];
    core_free(pair_test);
    core_free(perm);
    return AISLE_OK;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int assign_time(const aisle_dataset *ds, const split_params *p, uint8_t *is_test) {
    size_t n = ds->n_events;
    bool any_time = false;
    for (size_t e = 0; e < n && !any_time; e++) any_time = ds->events[e].time != 0;
    if (n && !any_time)
        return core_error(AISLE_EINVAL, "split=time: no event has a timestamp (all are 0); use split=random");
    if (p->days > 0) {
        /* the newest event's time minus the span: "the last month" */
        int64_t newest = INT64_MIN;
        for (size_t e = 0; e < n; e++) newest = CORE_MAX(newest, ds->events[e].time);
        int64_t cutoff = newest - (int64_t)llround(p->days * 86400.0);
        for (size_t e = 0; e < n; e++) is_test[e] = ds->events[e].time >= cutoff;
        return AISLE_OK;
    }
    size_t k = n - CORE_MIN(n, (size_t)floor(p->fraction * (double)n + 0.5)); /* train size target */
    if (k >= n) return AISLE_OK;                                                /* nothing to test */
    int64_t *t = core_malloc(n * sizeof *t);
    if (!t) return core_oom("dataset split");
    for (size_t e = 0; e < n; e++) t[e] = ds->events[e].time;
    qsort(t, n, sizeof *t, cmp_i64);
    int64_t cutoff = t[k];
    core_free(t);
    for (size_t e = 0; e < n; e++) is_test[e] = ds->events[e].time >= cutoff;
    return AISLE_OK;
}

typedef struct ev_order {
    int64_t time;
    uint32_t arrival;
} ev_order;

static int cmp_order(const void *pa, const void *pb) {
    const ev_order *a = pa, *b = pb;
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

static int assign_last(const aisle_dataset *ds, const split_params *p, uint8_t *is_test) {
    size_t n = ds->n_events, nu = ds->users.n;
    if (n > UINT32_MAX) return core_error(AISLE_ERANGE, "split=last: too many events (limit 2^32)");
    size_t *start = core_calloc(nu + 1, sizeof *start);
    ev_order *o = core_malloc((n ? n : 1) * sizeof *o);
    if (!start || !o) {
        core_free(start);
        core_free(o);
        return core_oom("dataset split");
    }
    /* counting sort by user keeps arrival order within each user */
    for (size_t e = 0; e < n; e++) start[ds->events[e].user + 1]++;
    for (size_t u = 0; u < nu; u++) start[u + 1] += start[u];
    for (size_t e = 0; e < n; e++) {
        size_t q = start[ds->events[e].user]++;
        o[q].time = ds->events[e].time;
        o[q].arrival = (uint32_t)e;
    }
    for (size_t u = nu; u > 0; u--) start[u] = start[u - 1];
    start[0] = 0;
    for (size_t u = 0; u < nu; u++) {
        size_t b = start[u], len = start[u + 1] - b;
        if (len <= (size_t)p->leave_last) continue;
        qsort(o + b, len, sizeof *o, cmp_order);
        for (size_t j = len - (size_t)p->leave_last; j < len; j++) is_test[o[b + j].arrival] = 1;
    }
    core_free(start);
    core_free(o);
    return AISLE_OK;
}

static int fill_part(aisle_dataset *part, const aisle_dataset *src, const uint8_t *is_test, uint8_t want) {
    size_t n = 0;
    for (size_t e = 0; e < src->n_events; e++) n += is_test[e] == want;
    if (n) {
        int rc = core_grow((void **)&part->events, &part->events_cap, n, sizeof *part->events);
        if (rc) return rc;
    }
    for (size_t e = 0; e < src->n_events; e++) {
        if (is_test[e] != want) continue;
        part->events[part->n_events++] = src->events[e];
        if (src->events[e].type == DATA_EVENT_RATING) part->has_explicit = true;
    }
    return AISLE_OK;
}

static int split_run(const aisle_dataset *ds, const split_params *p, aisle_dataset **train, aisle_dataset **test) {
    if (p->kind == SPLIT_KFOLD && p->fold >= p->folds)
        return core_error(AISLE_ERANGE, "split=kfold: fold %lld must be below folds=%lld", (long long)p->fold,
                          (long long)p->folds);
    uint8_t *is_test = core_calloc(ds->n_events ? ds->n_events : 1, 1);
    if (!is_test) return core_oom("dataset split");
    int rc;
    switch (p->kind) {
    case SPLIT_TIME: rc = assign_time(ds, p, is_test); break;
    case SPLIT_LAST: rc = assign_last(ds, p, is_test); break;
    default: rc = assign_pairs(ds, p, is_test); break;
    }
    aisle_dataset *tr = NULL, *te = NULL;
    if (!rc) rc = data_new_like(ds, &tr);
    if (!rc) rc = data_new_like(ds, &te);
    if (!rc) rc = fill_part(tr, ds, is_test, 0);
    if (!rc) rc = fill_part(te, ds, is_test, 1);
    core_free(is_test);
    if (rc) {
        aisle_dataset_free(tr);
        aisle_dataset_free(te);
        return rc;
    }
    *train = tr;
    *test = te;
    return AISLE_OK;
}

AISLE_API int aisle_dataset_split(const aisle_dataset *ds, const aisle_config *cfg, aisle_dataset **train,
                                  aisle_dataset **test) {
    if (!ds || !train || !test) return core_error(AISLE_EINVAL, "aisle_dataset_split: NULL argument");
    split_params p = {0};
    const char *kind = config_string(cfg, data_options, "split");
    p.kind = strcmp(kind, "time") == 0   ? SPLIT_TIME
             : strcmp(kind, "last") == 0 ? SPLIT_LAST
             : strcmp(kind, "kfold") == 0 ? SPLIT_KFOLD
                                          : SPLIT_RANDOM;
    p.fraction = config_float(cfg, data_options, "test_fraction");
    p.leave_last = config_int(cfg, data_options, "leave_last");
    p.folds = config_int(cfg, data_options, "folds");
    p.fold = config_int(cfg, data_options, "fold");
    p.seed = (uint64_t)config_int(cfg, data_options, "seed");
    return split_run(ds, &p, train, test);
}

/* Parses one ':'-separated number of a spec; end must be ':' or NUL. */
static int spec_number(const char *spec, const char **s, double lo, double hi, bool integer, const char *what,
                       double *out) {
    char *end;
    errno = 0;
    double v = strtod(*s, &end);
    if (end == *s || (*end && *end != ':') || errno || !isfinite(v) || (integer && v != floor(v)))
        return core_error(AISLE_EINVAL, "split spec '%s': expected %s %s, found '%.*s'", spec,
                          integer ? "an integer" : "a number", what, (int)strcspn(*s, ":"), *s);
    if (v < lo || v > hi)
        return core_error(AISLE_ERANGE, "split spec '%s': %s %g outside [%g, %g]", spec, what, v, lo, hi);
    *out = v;
    *s = *end ? end + 1 : end;
    return AISLE_OK;
}

AISLE_API int aisle_dataset_split_spec(const aisle_dataset *ds, const char *spec, uint64_t seed,
                                       aisle_dataset **train, aisle_dataset **test) {
    if (!ds || !spec || !train || !test) return core_error(AISLE_EINVAL, "aisle_dataset_split_spec: NULL argument");
    split_params p = {SPLIT_RANDOM, 0.2, 0, 1, 5, 0, seed};
    size_t klen = strcspn(spec, ":");
    const char *s = spec + klen;
    if (*s) s++;
    bool more = *s != '\0';
    int rc = AISLE_OK;
    double v;
    if (klen == 6 && strncmp(spec, "random", 6) == 0) {
        p.kind = SPLIT_RANDOM;
        if (more) rc = spec_number(spec, &s, 0, 1, false, "test fraction", &p.fraction);
    } else if (klen == 4 && strncmp(spec, "time", 4) == 0) {
        p.kind = SPLIT_TIME;
        size_t len = strcspn(s, ":");
        if (more && len > 1 && s[len - 1] == 'd') {
            /* time:30d = the last 30 days */
            char num[64];
            if (len >= sizeof num)
                return core_error(AISLE_EINVAL, "split spec '%s': day count '%.*s' is too long", spec, (int)len, s);
            memcpy(num, s, len - 1);
            num[len - 1] = '\0';
            const char *ns = num;
            rc = spec_number(spec, &ns, 1.0 / 86400, 1e6, false, "number of days", &p.days);
            s += len;
        } else if (more) {
            rc = spec_number(spec, &s, 0, 1, false, "test fraction", &p.fraction);
        }
    } else if (klen == 4 && strncmp(spec, "last", 4) == 0) {
        p.kind = SPLIT_LAST;
        if (more && !(rc = spec_number(spec, &s, 1, 1e6, true, "event count", &v))) p.leave_last = (int64_t)v;
    } else if (klen == 5 && strncmp(spec, "kfold", 5) == 0) {
        p.kind = SPLIT_KFOLD;
        if (more && !(rc = spec_number(spec, &s, 2, 1000, true, "fold count", &v))) p.folds = (int64_t)v;
        if (!rc && *s && !(rc = spec_number(spec, &s, 0, 999, true, "fold index", &v))) p.fold = (int64_t)v;
    } else {
        return core_error(AISLE_EINVAL,
                          "split spec '%s': expected random[:fraction], time[:fraction|DAYSd], last[:n] or "
                          "kfold[:folds[:fold]], found '%.*s'",
                          spec, (int)klen, spec);
    }
    if (rc) return rc;
    if (*s) return core_error(AISLE_EINVAL, "split spec '%s': expected end of spec, found '%s'", spec, s);
    return split_run(ds, &p, train, test);
}
