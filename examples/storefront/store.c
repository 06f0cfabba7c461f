/* store.c - the shop behind the pages: catalog and behaviour data (the
 * built-in demo store or a shop's exports), the models trained on them
 * (or loaded from files) with their held-out metrics, the sample shoppers,
 * the visitors' sessions and the request statistics. */
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int fail(int rc, const char *what) {
    fprintf(stderr, "storefront: %s: %s (%s)\n", what, aisle_strerror(rc), aisle_last_error());
    return rc;
}

/* The console progress line while a model trains. */
static int on_progress(void *user, int step, int steps, double loss, double metric, double elapsed) {
    const sf_model *m = user;
    fprintf(stderr, "\r  training %-8s step %d/%d", m->kind, step, steps);
    if (!isnan(loss)) fprintf(stderr, "  loss %.4f", loss);
    fprintf(stderr, "  %.1f s   ", elapsed);
    (void)metric;
    return 0;
}

static int load_data(sf_app *app, aisle_dataset **events) {
    aisle_config *cfg = NULL;
    int rc = aisle_config_new(&cfg);
    if (!rc && !app->opt.data) {
        /* the built-in demo store: events and products from the same options */
        if (app->opt.demo && *app->opt.demo) rc = aisle_config_parse(cfg, app->opt.demo);
        if (!rc) rc = aisle_demo_generate(cfg, events);
        if (!rc) rc = aisle_demo_catalog(cfg, &app->catalog);
        if (rc) fail(rc, "generating the demo store");
        aisle_config_free(cfg);
        return rc;
    }
    if (!rc && app->opt.data_options) rc = aisle_config_parse(cfg, app->opt.data_options);
    if (!rc) rc = aisle_dataset_new(events);
    if (!rc) rc = aisle_dataset_load(*events, app->opt.data, cfg);
    if (rc) {
        aisle_config_free(cfg);
        return fail(rc, app->opt.data);
    }
    aisle_config_free(cfg);
    cfg = NULL;
    rc = aisle_config_new(&cfg);
    if (!rc && app->opt.catalog_options) rc = aisle_config_parse(cfg, app->opt.catalog_options);
    if (!rc) rc = aisle_catalog_new(&app->catalog);
    if (!rc && app->opt.catalog) rc = aisle_catalog_load(app->catalog, app->opt.catalog, cfg);
    aisle_config_free(cfg);
    if (rc) return fail(rc, app->opt.catalog ? app->opt.catalog : "catalog");
    return AISLE_OK;
}

static void measure(sf_model *m, const aisle_dataset *test) {
    aisle_config *cfg = NULL;
    aisle_eval_result *res = NULL;
    m->ndcg = m->hr = m->precision = m->coverage = NAN;
    if (aisle_config_new(&cfg) || aisle_config_set(cfg, "k", "10") ||
        aisle_evaluate(m->model, test, cfg, &res)) {
        fprintf(stderr, "  (no held-out metrics for %s: %s)\n", m->kind, aisle_last_error());
        aisle_config_free(cfg);
        return;
    }
    aisle_eval_result_get(res, "ndcg@10", &m->ndcg);
    aisle_eval_result_get(res, "hr@10", &m->hr);
    aisle_eval_result_get(res, "precision@10", &m->precision);
    aisle_eval_result_get(res, "coverage", &m->coverage);
    aisle_eval_result_free(res);
    aisle_config_free(cfg);
}

static int train(sf_app *app, sf_model *m, const aisle_dataset *ds) {
    aisle_config *cfg = NULL;
    int rc = aisle_config_new(&cfg);
    if (!rc) rc = aisle_config_set(cfg, "model", m->kind);
    if (!rc && app->opt.threads > 0) rc = aisle_config_set_int(cfg, "threads", app->opt.threads);
    if (!rc && !app->opt.quiet) rc = aisle_config_set_progress(cfg, on_progress, m);
    aisle_model *model = NULL;
    double t0 = now_seconds();
    if (!rc) rc = aisle_model_train_with_catalog(ds, app->catalog, cfg, &model);
    m->train_seconds = now_seconds() - t0;
    aisle_config_free(cfg);
    if (rc) return fail(rc, m->kind);
    aisle_model_free(m->model);
    m->model = model;
    return AISLE_OK;
}

/* Loads DIR/KIND.aisle when it exists (1), else 0; <0 on a bad file. */
static int load_saved(sf_app *app, sf_model *m) {
    char path[1024];
    if (!app->opt.model_dir) return 0;
    snprintf(path, sizeof path, "%s/%s.aisle", app->opt.model_dir, m->kind);
    if (access(path, R_OK) != 0) return 0;
    int rc = aisle_model_load(&m->model, path, NULL);
    if (rc) return fail(rc, path);
    m->loaded = 1;
    m->ndcg = m->hr = m->precision = m->coverage = NAN;
    aisle_model_get_metric(m->model, "ndcg@10", &m->ndcg);
    aisle_model_get_metric(m->model, "hr@10", &m->hr);
    aisle_model_get_metric(m->model, "precision@10", &m->precision);
    aisle_model_get_metric(m->model, "coverage", &m->coverage);
    aisle_clear_error();
    return 1;
}

static void save_trained(sf_app *app, sf_model *m) {
    char path[1024];
    if (!app->opt.model_dir) return;
    mkdir(app->opt.model_dir, 0777);
    snprintf(path, sizeof path, "%s/%s.aisle", app->opt.model_dir, m->kind);
    aisle_model_set_metric(m->model, "ndcg@10", m->ndcg);
    aisle_model_set_metric(m->model, "hr@10", m->hr);
    aisle_model_set_metric(m->model, "precision@10", m->precision);
    aisle_model_set_metric(m->model, "coverage", m->coverage);
    int rc = aisle_model_save(m->model, path, NULL);
    if (rc == AISLE_OK) fprintf(stderr, "  saved %s\n", path);
    else if (rc != AISLE_EUNSUPPORTED) fail(rc, path);
    aisle_clear_error();
}

static int open_models(sf_app *app, const aisle_dataset *events) {
    aisle_dataset *trainset = NULL, *test = NULL;
    int rc = aisle_dataset_split_spec(events, "time:0.1", 42, &trainset, &test);
    if (rc) return fail(rc, "splitting the events by time");
    snprintf(app->split, sizeof app->split, "latest 10%% of events by time held out, k = 10");
    char kinds[256];
    snprintf(kinds, sizeof kinds, "%s", app->opt.kinds);
    for (char *save = NULL, *kind = strtok_r(kinds, ", ", &save); kind && !rc;
         kind = strtok_r(NULL, ", ", &save)) {
        if (app->n_models == SF_MODELS_MAX) break;
        sf_model *m = &app->models[app->n_models];
        snprintf(m->kind, sizeof m->kind, "%s", kind);
        int loaded = load_saved(app, m);
        if (loaded < 0) rc = loaded;
        if (loaded) {
            fprintf(stderr, "  loaded %s from %s\n", m->kind, app->opt.model_dir);
        } else if (!rc && (rc = train(app, m, trainset)) == AISLE_OK) {
            measure(m, test);
            double first = m->train_seconds;
            if (app->opt.refit) rc = train(app, m, events); /* serve with every event */
            if (!app->opt.quiet)
                fprintf(stderr, "\r  trained  %-8s in %.1f s%s: ndcg@10 %.4f, hr@10 %.4f          \n", m->kind,
                        first + (app->opt.refit ? m->train_seconds : 0), app->opt.refit ? " (with refit)" : "",
                        m->ndcg, m->hr);
            if (!rc) save_trained(app, m);
        }
        if (!rc) app->n_models++;
    }
    aisle_dataset_free(trainset);
    aisle_dataset_free(test);
    if (rc) return rc;
    for (size_t i = 0; i < app->n_models; i++) {
        sf_model *m = &app->models[i];
        int personal = strcmp(m->kind, "popular") != 0;
        if (!strcmp(m->kind, "popular")) app->popular = m;
        if (!strcmp(m->kind, "itemknn")) app->itemknn = m;
        if (personal && (!app->best || m->ndcg > app->best->ndcg || isnan(app->best->ndcg))) app->best = m;
        if (personal && strcmp(m->kind, "itemknn") && (!app->similar || m->ndcg > app->similar->ndcg))
            app->similar = m;
    }
    if (!app->best || !app->popular) {
        fprintf(stderr, "storefront: --kinds must include popular and at least one personal kind (e.g. als)\n");
        return AISLE_EINVAL;
    }
    fprintf(stderr, "  serving %s for \"Recommended for you\"\n", app->best->kind);
    return AISLE_OK;
}

/* The top-level category most of a shopper's history falls in. */
static void shopper_taste(sf_app *app, sf_shopper *s, const char *const *hist, size_t n) {
    size_t best = 0;
    s->taste[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *ci = sf_text(app, hist[i], "category");
        size_t li = strcspn(ci, ">"), count = 0;
        for (size_t j = 0; j < n; j++)
            if (!strncmp(sf_text(app, hist[j], "category"), ci, li)) count++;
        if (count > best && li) {
            best = count;
            snprintf(s->taste, sizeof s->taste, "%.*s", (int)(li > 1 && ci[li - 1] == ' ' ? li - 1 : li), ci);
        }
    }
}

static void pick_shoppers(sf_app *app) {
    size_t n_users = 0;
    aisle_model_user_count(app->best->model, &n_users);
    for (size_t u = 0; u < n_users && app->n_shoppers < SF_SHOPPERS; u++) {
        const char *key, *hist[40];
        size_t n = 0;
        if (aisle_model_user_key(app->best->model, u, &key) || strlen(key) > SF_KEY_MAX) continue;
        if (aisle_model_user_history(app->best->model, key, 40, hist, NULL, &n) || n < 8 || n > 40) continue;
        sf_shopper *s = &app->shoppers[app->n_shoppers++];
        snprintf(s->key, sizeof s->key, "%s", key);
        s->history = n;
        shopper_taste(app, s, hist, n);
    }
}

static char *load_template(sf_app *app, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", app->opt.templates, name);
    char *text = sf_read_file(path);
    if (!text) fprintf(stderr, "storefront: cannot read template %s\n", path);
    return text;
}

int sf_app_open(sf_app *app) {
    aisle_dataset *events = NULL;
    app->started = time(NULL);
    pthread_rwlock_init(&app->model_lock, NULL);
    pthread_mutex_init(&app->session_lock, NULL);
    pthread_mutex_init(&app->stats.lock, NULL);
    app->sessions = calloc(SF_SESSIONS, sizeof *app->sessions);
    if (!app->sessions) return AISLE_ENOMEM;
    if (!(app->tpl_layout = load_template(app, "layout.html")) || !(app->tpl_home = load_template(app, "home.html")) ||
        !(app->tpl_product = load_template(app, "product.html")) || !(app->tpl_cart = load_template(app, "cart.html")) ||
        !(app->tpl_admin = load_template(app, "admin.html")) || !(app->css = load_template(app, "style.css")) ||
        !(app->js = load_template(app, "app.js")))
        return AISLE_EIO;
    fprintf(stderr, "storefront: loading %s\n", app->opt.data ? app->opt.data : "the built-in demo store");
    int rc = load_data(app, &events);
    if (!rc) {
        aisle_dataset_user_count(events, &app->n_users);
        aisle_dataset_item_count(events, &app->n_events);
        app->n_items = app->n_events;
        aisle_dataset_event_count(events, &app->n_events);
        fprintf(stderr, "  %zu shoppers, %zu products with events, %zu events\n", app->n_users, app->n_items,
                app->n_events);
        rc = open_models(app, events);
    }
    aisle_dataset_free(events);
    if (rc) return rc;
    pick_shoppers(app);
    if ((rc = sf_search_open(app)) != AISLE_OK) return rc;
    return sf_chat_open(app);
}

void sf_app_close(sf_app *app) {
    sf_search_close(app);
    sf_chat_close(app);
    for (size_t i = 0; i < app->n_models; i++) aisle_model_free(app->models[i].model);
    aisle_catalog_free(app->catalog);
    free(app->sessions);
    free(app->tpl_layout);
    free(app->tpl_home);
    free(app->tpl_product);
    free(app->tpl_cart);
    free(app->tpl_admin);
    free(app->css);
    free(app->js);
    pthread_rwlock_destroy(&app->model_lock);
    pthread_mutex_destroy(&app->session_lock);
    pthread_mutex_destroy(&app->stats.lock);
}

const char *sf_text(const sf_app *app, const char *key, const char *field) {
    const char *out = "";
    if (aisle_catalog_item_text(app->catalog, key, field, &out) != AISLE_OK) out = "";
    return out;
}

const char *sf_title(const sf_app *app, const char *key) { return sf_text(app, key, "title"); }

double sf_price(const sf_app *app, const char *key) {
    double p = NAN;
    aisle_catalog_item_price(app->catalog, key, &p);
    return p;
}

int sf_item_known(const sf_app *app, const char *key) {
    size_t i;
    return aisle_catalog_index(app->catalog, key, &i) == AISLE_OK ||
           aisle_model_item_index(app->best->model, key, &i) == AISLE_OK;
}

int sf_user_known(const sf_app *app, const char *key) {
    size_t i;
    return aisle_model_user_index(app->best->model, key, &i) == AISLE_OK;
}

/* ---- sessions ---- */

static sf_session *find_session(sf_app *app, const char *id) {
    if (!id) return NULL;
    for (size_t i = 0; i < SF_SESSIONS; i++)
        if (app->sessions[i].id[0] && !strcmp(app->sessions[i].id, id)) return &app->sessions[i];
    return NULL;
}

void sf_session_get(sf_app *app, const char *id, sf_session *out) {
    pthread_mutex_lock(&app->session_lock);
    sf_session *s = find_session(app, id);
    if (!s) {
        /* a free slot, else the session seen longest ago */
        s = &app->sessions[0];
        for (size_t i = 0; i < SF_SESSIONS && s->id[0]; i++)
            if (!app->sessions[i].id[0] || app->sessions[i].last_seen < s->last_seen) s = &app->sessions[i];
        memset(s, 0, sizeof *s);
        unsigned char raw[16];
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
            for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)rand();
        for (size_t i = 0; i < sizeof raw; i++) snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
    }
    s->last_seen = time(NULL);
    *out = *s;
    pthread_mutex_unlock(&app->session_lock);
}

void sf_session_set_user(sf_app *app, const char *id, const char *user) {
    pthread_mutex_lock(&app->session_lock);
    sf_session *s = find_session(app, id);
    if (s) {
        snprintf(s->user, sizeof s->user, "%s", user);
        s->n_viewed = s->n_cart = 0; /* a different shopper starts afresh */
    }
    pthread_mutex_unlock(&app->session_lock);
}

void sf_session_view(sf_app *app, const char *id, const char *item) {
    pthread_mutex_lock(&app->session_lock);
    sf_session *s = find_session(app, id);
    if (s) {
        size_t at = 0;
        while (at < s->n_viewed && strcmp(s->viewed[at], item)) at++;
        if (at == s->n_viewed && s->n_viewed < SF_VIEWED) s->n_viewed++;
        if (at == SF_VIEWED) at = SF_VIEWED - 1;
        memmove(s->viewed[1], s->viewed[0], at * sizeof s->viewed[0]);
        snprintf(s->viewed[0], sizeof s->viewed[0], "%s", item);
    }
    pthread_mutex_unlock(&app->session_lock);
}

/* Adds delta to the item's quantity (0 or less removes it).  Returns 0, or
 * -1 when the cart is full or the session is gone. */
int sf_session_cart(sf_app *app, const char *id, const char *item, int delta) {
    int rc = -1;
    pthread_mutex_lock(&app->session_lock);
    sf_session *s = find_session(app, id);
    if (s) {
        size_t at = 0;
        while (at < s->n_cart && strcmp(s->cart[at], item)) at++;
        if (at == s->n_cart && delta > 0 && s->n_cart < SF_CART) {
            snprintf(s->cart[at], sizeof s->cart[at], "%s", item);
            s->qty[at] = 0;
            s->n_cart++;
        }
        if (at < s->n_cart) {
            s->qty[at] = delta > 0 && s->qty[at] + delta <= 99 ? s->qty[at] + delta : delta > 0 ? 99 : 0;
            if (s->qty[at] <= 0) {
                memmove(s->cart[at], s->cart[at + 1], (s->n_cart - at - 1) * sizeof s->cart[0]);
                memmove(&s->qty[at], &s->qty[at + 1], (s->n_cart - at - 1) * sizeof s->qty[0]);
                s->n_cart--;
            }
            rc = 0;
        }
    }
    pthread_mutex_unlock(&app->session_lock);
    return rc;
}

void sf_feedback(sf_app *app, const char *user, const char *item, float weight) {
    const char *items[1] = {item};
    pthread_rwlock_wrlock(&app->model_lock);
    for (size_t i = 0; i < app->n_models; i++) {
        if (&app->models[i] == app->popular) continue; /* trending stays the shop-wide ranking */
        int rc = aisle_update_user(app->models[i].model, user, items, &weight, 1);
        if (rc && rc != AISLE_EUNSUPPORTED && rc != AISLE_ENOTFOUND) fail(rc, "aisle_update_user");
    }
    pthread_rwlock_unlock(&app->model_lock);
    aisle_clear_error();
}

/* ---- request statistics ---- */

void sf_stats_add(sf_stats *s, int kind, int status, double ms) {
    pthread_mutex_lock(&s->lock);
    if (kind == 0) s->pages++;
    else if (kind == 1) s->api++;
    else s->assets++;
    if (status >= 500) s->server_errors++;
    else if (status >= 400) s->client_errors++;
    s->latency_ms[s->next_latency] = ms;
    s->next_latency = (s->next_latency + 1) % SF_LATENCIES;
    if (s->n_latency < SF_LATENCIES) s->n_latency++;
    pthread_mutex_unlock(&s->lock);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void sf_stats_percentiles(sf_stats *s, double *p50, double *p90, double *p99, double *max, uint64_t *counts) {
    double *copy = malloc(SF_LATENCIES * sizeof *copy);
    pthread_mutex_lock(&s->lock);
    size_t n = copy ? s->n_latency : 0;
    if (n) memcpy(copy, s->latency_ms, n * sizeof *copy);
    counts[0] = s->pages;
    counts[1] = s->api;
    counts[2] = s->assets;
    counts[3] = s->client_errors;
    counts[4] = s->server_errors;
    pthread_mutex_unlock(&s->lock);
    *p50 = *p90 = *p99 = *max = 0;
    if (!n) {
        free(copy);
        return;
    }
    qsort(copy, n, sizeof *copy, cmp_double);
    *p50 = copy[(n - 1) / 2];
    *p90 = copy[(size_t)((n - 1) * 0.90)];
    *p99 = copy[(size_t)((n - 1) * 0.99)];
    *max = copy[n - 1];
    free(copy);
}
