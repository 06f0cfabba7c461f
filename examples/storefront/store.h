/* store.h - the storefront example: one small web shop over libmicrohttpd
 * that shows what aisle does for a shop (docs/STOREFRONT.md).
 *
 * Files: main.c (options, start-up, signals), store.c (data, models,
 * sessions, request statistics), http.c (libmicrohttpd glue: parsing,
 * validation, routing, responses), text.c (buffers, escaping, templates),
 * pages.c (HTML pages), api.c (JSON API), search.c and chat.c (only built
 * when the library has product search / intent classification).
 *
 * Threads: libmicrohttpd serves requests on a small thread pool.  The
 * models are shared by every request under a read-write lock: recommending
 * reads, aisle_update_user (a signed-in shopper's cart) writes.  Sessions
 * and statistics have their own mutexes. */
#ifndef STOREFRONT_STORE_H
#define STOREFRONT_STORE_H

#include <aisle.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SF_KEY_MAX 64     /* longest user or item key accepted from a request */
#define SF_QUERY_MAX 200  /* longest search or chat text accepted */
#define SF_K_MAX 100      /* largest k of the API */
#define SF_MODELS_MAX 6
#define SF_SHOPPERS 12    /* sample shoppers offered on the home page */
#define SF_SESSIONS 1024  /* live sessions kept; the oldest is reused */
#define SF_VIEWED 8       /* recently viewed items kept per session */
#define SF_CART 24        /* distinct items a cart holds */
#define SF_LATENCIES 8192 /* request latencies kept for the percentiles */

/* ---- text.c: growing buffers, escaping, templates ---- */

/* A growing byte buffer; an allocation failure sets oom and later writes are
 * dropped, so callers check once at the end. */
typedef struct sf_buf {
    char *data;
    size_t len, cap;
    int oom;
} sf_buf;

void sf_buf_free(sf_buf *b);
void sf_put(sf_buf *b, const char *s);
void sf_putn(sf_buf *b, const char *s, size_t n);
void sf_printf(sf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sf_html(sf_buf *b, const char *s);  /* HTML text and attribute escaping */
void sf_url(sf_buf *b, const char *s);   /* percent-encoding of a path segment or query value */
void sf_json(sf_buf *b, const char *s);  /* a JSON string literal, quotes included */
int sf_utf8_valid(const char *s, size_t n);
/* Fills tpl's {{name}} slots from vars (name, value pairs, NULL-terminated);
 * values are inserted as given (callers escape them). */
void sf_render(sf_buf *b, const char *tpl, const char *const *vars);
/* Reads a whole file into a new NUL-terminated buffer (NULL on failure). */
char *sf_read_file(const char *path);

/* ---- store.c: the shop's data and models ---- */

typedef struct sf_model {
    char kind[32];
    aisle_model *model;
    double ndcg, hr, precision, coverage; /* on the held-out split (NaN: not measured) */
    double train_seconds;
    int loaded; /* read from --model-dir instead of trained */
} sf_model;

typedef struct sf_shopper {
    char key[SF_KEY_MAX + 1];
    char taste[96];   /* the category most of their history falls in */
    size_t history;
} sf_shopper;

typedef struct sf_session {
    char id[33];
    char user[SF_KEY_MAX + 1]; /* "" = anonymous */
    char viewed[SF_VIEWED][SF_KEY_MAX + 1];
    size_t n_viewed;           /* most recent first */
    char cart[SF_CART][SF_KEY_MAX + 1];
    int qty[SF_CART];
    size_t n_cart;
    time_t last_seen;
} sf_session;

typedef struct sf_stats {
    pthread_mutex_t lock;
    uint64_t pages, api, assets, client_errors, server_errors;
    double latency_ms[SF_LATENCIES]; /* a ring of the latest requests */
    size_t n_latency, next_latency;
} sf_stats;

typedef struct sf_options {
    const char *listen;        /* "127.0.0.1:8080" */
    const char *data, *data_options;       /* events file and its aisle options */
    const char *catalog, *catalog_options; /* catalog file and its options */
    const char *messages, *messages_options; /* labelled help messages (chat) */
    const char *kinds;         /* model kinds to train, comma-separated */
    const char *model_dir;     /* load KIND.aisle from here when present, save there after training */
    const char *templates;     /* folder of the HTML templates, CSS and JS */
    const char *currency;
    const char *demo;          /* aisle options for the built-in demo store */
    int threads, refit, quiet;
} sf_options;

typedef struct sf_app {
    sf_options opt;
    aisle_catalog *catalog;
    sf_model models[SF_MODELS_MAX];
    size_t n_models;
    sf_model *best, *popular, *itemknn, *similar; /* roles; similar: best factor kind */
    char split[64];            /* how the held-out metrics were measured */
    size_t n_users, n_items, n_events;
    sf_shopper shoppers[SF_SHOPPERS];
    size_t n_shoppers;
    pthread_rwlock_t model_lock;
    pthread_mutex_t session_lock;
    sf_session *sessions;
    sf_stats stats;
    char *tpl_layout, *tpl_home, *tpl_product, *tpl_cart, *tpl_admin, *css, *js;
    void *search; /* search.c's state, NULL when built without search */
    void *chat;   /* chat.c's state, NULL when built without chat */
    time_t started;
} sf_app;

int sf_app_open(sf_app *app);   /* loads data, trains or loads models; prints progress */
void sf_app_close(sf_app *app);
const char *sf_title(const sf_app *app, const char *key); /* "" when unknown */
const char *sf_text(const sf_app *app, const char *key, const char *field);
double sf_price(const sf_app *app, const char *key);
int sf_item_known(const sf_app *app, const char *key);
int sf_user_known(const sf_app *app, const char *key);

/* Sessions: get copies a session out (creating one when id is NULL or
 * unknown; *id_out receives its id); the other calls change it in place. */
void sf_session_get(sf_app *app, const char *id, sf_session *out);
void sf_session_set_user(sf_app *app, const char *id, const char *user);
void sf_session_view(sf_app *app, const char *id, const char *item);
int sf_session_cart(sf_app *app, const char *id, const char *item, int delta);

/* Feeds a signed-in shopper's event back into the models (write lock). */
void sf_feedback(sf_app *app, const char *user, const char *item, float weight);

void sf_stats_add(sf_stats *s, int kind, int status, double ms);
void sf_stats_percentiles(sf_stats *s, double *p50, double *p90, double *p99, double *max, uint64_t *counts);

/* ---- pages.c and api.c: request handlers ---- */

/* One request as the handlers see it: validated parameters, the session
 * (pages only) and what to answer. */
typedef struct sf_param {
    char *name, *value;
} sf_param;

typedef struct sf_request {
    sf_app *app;
    const char *method, *path; /* path decoded; query parsed into params */
    sf_param params[16];
    size_t n_params;
    const char *body;          /* POST form body (x-www-form-urlencoded), parsed into params too */
    sf_session session;        /* snapshot of the caller's session (pages) */
    int new_session;
    int is_api;                /* errors answer JSON instead of a page */
    /* the answer */
    int status;
    const char *content_type;
    const char *location;      /* redirect target */
    char location_buf[256];
    sf_buf body_out;
} sf_request;

const char *sf_param_get(const sf_request *r, const char *name);
int sf_param_key(sf_request *r, const char *name, const char **out); /* 0 ok, else sets 400 */
int sf_param_k(sf_request *r, size_t dflt, size_t *out);
int sf_param_text(sf_request *r, const char *name, const char **out);
void sf_error_page(sf_app *app, sf_request *r, int status, const char *message);

void sf_page_home(sf_app *app, sf_request *r);
void sf_page_product(sf_app *app, sf_request *r, const char *key);
void sf_page_cart(sf_app *app, sf_request *r);
void sf_page_admin(sf_app *app, sf_request *r);
void sf_page_layout(sf_app *app, sf_request *r, const char *title, sf_buf *content);
void sf_card(sf_app *app, sf_buf *b, const char *key, const char *why);
void sf_cards(sf_app *app, sf_buf *b, const char *heading, const char *id, const char *const *keys,
              char (*whys)[160], size_t n, const char *empty);
void sf_svg(sf_buf *b, const sf_app *app, const char *key, int size);

int sf_api(sf_app *app, sf_request *r); /* 1 when the path was an API path */

/* ---- search.c and chat.c (optional) ---- */
int sf_search_open(sf_app *app);
void sf_search_close(sf_app *app);
void sf_search_box(sf_app *app, sf_request *r, sf_buf *b);
void sf_page_search(sf_app *app, sf_request *r);
void sf_api_search(sf_app *app, sf_request *r, int suggest);

int sf_chat_open(sf_app *app);
void sf_chat_close(sf_app *app);
void sf_page_help(sf_app *app, sf_request *r);
void sf_api_chat(sf_app *app, sf_request *r);
void sf_chat_admin(sf_app *app, sf_buf *b);

/* ---- http.c ---- */
int sf_serve(sf_app *app); /* runs until SIGINT/SIGTERM */

#endif
