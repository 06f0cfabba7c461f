/* series.c - demand series from purchase events: one value per product and
 * period (day, or week starting on Monday, UTC), plus the calendar. */
#include "forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 1970-01-01 was a Thursday: Monday-based weeks start 3 days earlier. */
int64_t fc_period_of_day(int period, int64_t day) {
    if (period == FC_PERIOD_DAY) return day;
    int64_t d = day + 3;
    return d >= 0 ? d / 7 : -((-d + 6) / 7);
}

int64_t fc_period_first_day(int period, int64_t p) { return period == FC_PERIOD_DAY ? p : p * 7 - 3; }

int fc_day_of_week(int64_t day) {
    int64_t r = (day + 3) % 7;
    return (int)(r < 0 ? r + 7 : r);
}

/* civil_from_days (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"). */
void fc_civil(int64_t day, int *y, int *m, int *d) {
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ISO 8601 week number: the week of the Thursday of the day's week. */
int fc_week_of_year(int64_t day) {
    int64_t thursday = day - fc_day_of_week(day) + 3;
    int y, m, d;
    fc_civil(thursday, &y, &m, &d);
    return (int)((thursday - days_from_civil(y, 1, 1)) / 7 + 1);
}

static int64_t floor_day(int64_t t) { return t >= 0 ? t / 86400 : -((-t + 86399) / 86400); }

static int parse_day(const char *p, size_t len, int64_t *day) {
    int64_t t;
    if (len != 10 || data_parse_time(p, len, "%Y-%m-%d", &t) != 0) return -1;
    *day = floor_day(t);
    return 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int fc_parse_holidays(const char *text, int64_t **days, size_t *n) {
    *days = NULL;
    *n = 0;
    if (!text || !text[0]) return AISLE_OK;
    size_t cap = 1;
    for (const char *p = text; *p; p++) cap += (*p == ',' || *p == ';' || *p == ' ');
    int64_t *v = core_calloc(cap, sizeof *v);
    if (!v) return core_oom("holidays");
    size_t k = 0;
    const char *p = text;
    while (*p) {
        while (*p == ',' || *p == ';' || *p == ' ') p++;
        if (!*p) break;
        size_t len = strcspn(p, ",; ");
        if (parse_day(p, len, &v[k]) != 0) {
            char q[64];
            data_quote(p, len, q, sizeof q);
            core_free(v);
            return core_error(AISLE_EINVAL, "option 'holidays': expected dates YYYY-MM-DD, found %s", q);
        }
        k++;
        p += len;
    }
    qsort(v, k, sizeof *v, cmp_i64);
    *days = v;
    *n = k;
    return AISLE_OK;
}

int fc_is_holiday(const fc_series *s, int64_t period) {
    int64_t a = fc_period_first_day(s->period, period), b = fc_period_first_day(s->period, period + 1);
    size_t lo = 0, hi = s->n_holidays; /* first holiday >= a */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->holidays[mid] < a) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->n_holidays && s->holidays[lo] < b;
}

void fc_series_free(fc_series *s) {
    if (!s) return;
    core_free(s->off);
    core_free(s->len);
    core_free(s->values);
    core_free(s->price);
    core_free(s->category);
    core_free(s->holidays);
    keys_clear(&s->items);
    keys_clear(&s->categories);
    memset(s, 0, sizeof *s);
}

/* Allocates off/len/values/price for n series of the given lengths. */
static int alloc_series(fc_series *s, uint32_t n, const uint32_t *len) {
    s->n = n;
    s->off = core_calloc((size_t)n + 1, sizeof *s->off);
    s->len = core_calloc(n ? n : 1, sizeof *s->len);
    s->price = core_calloc(n ? n : 1, sizeof *s->price);
    if (!s->off || !s->len || !s->price) return core_oom("forecast series");
    for (uint32_t i = 0; i < n; i++) {
        s->len[i] = len[i];
        s->off[i + 1] = s->off[i] + len[i];
        s->price[i] = NAN;
    }
    s->values = core_calloc(s->off[n] ? s->off[n] : 1, sizeof *s->values);
    return s->values ? AISLE_OK : core_oom("forecast series values");
}

int fc_series_build(const aisle_dataset *ds, const aisle_catalog *cat, const aisle_config *cfg, fc_series *out) {
    fc_series s;
    memset(&s, 0, sizeof s);
    keys_init(&s.items);
    keys_init(&s.categories);
    s.period = strcmp(config_string(cfg, forecast_options, "period"), "day") == 0 ? FC_PERIOD_DAY : FC_PERIOD_WEEK;
    uint32_t min_sales = (uint32_t)config_int(cfg, forecast_options, "min_sale_periods");
    int rc = fc_parse_holidays(config_string(cfg, forecast_options, "holidays"), &s.holidays, &s.n_holidays);
    if (rc) return rc;

    /* purchases when the data names any, else every event (a file of sales) */
    bool only_purchases = false;
    for (size_t i = 0; i < ds->n_events && !only_purchases; i++)
        only_purchases = ds->events[i].type == DATA_EVENT_PURCHASE;
    int64_t max_day = INT64_MIN;
    size_t no_time = 0, used = 0;
    for (size_t i = 0; i < ds->n_events; i++) {
        const data_event *e = &ds->events[i];
        if (only_purchases && e->type != DATA_EVENT_PURCHASE) continue;
        if (e->time == 0) no_time++;
        used++;
        int64_t d = floor_day(e->time);
        if (d > max_day) max_day = d;
    }
    if (!used) {
        fc_series_free(&s);
        return core_error(AISLE_EINVAL, "forecast: the dataset has no events");
    }
    if (no_time) {
        fc_series_free(&s);
        return core_error(AISLE_EINVAL,
                          "forecast: %zu of %zu events have no time (map a time column, e.g. "
                          "columns=...,time=InvoiceDate)",
                          no_time, used);
    }
    int64_t end_day = max_day;
    const char *end_text = config_string(cfg, forecast_options, "end_date");
    if (end_text[0] && parse_day(end_text, strlen(end_text), &end_day) != 0) {
        fc_series_free(&s);
        return core_error(AISLE_EINVAL, "option 'end_date': expected a date YYYY-MM-DD, found '%s'", end_text);
    }
    s.last = fc_period_of_day(s.period, end_day);

    uint32_t ni = data_n_items(ds);
    int64_t *first = core_malloc((ni ? ni : 1) * sizeof *first);
    uint32_t *len = core_calloc(ni ? ni : 1, sizeof *len);
    uint64_t *off = core_calloc((size_t)ni + 1, sizeof *off);
    float *vals = NULL;
    uint32_t *keep = core_calloc(ni ? ni : 1, sizeof *keep);
    if (!first || !len || !off || !keep) {
        rc = core_oom("forecast series");
        goto done;
    }
    for (uint32_t i = 0; i < ni; i++) first[i] = INT64_MAX;
    for (size_t i = 0; i < ds->n_events; i++) {
        const data_event *e = &ds->events[i];
        if (only_purchases && e->type != DATA_EVENT_PURCHASE) continue;
        int64_t d = floor_day(e->time);
        if (d > end_day) {
            s.events_future++;
            continue;
        }
        int64_t p = fc_period_of_day(s.period, d);
        if (s.last - p >= UINT32_MAX - 1) {
            rc = core_error(AISLE_ERANGE, "forecast: event %zu lies more than 2^32 periods before the last one", i);
            goto done;
        }
        if (p < first[e->item]) first[e->item] = p;
        s.events_used++;
    }
    for (uint32_t i = 0; i < ni; i++) {
        len[i] = first[i] == INT64_MAX ? 0 : (uint32_t)(s.last - first[i] + 1);
        off[i + 1] = off[i] + len[i];
    }
    vals = core_calloc(off[ni] ? off[ni] : 1, sizeof *vals);
    if (!vals) {
        rc = core_oom("forecast series values");
        goto done;
    }
    for (size_t i = 0; i < ds->n_events; i++) {
        const data_event *e = &ds->events[i];
        if (only_purchases && e->type != DATA_EVENT_PURCHASE) continue;
        int64_t d = floor_day(e->time);
        if (d > end_day) continue;
        int64_t p = fc_period_of_day(s.period, d);
        vals[off[e->item] + (uint64_t)(p - first[e->item])] += e->value;
    }
    /* Returns can exceed a period's sales: demand is never negative. */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < ni; i++) {
        uint32_t sales = 0;
        for (uint64_t k = off[i]; k < off[i + 1]; k++) {
            if (vals[k] < 0) {
                vals[k] = 0;
                s.periods_clamped++;
            }
            sales += vals[k] > 0;
        }
        if (len[i] && sales >= min_sales) keep[kept++] = i;
    }
    if (!kept) {
        rc = core_error(AISLE_EINVAL, "forecast: no product has at least %u period%s with sales (option min_sale_periods)",
                        min_sales, min_sales == 1 ? "" : "s");
        goto done;
    }

    /* categories of the kept products (catalog optional) */
    uint32_t *cat_of = core_malloc((size_t)kept * sizeof *cat_of);
    if (!cat_of) {
        rc = core_oom("forecast categories");
        goto done;
    }
    s.category = cat_of;
    for (uint32_t j = 0; j < kept; j++) {
        const char *key = keys_at(&ds->items, keep[j]);
        rc = keys_intern(&s.items, key, strlen(key), &(uint32_t){0}, NULL);
        if (rc) goto done;
        cat_of[j] = UINT32_MAX;
        if (!cat) continue;
        int64_t ci = data_catalog_find(cat, key, strlen(key));
        if (ci < 0) continue;
        const char *c = data_catalog_field(cat, (size_t)ci, DATA_FIELD_CATEGORY);
        if (c[0] && (rc = keys_intern(&s.categories, c, strlen(c), &cat_of[j], NULL)) != 0) goto done;
    }
    uint32_t nc = (uint32_t)s.categories.n, n = kept + nc;
    uint32_t *slen = core_calloc(n, sizeof *slen);
    if (!slen) {
        rc = core_oom("forecast series");
        goto done;
    }
    for (uint32_t j = 0; j < kept; j++) {
        slen[j] = len[keep[j]];
        if (cat_of[j] != UINT32_MAX && slen[kept + cat_of[j]] < slen[j]) slen[kept + cat_of[j]] = slen[j];
    }
    rc = alloc_series(&s, n, slen);
    core_free(slen);
    if (rc) goto done;
    s.n_items = kept;
    for (uint32_t j = 0; j < kept; j++) {
        memcpy(s.values + s.off[j], vals + off[keep[j]], (size_t)s.len[j] * sizeof *vals);
        if (cat) {
            const char *key = keys_at(&s.items, j);
            int64_t ci = data_catalog_find(cat, key, strlen(key));
            if (ci >= 0) s.price[j] = (float)data_catalog_price(cat, (size_t)ci);
        }
        if (cat_of[j] == UINT32_MAX) continue;
        uint32_t c = kept + cat_of[j];
        float *dst = s.values + s.off[c] + (s.len[c] - s.len[j]); /* series are aligned at their ends */
        for (uint32_t k = 0; k < s.len[j]; k++) dst[k] += s.values[s.off[j] + k];
    }
done:
    core_free(first);
    core_free(len);
    core_free(off);
    core_free(vals);
    core_free(keep);
    if (rc) {
        fc_series_free(&s);
        return rc;
    }
    *out = s;
    return AISLE_OK;
}

int fc_series_truncate(const fc_series *src, uint32_t drop, fc_series *out) {
    fc_series s;
    memset(&s, 0, sizeof s);
    keys_init(&s.items);
    keys_init(&s.categories);
    s.period = src->period;
    s.last = src->last - drop;
    s.n_items = src->n_items;
    uint32_t *len = core_calloc(src->n ? src->n : 1, sizeof *len);
    int rc = len ? AISLE_OK : core_oom("forecast series");
    for (uint32_t i = 0; !rc && i < src->n; i++) len[i] = src->len[i] > drop ? src->len[i] - drop : 0;
    if (!rc) rc = alloc_series(&s, src->n, len);
    core_free(len);
    for (uint32_t i = 0; !rc && i < src->n; i++) {
        memcpy(s.values + s.off[i], src->values + src->off[i], (size_t)s.len[i] * sizeof *s.values);
        s.price[i] = src->price[i];
    }
    if (!rc) rc = keys_copy(&s.items, &src->items);
    if (!rc) rc = keys_copy(&s.categories, &src->categories);
    if (!rc && src->n_items) {
        s.category = core_malloc((size_t)src->n_items * sizeof *s.category);
        if (!s.category) rc = core_oom("forecast series");
        else memcpy(s.category, src->category, (size_t)src->n_items * sizeof *s.category);
    }
    if (!rc && src->n_holidays) {
        s.holidays = core_malloc(src->n_holidays * sizeof *s.holidays);
        if (!s.holidays) rc = core_oom("forecast series");
        else memcpy(s.holidays, src->holidays, src->n_holidays * sizeof *s.holidays);
        s.n_holidays = src->n_holidays;
    }
    if (rc) {
        fc_series_free(&s);
        return rc;
    }
    *out = s;
    return AISLE_OK;
}
