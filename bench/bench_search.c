/* bench_search.c - product search quality and speed against SQLite FTS5 and
 * Xapian, on a judged query set built from the UCI Online Retail data, and
 * speed at scale on the synthetic demo catalog.  Uses only the public API.
 *
 *   bench_search [--data FILE] [--queries N] [--scale N] [--seed N]
 *
 * The judged set (docs/SEARCH.md, "Quality"): products are the stock codes
 * with their description; N queries are word spans (1-3 words, no stop
 * words) of descriptions of products drawn by purchase count; relevant are
 * the products whose description has every query word, graded
 * 1 + log2(1 + purchases).  30% of the queries get a misspelt twin (one
 * random edit - substitution, deletion, insertion or transposition - in a
 * word of >= 5 letters, a second edit in words of >= 9) from the same seed.
 * Personal queries: a customer's later (test-month) purchase gives the
 * query (a span of its description); relevance is what that customer bought
 * in the test month, graded by count.
 *
 * Peers: SQLite FTS5 through dlopen(libsqlite3.so.0) (its bm25(), MATCH
 * with implicit AND), Xapian through bench/search_xapian.py (python3-xapian,
 * BM25 with OR); each skipped with a message when missing.  Times are one
 * thread, per query, wall clock. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* clock_gettime, mkdtemp, popen, getline, strndup, dlopen */
#endif
#include "aisle.h"

#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* CPU time of this thread: unlike wall time, not inflated by other
 * processes competing for the cores (the shared machine is often loaded). */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static long rss_kb(void) {
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void die(const char *what, int rc) {
    fprintf(stderr, "bench_search: %s: %s (%s)\n", what, aisle_strerror(rc), aisle_last_error());
    exit(1);
}
#define CHECK(x)                      \
    do {                              \
        int rc_ = (x);                \
        if (rc_) die(#x, rc_);        \
    } while (0)

static void *xmalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "bench_search: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- seeded RNG (splitmix64) ---- */
static uint64_t rng_state;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static size_t rnd_below(size_t n) { return (size_t)(rnd() % n); }

/* ---- string -> index hash map ---- */
typedef struct smap {
    char **keys;
    uint32_t *slots;
    size_t n, cap, nslots;
} smap;

static uint64_t fnv(const char *s) {
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static int64_t smap_find(const smap *m, const char *k) {
    if (!m->nslots) return -1;
    for (size_t i = fnv(k) & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1)) {
        if (!m->slots[i]) return -1;
        if (!strcmp(m->keys[m->slots[i] - 1], k)) return m->slots[i] - 1;
    }
}

static uint32_t smap_add(smap *m, const char *k) {
    int64_t f = smap_find(m, k);
    if (f >= 0) return (uint32_t)f;
    if ((m->n + 1) * 2 > m->nslots) {
        size_t ns = m->nslots ? m->nslots * 2 : 1024;
        uint32_t *sl = xmalloc(ns * sizeof *sl);
        for (size_t j = 0; j < m->n; j++) {
            size_t i = fnv(m->keys[j]) & (ns - 1);
            while (sl[i]) i = (i + 1) & (ns - 1);
            sl[i] = (uint32_t)j + 1;
        }
        free(m->slots);
        m->slots = sl;
        m->nslots = ns;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 1024;
        m->keys = realloc(m->keys, m->cap * sizeof *m->keys);
        if (!m->keys) die("realloc", AISLE_ENOMEM);
    }
    m->keys[m->n] = strdup(k);
    size_t i = fnv(k) & (m->nslots - 1);
    while (m->slots[i]) i = (i + 1) & (m->nslots - 1);
    m->slots[i] = (uint32_t)m->n + 1;
    return (uint32_t)m->n++;
}

/* ---- the Online Retail data ---- */
typedef struct event {
    uint32_t user, item;
    int64_t time;
} event;

typedef struct retail {
    smap items, users;
    char **desc;      /* per item */
    double *price;
    double *purchases; /* invoice lines with a positive quantity */
    event *ev;
    size_t n_ev, cap_ev;
} retail;

/* Splits one CSV line (RFC 4180 quotes, no embedded newlines in this file)
 * into at most max fields, in place. */
static int csv_split(char *line, char **f, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p;
            f[n++] = w;
            for (;;) {
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"' || !*p) {
                    if (*p) p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            *w = 0;
            if (*p == ',') p++;
            else break;
        } else {
            f[n++] = p;
            char *c = strchr(p, ',');
            if (!c) break;
            *c = 0;
            p = c + 1;
        }
    }
    return n;
}

static int64_t parse_time(const char *s) {
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &se) < 3) return 0;
    /* days from civil (Howard Hinnant) */
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400, doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    return days * 86400 + h * 3600 + mi * 60 + se;
}

static int load_retail(const char *path, retail *r) {
    gzFile g = gzopen(path, "rb");
    if (!g) return 0;
    memset(r, 0, sizeof *r);
    char line[4096];
    size_t cap = 0;
    gzgets(g, line, sizeof line); /* header */
    while (gzgets(g, line, sizeof line)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = 0;
        char *f[8];
        if (csv_split(line, f, 8) < 8) continue;
        const char *inv = f[0], *stock = f[1], *desc = f[2], *cust = f[6];
        double qty = atof(f[3]), price = atof(f[5]);
        if (!stock[0]) continue;
        uint32_t it = smap_add(&r->items, stock);
        if (it >= cap) {
            size_t nc = cap ? cap * 2 : 4096;
            r->desc = realloc(r->desc, nc * sizeof *r->desc);
            r->price = realloc(r->price, nc * sizeof *r->price);
            r->purchases = realloc(r->purchases, nc * sizeof *r->purchases);
            if (!r->desc || !r->price || !r->purchases) die("realloc", AISLE_ENOMEM);
            for (size_t i = cap; i < nc; i++) r->desc[i] = NULL, r->price[i] = NAN, r->purchases[i] = 0;
            cap = nc;
        }
        if (!r->desc[it] && desc[0]) r->desc[it] = strdup(desc), r->price[it] = price;
        if (inv[0] == 'C' || qty <= 0) continue;
        r->purchases[it] += 1;
        if (!cust[0]) continue;
        if (r->n_ev == r->cap_ev) {
            r->cap_ev = r->cap_ev ? r->cap_ev * 2 : 65536;
            r->ev = realloc(r->ev, r->cap_ev * sizeof *r->ev);
            if (!r->ev) die("realloc", AISLE_ENOMEM);
        }
        r->ev[r->n_ev++] = (event){smap_add(&r->users, cust), it, parse_time(f[4])};
    }
    gzclose(g);
    for (size_t i = 0; i < r->items.n; i++)
        if (!r->desc[i]) r->desc[i] = strdup("");
    return 1;
}

/* ---- words ---- */
static size_t words_of(const char *s, char w[][32], size_t max) {
    size_t n = 0, l = 0;
    for (;; s++) {
        unsigned char c = (unsigned char)*s;
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (alnum && l < 31) {
            w[n][l++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        } else if (!alnum && l) {
            w[n][l] = 0;
            if (++n == max) return n;
            l = 0;
        }
        if (!c) return n;
    }
}

static int stop_word(const char *w) {
    static const char *const stop[] = {"of", "and", "the", "with", "for", "in", "set", "a", "to", "on", "in", "by",
                                       "pack", "asst", "assorted", "design", "small", "large", "mini", NULL};
    if (strlen(w) < 3) return 1;
    for (const char *p = w; *p; p++)
        if (*p >= '0' && *p <= '9') return 1;
    for (int i = 0; stop[i]; i++)
        if (!strcmp(stop[i], w)) return 1;
    return 0;
}

/* Does text contain every word of q (whole words)? */
static int has_all(const char *text, char q[][32], size_t nq) {
    char w[64][32];
    size_t n = words_of(text, w, 64);
    for (size_t i = 0; i < nq; i++) {
        size_t j = 0;
        while (j < n && strcmp(w[j], q[i])) j++;
        if (j == n) return 0;
    }
    return 1;
}

/* ---- queries and judgements ---- */
typedef struct judged {
    char text[128];
    char typo[128]; /* misspelt twin ("" none) */
    uint32_t *rel_item;
    double *rel_grade;
    size_t n_rel;
    uint32_t user; /* personal queries: the customer */
} judged;

static void misspell(const char *in, char *out, size_t cap) {
    char w[8][32];
    size_t n = words_of(in, w, 8), cand[8], nc = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(w[i]) >= 5) cand[nc++] = i;
    out[0] = 0;
    if (!nc) return;
    size_t wi = cand[rnd_below(nc)];
    char *s = w[wi];
    int edits = strlen(s) >= 9 && rnd_below(2) ? 2 : 1;
    for (int e = 0; e < edits; e++) {
        size_t l = strlen(s), p = rnd_below(l);
        char c = (char)('a' + rnd_below(26));
        switch (rnd_below(4)) {
        case 0: s[p] = c == s[p] ? (char)('a' + (c - 'a' + 1) % 26) : c; break;
        case 1: memmove(s + p, s + p + 1, l - p); break;
        case 2:
            if (l < 30) {
                memmove(s + p + 1, s + p, l - p + 1);
                s[p] = c;
            }
            break;
        default:
            if (p + 1 < l && s[p] != s[p + 1]) {
                char t = s[p];
                s[p] = s[p + 1];
                s[p + 1] = t;
            } else {
                s[p] = c == s[p] ? (char)('a' + (c - 'a' + 1) % 26) : c;
            }
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "", w[i]);
    if (!strcmp(out, in)) out[0] = 0;
}

/* A span of 1-3 content words of text into q; 0 when none. */
static size_t query_span(const char *text, char q[][32]) {
    char w[64][32];
    size_t n = words_of(text, w, 64);
    static const size_t lens[] = {1, 2, 2, 3};
    for (int attempt = 0; attempt < 20 && n; attempt++) {
        size_t L = lens[rnd_below(4)];
        if (L > n) L = n;
        size_t s = rnd_below(n - L + 1), ok = 1;
        for (size_t i = 0; i < L; i++) ok &= !stop_word(w[s + i]);
        if (!ok) continue;
        for (size_t i = 0; i < L; i++) strcpy(q[i], w[s + i]);
        return L;
    }
    return 0;
}

static size_t pick_weighted(const double *w, size_t n, double total) {
    double x = (double)(rnd() >> 11) / 9007199254740992.0 * total, acc = 0;
    for (size_t i = 0; i < n; i++)
        if ((acc += w[i]) > x) return i;
    return n - 1;
}

static void join_words(char q[][32], size_t n, char *out, size_t cap) {
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? " " : "", q[i]);
}

static size_t make_generic(const retail *r, judged *qs, size_t want) {
    double total = 0;
    for (size_t i = 0; i < r->items.n; i++) total += r->purchases[i];
    size_t n = 0;
    for (int tries = 0; n < want && tries < (int)want * 20; tries++) {
        size_t it = pick_weighted(r->purchases, r->items.n, total);
        char q[3][32];
        size_t nq = query_span(r->desc[it], q);
        if (!nq) continue;
        char text[128];
        join_words(q, nq, text, sizeof text);
        int dup = 0;
        for (size_t j = 0; j < n && !dup; j++) dup = !strcmp(qs[j].text, text);
        if (dup) continue;
        judged *j = &qs[n];
        memset(j, 0, sizeof *j);
        strcpy(j->text, text);
        j->rel_item = xmalloc(r->items.n * sizeof *j->rel_item);
        j->rel_grade = xmalloc(r->items.n * sizeof *j->rel_grade);
        for (size_t p = 0; p < r->items.n; p++)
            if (has_all(r->desc[p], q, nq)) {
                j->rel_item[j->n_rel] = (uint32_t)p;
                j->rel_grade[j->n_rel++] = 1 + log2(1 + r->purchases[p]);
            }
        if (rnd_below(10) < 3) misspell(text, j->typo, sizeof j->typo);
        n++;
    }
    return n;
}

/* ---- metrics ---- */
static double grade_of(const judged *j, uint32_t item) {
    for (size_t i = 0; i < j->n_rel; i++)
        if (j->rel_item[i] == item) return j->rel_grade[i];
    return 0;
}

static int dbl_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* NDCG@10 and recall@100 (of min(|relevant|, 100)) of a ranked item list. */
static void score_list(const judged *j, const int64_t *ranked, size_t n, double *ndcg, double *recall) {
    double dcg = 0, idcg = 0;
    size_t found = 0;
    for (size_t i = 0; i < n && i < 100; i++) {
        double g = ranked[i] >= 0 ? grade_of(j, (uint32_t)ranked[i]) : 0;
        if (i < 10) dcg += g / log2(i + 2.0);
        found += g > 0;
    }
    double *gs = xmalloc((j->n_rel + 1) * sizeof *gs);
    memcpy(gs, j->rel_grade, j->n_rel * sizeof *gs);
    qsort(gs, j->n_rel, sizeof *gs, dbl_desc);
    for (size_t i = 0; i < j->n_rel && i < 10; i++) idcg += gs[i] / log2(i + 2.0);
    free(gs);
    *ndcg = idcg > 0 ? dcg / idcg : 0;
    size_t denom = j->n_rel < 100 ? j->n_rel : 100;
    *recall = denom ? (double)found / denom : 0;
}

typedef struct run_stats {
    double ndcg, recall, ndcg_typo, ndcg_typo_clean, qps, p99_ms, qps_cpu, p99_cpu_ms;
    size_t n, n_typo;
} run_stats;

static int dcmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- aisle runs ---- */
typedef struct aisle_sys {
    const char *name;
    const char *opts;
    int use_model, use_user;
} aisle_sys;

static void aisle_ranked(const aisle_search_index *idx, const retail *r, const char *q, const aisle_config *cfg,
                         const aisle_model *m, const char *user, int64_t *out, size_t *n_out, double *secs,
                         double *cpu) {
    aisle_search_results *res;
    char buf[160];
    snprintf(buf, sizeof buf, "%s ", q); /* a submitted query: no prefix completion */
    double t0 = now(), c0 = cpu_now();
    CHECK(aisle_search(idx, buf, AISLE_NUL_TERMINATED, 100, NULL, 0, m, user, NULL, 0, cfg, &res));
    *cpu = cpu_now() - c0;
    *secs = now() - t0;
    size_t n;
    aisle_search_results_count(res, &n);
    for (size_t i = 0; i < n; i++) {
        const char *key;
        aisle_search_results_hit(res, i, &key, NULL);
        out[i] = smap_find(&r->items, key);
    }
    *n_out = n;
    aisle_search_results_free(res);
}

static void finish_times(double *t, double *tc, size_t n, run_stats *s) {
    double total = 0, total_cpu = 0;
    for (size_t i = 0; i < n; i++) total += t[i], total_cpu += tc[i];
    qsort(t, n, sizeof *t, dcmp);
    qsort(tc, n, sizeof *tc, dcmp);
    s->qps = total > 0 ? n / total : 0;
    s->p99_ms = n ? t[(size_t)(0.99 * (n - 1))] * 1e3 : 0;
    s->qps_cpu = total_cpu > 0 ? n / total_cpu : 0;
    s->p99_cpu_ms = n ? tc[(size_t)(0.99 * (n - 1))] * 1e3 : 0;
}

static run_stats eval_aisle(const aisle_search_index *idx, const retail *r, judged *qs, size_t nq, const char *opts,
                            const aisle_model *m, int personal) {
    aisle_config *cfg;
    CHECK(aisle_config_new(&cfg));
    if (opts && opts[0]) CHECK(aisle_config_parse(cfg, opts));
    run_stats s = {0};
    double *t = xmalloc(nq * sizeof *t), *tc = xmalloc(nq * sizeof *tc);
    int64_t ranked[100];
    size_t n;
    for (size_t i = 0; i < nq; i++) {
        double nd, rc;
        const char *user = personal ? r->users.keys[qs[i].user] : NULL;
        aisle_ranked(idx, r, qs[i].text, cfg, m, user, ranked, &n, &t[i], &tc[i]);
        score_list(&qs[i], ranked, n, &nd, &rc);
        s.ndcg += nd;
        s.recall += rc;
        if (qs[i].typo[0]) {
            double sec, csec;
            s.ndcg_typo_clean += nd;
            aisle_ranked(idx, r, qs[i].typo, cfg, m, user, ranked, &n, &sec, &csec);
            score_list(&qs[i], ranked, n, &nd, &rc);
            s.ndcg_typo += nd;
            s.n_typo++;
        }
    }
    s.n = nq;
    s.ndcg /= nq;
    s.recall /= nq;
    if (s.n_typo) s.ndcg_typo /= s.n_typo, s.ndcg_typo_clean /= s.n_typo;
    finish_times(t, tc, nq, &s);
    free(t);
    free(tc);
    aisle_config_free(cfg);
    return s;
}

/* ---- SQLite FTS5 through dlopen ---- */
typedef struct sqlite_api {
    void *h;
    int (*open)(const char *, void **);
    int (*close)(void *);
    int (*exec)(void *, const char *, void *, void *, char **);
    int (*prepare)(void *, const char *, int, void **, const char **);
    int (*bind_text)(void *, int, const char *, int, void (*)(void *));
    int (*step)(void *);
    int (*reset)(void *);
    int (*finalize)(void *);
    const unsigned char *(*column_text)(void *, int);
} sqlite_api;

static int sqlite_load(sqlite_api *s) {
    s->h = dlopen("libsqlite3.so.0", RTLD_NOW);
    if (!s->h) return 0;
#define SYM(f, n) *(void **)&s->f = dlsym(s->h, n)
    SYM(open, "sqlite3_open");
    SYM(close, "sqlite3_close");
    SYM(exec, "sqlite3_exec");
    SYM(prepare, "sqlite3_prepare_v2");
    SYM(bind_text, "sqlite3_bind_text");
    SYM(step, "sqlite3_step");
    SYM(reset, "sqlite3_reset");
    SYM(finalize, "sqlite3_finalize");
    SYM(column_text, "sqlite3_column_text");
#undef SYM
    return s->open && s->close && s->exec && s->prepare && s->bind_text && s->step && s->reset && s->finalize &&
           s->column_text;
}

/* FTS5 MATCH text: each word quoted (implicit AND, FTS5's default). */
static void fts_query(const char *q, char *out, size_t cap) {
    char w[16][32];
    size_t n = words_of(q, w, 16), o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)snprintf(out + o, cap - o, "%s\"%s\"", i ? " " : "", w[i]);
}

static run_stats eval_fts5(sqlite_api *s, const retail *r, judged *qs, size_t nq, const char *dir, double *build_s,
                           long *bytes) {
    char path[512], sql[256];
    snprintf(path, sizeof path, "%s/fts5.db", dir);
    unlink(path);
    void *db, *st, *ins;
    run_stats rs = {0};
    if (s->open(path, &db)) return rs;
    double t0 = now();
    s->exec(db, "PRAGMA journal_mode=OFF; CREATE VIRTUAL TABLE p USING fts5(key UNINDEXED, title); BEGIN;", NULL,
            NULL, NULL);
    s->prepare(db, "INSERT INTO p(key, title) VALUES (?, ?)", -1, &ins, NULL);
    for (size_t i = 0; i < r->items.n; i++) {
        s->bind_text(ins, 1, r->items.keys[i], -1, NULL);
        s->bind_text(ins, 2, r->desc[i], -1, NULL);
        s->step(ins);
        s->reset(ins);
    }
    s->finalize(ins);
    s->exec(db, "COMMIT; INSERT INTO p(p) VALUES('optimize');", NULL, NULL, NULL);
    *build_s = now() - t0;
    snprintf(sql, sizeof sql, "SELECT key FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT 100");
    s->prepare(db, sql, -1, &st, NULL);
    double *t = xmalloc(nq * sizeof *t), *tc = xmalloc(nq * sizeof *tc);
    int64_t ranked[100];
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < nq; i++) {
            const char *q = pass ? qs[i].typo : qs[i].text;
            if (!q[0]) continue;
            char m[256];
            fts_query(q, m, sizeof m);
            double t1 = now(), c1 = cpu_now();
            s->bind_text(st, 1, m, -1, NULL);
            size_t n = 0;
            while (s->step(st) == 100 /* SQLITE_ROW */ && n < 100)
                ranked[n++] = smap_find(&r->items, (const char *)s->column_text(st, 0));
            s->reset(st);
            if (!pass) t[i] = now() - t1, tc[i] = cpu_now() - c1;
            double nd, rc;
            score_list(&qs[i], ranked, n, &nd, &rc);
            if (!pass) {
                rs.ndcg += nd;
                rs.recall += rc;
                if (qs[i].typo[0]) rs.ndcg_typo_clean += nd;
            } else {
                rs.ndcg_typo += nd;
                rs.n_typo++;
            }
        }
    s->finalize(st);
    s->close(db);
    struct stat sb;
    *bytes = stat(path, &sb) ? 0 : (long)sb.st_size;
    unlink(path);
    rs.n = nq;
    rs.ndcg /= nq;
    rs.recall /= nq;
    if (rs.n_typo) rs.ndcg_typo /= rs.n_typo, rs.ndcg_typo_clean /= rs.n_typo;
    finish_times(t, tc, nq, &rs);
    free(t);
    free(tc);
    return rs;
}

/* ---- Xapian through python3-xapian ---- */
static int eval_xapian(const retail *r, judged *qs, size_t nq, const char *dir, const char *srcdir, run_stats *out,
                       double *build_s, long *bytes) {
    char docs[512], qf[512], cmd[2048], res[512];
    snprintf(docs, sizeof docs, "%s/docs.tsv", dir);
    snprintf(qf, sizeof qf, "%s/queries.txt", dir);
    FILE *f = fopen(docs, "w"), *g = fopen(qf, "w");
    if (!f || !g) return 0;
    for (size_t i = 0; i < r->items.n; i++) fprintf(f, "%s\t%s\n", r->items.keys[i], r->desc[i]);
    /* clean queries, then the misspelt twins */
    for (size_t i = 0; i < nq; i++) fprintf(g, "%s\n", qs[i].text);
    for (size_t i = 0; i < nq; i++)
        if (qs[i].typo[0]) fprintf(g, "%s\n", qs[i].typo);
    fclose(f);
    fclose(g);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/bench/search_xapian.py %s %s %s 2>/dev/null", srcdir, docs, qf,
             dir);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    double qps = 0, p99 = 0;
    int ok = fscanf(p, "%lf %ld %lf %lf", build_s, bytes, &qps, &p99) == 4;
    int st = pclose(p);
    if (!ok || st) return 0;
    snprintf(res, sizeof res, "%s/results.txt", dir);
    FILE *rf = fopen(res, "r");
    if (!rf) return 0;
    static char line[1 << 16];
    run_stats rs = {0};
    size_t qi = 0, ti = 0;
    while (fgets(line, sizeof line, rf)) {
        int64_t ranked[100];
        size_t n = 0;
        for (char *tok = strtok(line, " \n"); tok && n < 100; tok = strtok(NULL, " \n"))
            ranked[n++] = smap_find(&r->items, tok);
        double nd, rc;
        if (qi < nq) {
            score_list(&qs[qi], ranked, n, &nd, &rc);
            rs.ndcg += nd;
            rs.recall += rc;
            if (qs[qi].typo[0]) rs.ndcg_typo_clean += nd;
            qi++;
        } else {
            while (ti < nq && !qs[ti].typo[0]) ti++;
            if (ti == nq) break;
            score_list(&qs[ti], ranked, n, &nd, &rc);
            rs.ndcg_typo += nd;
            rs.n_typo++;
            ti++;
        }
    }
    fclose(rf);
    rs.n = nq;
    rs.ndcg /= nq;
    rs.recall /= nq;
    if (rs.n_typo) rs.ndcg_typo /= rs.n_typo, rs.ndcg_typo_clean /= rs.n_typo;
    /* Xapian's timings include the python call overhead of each query */
    rs.qps = qps;
    rs.p99_ms = p99;
    *out = rs;
    return 1;
}

static void print_row(const char *name, const run_stats *s, double build_s, long bytes) {
    double loss = s->ndcg_typo_clean > 0 ? 100.0 * (1 - s->ndcg_typo / s->ndcg_typo_clean) : 0;
    printf("| %-34s | %.4f | %.4f | %.4f / %.4f (%+.1f%%) | ", name, s->ndcg, s->recall, s->ndcg_typo_clean,
           s->ndcg_typo, -loss);
    if (build_s >= 0) printf("%.3f s | %ld | ", build_s, bytes);
    else printf("- | - | ");
    if (s->qps_cpu > 0) printf("%.0f (%.0f) | %.3f (%.3f) |\n", s->qps, s->qps_cpu, s->p99_ms, s->p99_cpu_ms);
    else printf("%.0f | %.3f |\n", s->qps, s->p99_ms);
}


/* ---- scale: the synthetic catalog ---- */
/* Learning to rank (docs/SEARCH.md): a search log from the personal
 * queries' first half (training searches): each one's default top
 * LEARN_SHOWN (ALS, user, linear fusion) as shown, and those of them the
 * customer bought in the test month as purchase rows (a shopper acts on
 * what was shown: purchases the ranking did not show would compare them
 * only with what it ranked higher, docs/SEARCH.md "Bias"); the weights are
 * learned on it and NDCG@10 of learned and default weights is measured on
 * the second half only (held out: never used to fit or choose anything). */
enum { LEARN_SHOWN = 20 };
static void bench_learn(aisle_search_index *idx, const retail *r, judged *ps, size_t np, const aisle_model *m,
                        const char *dir) {
    size_t n_train = np / 2;
    if (n_train < 10 || np - n_train < 10) {
        printf("\n| learning to rank | skipped: %zu personal queries |\n", np);
        return;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/search_log.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) die("search log file", AISLE_EIO);
    fprintf(f, "query_id,query,user,item,event\n");
    aisle_config *blend;
    CHECK(aisle_config_new(&blend));
    CHECK(aisle_config_parse(blend, "search_ranker=blend"));
    int64_t ranked[100];
    size_t n, rows = 0;
    double sec, cpu;
    for (size_t i = 0; i < n_train; i++) {
        const char *user = r->users.keys[ps[i].user];
        aisle_ranked(idx, r, ps[i].text, blend, m, user, ranked, &n, &sec, &cpu);
        for (size_t k = 0; k < n && k < LEARN_SHOWN; k++) {
            if (ranked[k] < 0) continue;
            int bought = grade_of(&ps[i], (uint32_t)ranked[k]) > 0;
            fprintf(f, "t%zu,\"%s\",%s,%s,%s\n", i, ps[i].text, user, r->items.keys[ranked[k]],
                    bought ? "purchase" : "shown");
            rows++;
        }
    }
    fclose(f);
    aisle_search_log *log;
    CHECK(aisle_search_log_load(&log, path, NULL));
    size_t pairs = 0;
    double t0 = now(), c0 = cpu_now();
    CHECK(aisle_search_index_learn(idx, log, m, NULL, &pairs));
    double learn_s = now() - t0, learn_cpu = cpu_now() - c0;
    printf("\nLearning to rank: log of %zu training searches (%zu rows: default top %d shown, those the customer "
           "bought in the test month purchased), %zu pairs, learned in %.2f s wall (%.2f s CPU); weights:",
           n_train, rows, (int)LEARN_SHOWN, pairs, learn_s, learn_cpu);
    for (size_t k = 0;; k++) {
        const char *name;
        double w;
        if (aisle_search_index_ranker(idx, k, &name, &w) != AISLE_OK) break;
        printf(" %s %.3f", name, w);
    }
    printf("\n\nHeld-out personal queries: %zu\n\n", np - n_train);
    printf("| system | NDCG@10 | recall@100 | queries/s wall (CPU) | p99 ms wall (CPU) |\n|---|---|---|---|---|\n");
    static const struct {
        const char *name, *opts;
    } lrow[] = {{"default weights (ALS, user; linear fusion)", "search_ranker=blend"},
                {"learned weights (ALS, user)", "search_ranker=learned"}};
    for (size_t i = 0; i < sizeof lrow / sizeof lrow[0]; i++) {
        run_stats s = eval_aisle(idx, r, ps + n_train, np - n_train, lrow[i].opts, m, 1);
        printf("| %s | %.4f | %.4f | %.0f (%.0f) | %.3f (%.3f) |\n", lrow[i].name, s.ndcg, s.recall, s.qps,
               s.qps_cpu, s.p99_ms, s.p99_cpu_ms);
    }
    aisle_search_log_free(log);
    aisle_config_free(blend);
    unlink(path);
}

static void bench_scale(long n_items, const char *dir) {
    aisle_config *cfg;
    CHECK(aisle_config_new(&cfg));
    CHECK(aisle_config_set_int(cfg, "demo_items", n_items));
    CHECK(aisle_config_set_int(cfg, "demo_users", 10));
    aisle_catalog *cat;
    double t0 = now();
    CHECK(aisle_demo_catalog(cfg, &cat));
    double gen_s = now() - t0;
    long rss0 = rss_kb();
    aisle_search_index *idx;
    CHECK(aisle_search_index_new(&idx));
    t0 = now();
    double c0 = cpu_now();
    CHECK(aisle_search_index_build(idx, cat, NULL));
    double build_s = now() - t0, build_cpu = cpu_now() - c0;
    long rss1 = rss_kb();
    char path[512];
    snprintf(path, sizeof path, "%s/scale.aidx", dir);
    CHECK(aisle_search_index_save(idx, path, NULL));
    struct stat sb;
    long bytes = stat(path, &sb) ? 0 : (long)sb.st_size;
    /* loading rebuilds the block and pair bounds from the postings */
    aisle_search_index *loaded;
    t0 = now();
    c0 = cpu_now();
    CHECK(aisle_search_index_load(&loaded, path, NULL));
    double load_s = now() - t0, load_cpu = cpu_now() - c0;
    aisle_search_index_free(loaded);
    unlink(path);
    /* 2-word queries: adjacent title words of random products, each run
     * four ways, in rotating order so that all see the same machine load:
     * the default (block-max with pair bounds for queries of at most
     * search_block_max_groups words, plain MaxScore for longer ones),
     * block-max with pair bounds on every query (the default until
     * 2026-12-06), block-max without pair bounds, neither; their hits must
     * agree */
    enum { NV = 4, NCLASS = 6 };
    static const char *const vname[NV] = {"default (block-max + pair bounds up to 2 groups)",
                                          "MaxScore + block-max + pair bounds on every query",
                                          "MaxScore + block-max, no pair bounds", "MaxScore without block-max"};
    static const char *const cname[NCLASS] = {"title words 1-2", "title words 2-3", "title words 3-4",
                                              "title words 4-5", "title words 5+", "Chinese title"};
    size_t nq = 2000;
    aisle_config *vcfg[NV] = {NULL, NULL, NULL, NULL};
    static const char *const vopts[NV] = {NULL, "search_block_max_groups=32",
                                          "search_pair_bounds=false search_block_max_groups=32",
                                          "search_block_max=false search_pair_bounds=false"};
    for (int v = 1; v < NV; v++) {
        CHECK(aisle_config_new(&vcfg[v]));
        CHECK(aisle_config_parse(vcfg[v], vopts[v]));
    }
    double *t[NV], *tc[NV], total[NV] = {0}, total_cpu[NV] = {0};
    for (int v = 0; v < NV; v++) t[v] = xmalloc(nq * sizeof *t[v]), tc[v] = xmalloc(nq * sizeof *tc[v]);
    char (*qtext)[160] = xmalloc(nq * sizeof *qtext);
    int *qclass = xmalloc(nq * sizeof *qclass);
    size_t n_cat = 0, differ = 0;
    aisle_catalog_count(cat, &n_cat);
    size_t hits_total = 0;
    for (size_t i = 0; i < nq; i++) {
        const char *key, *title;
        aisle_catalog_key(cat, rnd_below(n_cat), &key);
        aisle_catalog_item_text(cat, key, "title", &title);
        char w[16][32];
        size_t nw = words_of(title, w, 16), s = nw > 2 ? rnd_below(nw - 1) : 0;
        char *q = qtext[i];
        snprintf(q, sizeof qtext[i], "%.31s %.31s ", w[s], nw > 1 ? w[s + 1] : "");
        qclass[i] = s < 4 ? (int)s : 4;
        for (const char *c = q; *c; c++)
            if ((unsigned char)*c >= 0x80) qclass[i] = 5;
        aisle_search_results *r[NV];
        for (int k = 0; k < NV; k++) {
            int v = (int)((i + (size_t)k) % NV); /* rotate which runs first */
            double t1 = now(), c1 = cpu_now();
            CHECK(aisle_search(idx, q, AISLE_NUL_TERMINATED, 10, NULL, 0, NULL, NULL, NULL, 0, vcfg[v], &r[v]));
            tc[v][i] = cpu_now() - c1;
            t[v][i] = now() - t1;
        }
        size_t tot, n0;
        aisle_search_results_total(r[0], &tot);
        hits_total += tot;
        aisle_search_results_count(r[0], &n0);
        int same = 1;
        for (int v = 1; v < NV; v++) {
            size_t n1;
            aisle_search_results_count(r[v], &n1);
            same &= n0 == n1;
            for (size_t h = 0; same && h < n0; h++) {
                const char *k0, *k1;
                double s0, s1;
                aisle_search_results_hit(r[0], h, &k0, &s0);
                aisle_search_results_hit(r[v], h, &k1, &s1);
                same = !strcmp(k0, k1) && s0 == s1;
            }
        }
        differ += !same;
        for (int v = 0; v < NV; v++) aisle_search_results_free(r[v]);
    }
    printf("\nScale: %ld synthetic products (demo catalog, generated in %.1f s); 2-word queries (adjacent title "
           "words of random products), k=10, one thread; wall time and thread CPU time; each query four ways, "
           "in rotating order (top 10 identical in %zu of %zu queries)\n\n",
           n_items, gen_s, nq - differ, nq);
    printf("| retrieval | build wall (CPU) | index memory (RSS growth) | index file | load wall (CPU) | queries/s wall "
           "(CPU) | p50 wall (CPU) | p99 wall (CPU) | mean matches counted |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    /* per class: CPU p50 / p99 of each variant, and where the slowest 1%
     * of the default's queries come from */
    double *cls = xmalloc(nq * sizeof *cls), p50c[NV][NCLASS], p99c[NV][NCLASS];
    size_t ncls[NCLASS] = {0}, worst[NCLASS] = {0};
    for (int v = 0; v < NV; v++)
        for (int c = 0; c < NCLASS; c++) {
            size_t m = 0;
            for (size_t i = 0; i < nq; i++)
                if (qclass[i] == c) cls[m++] = tc[v][i];
            ncls[c] = m;
            qsort(cls, m, sizeof *cls, dcmp);
            p50c[v][c] = m ? cls[m / 2] : 0;
            p99c[v][c] = m ? cls[(size_t)(0.99 * (double)(m - 1))] : 0;
        }
    memcpy(cls, tc[0], nq * sizeof *cls);
    qsort(cls, nq, sizeof *cls, dcmp);
    double cut = cls[(size_t)(0.99 * (nq - 1))];
    size_t slowest = 0;
    for (size_t i = 0; i < nq; i++)
        if (tc[0][i] >= cut) worst[qclass[i]]++, slowest = tc[0][i] > tc[0][slowest] ? i : slowest;
    double slowest_ms = tc[0][slowest] * 1e3;
    for (int v = 0; v < NV; v++) {
        for (size_t i = 0; i < nq; i++) total[v] += t[v][i], total_cpu[v] += tc[v][i];
        qsort(t[v], nq, sizeof *t[v], dcmp);
        qsort(tc[v], nq, sizeof *tc[v], dcmp);
        printf("| %s | %.2f s (%.2f s) | %.0f MB | %.1f MB | %.2f s (%.2f s) | %.0f (%.0f) | %.3f (%.3f) ms | %.3f "
               "(%.3f) ms | %.0f |\n",
               vname[v], build_s, build_cpu, (rss1 - rss0) / 1024.0, bytes / 1048576.0, load_s, load_cpu, nq / total[v],
               nq / total_cpu[v], t[v][nq / 2] * 1e3, tc[v][nq / 2] * 1e3, t[v][(size_t)(0.99 * (nq - 1))] * 1e3,
               tc[v][(size_t)(0.99 * (nq - 1))] * 1e3, (double)hits_total / nq);
        free(t[v]);
        free(tc[v]);
    }
    printf("\nBy query class, CPU ms p50 / p99 (default | block-max + pairs on every query | no pair bounds | no "
           "block-max); the slowest 1%% of the default's queries (>= %.3f ms CPU) by class; slowest: \"%s\" %.3f ms\n\n",
           cut * 1e3, qtext[slowest], slowest_ms);
    printf("| class | queries | default | block-max + pairs always | no pair bounds | no block-max | in the slowest 1%% "
           "|\n|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < NCLASS; c++) {
        printf("| %s | %zu |", cname[c], ncls[c]);
        for (int v = 0; v < NV; v++) printf(" %.3f / %.3f |", p50c[v][c] * 1e3, p99c[v][c] * 1e3);
        printf(" %zu |\n", worst[c]);
    }
    free(cls);
    free(qtext);
    free(qclass);
    if (differ) {
        fprintf(stderr, "bench_search: block-max skipping or pair bounds changed the top 10 of %zu queries\n", differ);
        exit(1);
    }
    for (int v = 0; v < NV; v++) aisle_config_free(vcfg[v]);
    aisle_search_index_free(idx);
    aisle_catalog_free(cat);
    aisle_config_free(cfg);
}

#include "bench_search_encoder.h"

int main(int argc, char **argv) {
    const char *srcdir = getenv("AISLE_SRCDIR") ? getenv("AISLE_SRCDIR") : ".";
    char data[512];
    /* AISLE_SHARED_DATA, else ../shared/data beside the tree (or two levels up from a worktree) */
    if (getenv("AISLE_SHARED_DATA"))
        snprintf(data, sizeof data, "%s/online-retail/OnlineRetail.csv.gz", getenv("AISLE_SHARED_DATA"));
    else {
        snprintf(data, sizeof data, "%s/../shared/data/online-retail/OnlineRetail.csv.gz", srcdir);
        if (access(data, R_OK))
            snprintf(data, sizeof data, "%s/../../shared/data/online-retail/OnlineRetail.csv.gz", srcdir);
    }
    size_t n_queries = 1000;
    long scale = 100000;
    uint64_t seed = 42;
    /* the text encoder: the bert tests' small random model unless --encoder
     * names a real checkpoint directory */
    char encoder[600];
    snprintf(encoder, sizeof encoder, "%s/tests/bert/data/cls", srcdir);
    int encoder_is_fixture = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) snprintf(data, sizeof data, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--encoder") && i + 1 < argc) {
            snprintf(encoder, sizeof encoder, "%s", argv[++i]);
            encoder_is_fixture = 0;
        }
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc) n_queries = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--scale") && i + 1 < argc) scale = atol(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = (uint64_t)atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_search [--data FILE] [--queries N] [--scale N] [--seed N] [--encoder DIR]\n");
            return 2;
        }
    }
    char dir[] = "/tmp/bench_search_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    rng_state = seed;
    retail r;
    if (!load_retail(data, &r)) {
        printf("bench_search: %s not present: quality and peer runs skipped\n", data);
    } else {
        printf("Online Retail: %zu products, %zu customer purchase lines, %zu customers\n", r.items.n, r.n_ev,
               r.users.n);
        aisle_catalog *cat;
        CHECK(aisle_catalog_new(&cat));
        for (size_t i = 0; i < r.items.n; i++)
            CHECK(aisle_catalog_add_item(cat, r.items.keys[i], r.desc[i], "", "", "", r.price[i]));
        aisle_search_index *idx;
        CHECK(aisle_search_index_new(&idx));
        double t0 = now();
        CHECK(aisle_search_index_build(idx, cat, NULL));
        double build_s = now() - t0;
        char path[600];
        snprintf(path, sizeof path, "%s/retail.aidx", dir);
        CHECK(aisle_search_index_save(idx, path, NULL));
        struct stat sb;
        long bytes = stat(path, &sb) ? 0 : (long)sb.st_size;
        judged *qs = xmalloc(n_queries * sizeof *qs);
        size_t nq = make_generic(&r, qs, n_queries);
        size_t n_typo = 0;
        for (size_t i = 0; i < nq; i++) n_typo += qs[i].typo[0] != 0;
        printf("judged queries: %zu (%zu with a misspelt twin)\n\n", nq, n_typo);
        printf("| system | NDCG@10 | recall@100 | misspelt subset NDCG@10 clean / misspelt (change) | build | "
               "index bytes | queries/s wall (CPU) | p99 ms wall (CPU) |\n");
        printf("|---|---|---|---|---|---|---|---|\n");
        run_stats s = eval_aisle(idx, &r, qs, nq, "search_typo=false search_proximity=0 search_coordination=0",
                                 NULL, 0);
        print_row("aisle BM25 (no typo, no proximity)", &s, build_s, bytes);
        s = eval_aisle(idx, &r, qs, nq, "", NULL, 0);
        print_row("aisle BM25F + typo + proximity", &s, build_s, bytes);
        sqlite_api sq;
        if (sqlite_load(&sq)) {
            double fb = 0;
            long fbytes = 0;
            s = eval_fts5(&sq, &r, qs, nq, dir, &fb, &fbytes);
            print_row("SQLite FTS5 bm25() (AND)", &s, fb, fbytes);
        } else {
            printf("| SQLite FTS5 | skipped: libsqlite3.so.0 not found (apt-get install libsqlite3-0) |\n");
        }
        double xb = 0;
        long xbytes = 0;
        if (eval_xapian(&r, qs, nq, dir, srcdir, &s, &xb, &xbytes))
            print_row("Xapian BM25 (OR, via python3-xapian)", &s, xb, xbytes);
        else
            printf("| Xapian | skipped: python3-xapian not installed (apt-get install python3-xapian) |\n");
        /* semantic fusion from a text encoder: product vectors once, the
         * query encoded per search (its forward is in the timings) */
        aisle_bert *bert = NULL;
        if (aisle_bert_import(&bert, encoder, NULL) == AISLE_OK) {
            aisle_config *ec;
            CHECK(aisle_config_new(&ec));
            CHECK(aisle_config_parse(ec, "threads=2"));
            double e0 = now();
            CHECK(aisle_search_index_set_encoder(idx, bert, cat, ec));
            printf("| (encoder %s: %zu product vectors in %.2f s wall, 2 threads) |\n",
                   encoder_is_fixture ? "tests/bert/data/cls" : encoder, r.items.n, now() - e0);
            const char *what = encoder_is_fixture ? "random BERT fixture, code-path check" : "BERT";
            char name[160];
            s = eval_aisle(idx, &r, qs, nq, "", NULL, 0);
            snprintf(name, sizeof name, "aisle + semantic fusion (encoder: %s; linear)", what);
            print_row(name, &s, -1, 0);
            s = eval_aisle(idx, &r, qs, nq, "search_fusion=rrf", NULL, 0);
            snprintf(name, sizeof name, "aisle + semantic fusion (encoder: %s; RRF)", what);
            print_row(name, &s, -1, 0);
            CHECK(aisle_search_index_set_encoder(idx, NULL, NULL, NULL)); /* the rows below: without */
            aisle_config_free(ec);
            aisle_bert_free(bert);
        } else {
            printf("| encoder | skipped: %s: %s |\n", encoder, aisle_last_error());
        }
        /* the model is trained after the text-only timings: OpenBLAS's
         * threads keep spinning for a while after training */
        /* the behaviour model: ALS on purchases before the last month */
        int64_t tmax = 0;
        for (size_t i = 0; i < r.n_ev; i++) tmax = r.ev[i].time > tmax ? r.ev[i].time : tmax;
        int64_t cut = tmax - 30 * 86400;
        aisle_dataset *train;
        CHECK(aisle_dataset_new(&train));
        for (size_t i = 0; i < r.n_ev; i++)
            if (r.ev[i].time < cut)
                CHECK(aisle_dataset_add_event(train, r.users.keys[r.ev[i].user], r.items.keys[r.ev[i].item],
                                              "purchase", 1, r.ev[i].time));
        aisle_config *mc;
        CHECK(aisle_config_new(&mc));
        CHECK(aisle_config_parse(mc, "model=als factors=64 epochs=15 threads=2 seed=7"));
        aisle_model *m;
        t0 = now();
        CHECK(aisle_model_train(train, mc, &m));
        double train_s = now() - t0;
        s = eval_aisle(idx, &r, qs, nq, "", m, 0);
        print_row("aisle + semantic fusion (ALS, linear)", &s, -1, 0);
        s = eval_aisle(idx, &r, qs, nq, "search_fusion=rrf", m, 0);
        print_row("aisle + semantic fusion (ALS, RRF)", &s, -1, 0);
        printf("\nALS (64 factors, 15 epochs) trained in %.1f s on purchases before the last 30 days\n", train_s);
        bench_trained_encoder(idx, cat, &r, qs, nq, m, encoder, encoder_is_fixture);

        /* personal queries: a customer's test-month purchase gives the query */
        size_t np = 0, want = n_queries / 2;
        judged *ps = xmalloc(want * sizeof *ps);
        size_t n_test = 0;
        for (size_t i = 0; i < r.n_ev; i++) n_test += r.ev[i].time >= cut;
        for (int tries = 0; np < want && tries < (int)want * 50 && n_test; tries++) {
            size_t e = rnd_below(r.n_ev);
            if (r.ev[e].time < cut) continue;
            uint32_t u = r.ev[e].user;
            size_t ui;
            if (aisle_model_user_index(m, r.users.keys[u], &ui) != AISLE_OK) continue;
            char q[3][32];
            size_t nw = query_span(r.desc[r.ev[e].item], q);
            if (!nw || nw > 2) continue;
            judged *j = &ps[np];
            memset(j, 0, sizeof *j);
            join_words(q, nw, j->text, sizeof j->text);
            j->user = u;
            j->rel_item = xmalloc(r.items.n * sizeof *j->rel_item);
            j->rel_grade = xmalloc(r.items.n * sizeof *j->rel_grade);
            for (size_t k = 0; k < r.n_ev; k++) {
                if (r.ev[k].user != u || r.ev[k].time < cut) continue;
                size_t x = 0;
                while (x < j->n_rel && j->rel_item[x] != r.ev[k].item) x++;
                if (x == j->n_rel) j->rel_item[j->n_rel] = r.ev[k].item, j->rel_grade[j->n_rel++] = 0;
                j->rel_grade[x] += 1;
            }
            np++;
        }
        printf("\nPersonal queries: %zu (a test-month purchase's description span; relevance: that customer's "
               "test-month purchases by count)\n\n",
               np);
        printf("| system | NDCG@10 | recall@100 | queries/s wall (CPU) | p99 ms wall (CPU) |\n|---|---|---|---|---|\n");
        static const struct {
            const char *name, *opts;
            int model, user;
        } prow[] = {{"aisle BM25F + typo", "", 0, 0},
                    {"+ semantic fusion (linear)", "", 1, 0},
                    {"+ semantic fusion (RRF)", "search_fusion=rrf", 1, 0},
                    {"+ personalization (ALS, user; linear fusion)", "", 1, 1},
                    {"+ personalization (ALS, user; RRF)", "search_fusion=rrf", 1, 1},
                    {"personalization without fusion", "search_fusion=none", 1, 1}};
        for (size_t i = 0; i < sizeof prow / sizeof prow[0]; i++) {
            s = eval_aisle(idx, &r, ps, np, prow[i].opts, prow[i].model ? m : NULL, prow[i].user);
            printf("| %s | %.4f | %.4f | %.0f (%.0f) | %.3f (%.3f) |\n", prow[i].name, s.ndcg, s.recall, s.qps,
                   s.qps_cpu, s.p99_ms, s.p99_cpu_ms);
        }
        bench_learn(idx, &r, ps, np, m, dir);
        for (size_t i = 0; i < nq; i++) free(qs[i].rel_item), free(qs[i].rel_grade);
        for (size_t i = 0; i < np; i++) free(ps[i].rel_item), free(ps[i].rel_grade);
        free(qs);
        free(ps);
        aisle_model_free(m);
        aisle_config_free(mc);
        aisle_dataset_free(train);
        aisle_search_index_free(idx);
        aisle_catalog_free(cat);
        unlink(path);
    }
    if (scale > 0) bench_scale(scale, dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return 0;
}
