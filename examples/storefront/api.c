/* api.c - the JSON API beside the pages, for shop back-ends that call the
 * models over HTTP (docs/STOREFRONT.md lists every endpoint).  Read-only:
 * GET only, no session; errors are {"status": N, "error": "..."}. */
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define API_ITEMS_MAX 20 /* items of a session passed to /api/recommend */

static void json_start(sf_request *r) { r->content_type = "application/json"; }

static void put_item(sf_app *app, sf_buf *b, const char *key, double score, const char *why) {
    sf_put(b, "{\"item\": ");
    sf_json(b, key);
    sf_put(b, ", \"title\": ");
    sf_json(b, sf_title(app, key));
    if (!isnan(score)) sf_printf(b, ", \"score\": %.6g", score);
    double price = sf_price(app, key);
    if (!isnan(price)) sf_printf(b, ", \"price\": %.2f", price);
    if (why) {
        sf_put(b, ", \"why\": ");
        sf_json(b, why);
    }
    sf_put(b, "}");
}

static void put_list(sf_app *app, sf_buf *b, const char *const *keys, const float *scores, size_t n) {
    sf_put(b, "\"items\": [");
    for (size_t i = 0; i < n; i++) {
        sf_put(b, i ? ", " : "");
        put_item(app, b, keys[i], scores[i], NULL);
    }
    sf_put(b, "]}\n");
}

/* "a,b,c" -> keys (pointers into buf).  Returns the count or -1. */
static int split_items(char *buf, const char **keys) {
    int n = 0;
    for (char *save = NULL, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        if (n == API_ITEMS_MAX || strlen(k) > SF_KEY_MAX) return -1;
        keys[n++] = k;
    }
    return n;
}

static void api_recommend(sf_app *app, sf_request *r) {
    const char *user = sf_param_get(r, "user"), *items_text = sf_param_get(r, "items"), *keys[SF_K_MAX];
    const char *items[API_ITEMS_MAX];
    float scores[SF_K_MAX];
    size_t k, n = 0;
    char buf[API_ITEMS_MAX * (SF_KEY_MAX + 1) + 1];
    if (sf_param_k(r, 10, &k)) return;
    if (!user == !items_text) {
        sf_error_page(app, r, 400, "give exactly one of user=KEY or items=KEY,KEY,...");
        return;
    }
    if (user && sf_param_key(r, "user", &user)) return;
    int ni = 0;
    if (items_text) {
        if (strlen(items_text) >= sizeof buf || (ni = split_items(strcpy(buf, items_text), items)) < 0) {
            sf_error_page(app, r, 400, "items: at most 20 keys of at most 64 bytes, separated by commas");
            return;
        }
    }
    pthread_rwlock_rdlock(&app->model_lock);
    int rc = user ? aisle_recommend(app->best->model, user, k, NULL, keys, scores, &n)
                  : aisle_recommend_for_items(app->best->model, items, NULL, (size_t)ni, k, NULL, keys, scores, &n);
    if (rc) {
        pthread_rwlock_unlock(&app->model_lock);
        sf_error_page(app, r, 500, aisle_last_error());
        return;
    }
    json_start(r);
    sf_put(&r->body_out, "{\"model\": ");
    sf_json(&r->body_out, app->best->kind);
    if (user) sf_printf(&r->body_out, ", \"known_user\": %s", sf_user_known(app, user) ? "true" : "false");
    sf_put(&r->body_out, ", ");
    put_list(app, &r->body_out, keys, scores, n);
    pthread_rwlock_unlock(&app->model_lock);
}

static void api_similar(sf_app *app, sf_request *r) {
    const char *item, *which = sf_param_get(r, "model"), *keys[SF_K_MAX];
    float scores[SF_K_MAX];
    size_t k, n = 0;
    if (sf_param_key(r, "item", &item) || sf_param_k(r, 10, &k)) return;
    sf_model *m = app->similar ? app->similar : app->best;
    if (which && !strcmp(which, "itemknn") && app->itemknn) m = app->itemknn;
    else if (which && strcmp(which, m->kind)) {
        sf_error_page(app, r, 400, "model: give the kind of the similar items (see /api/stats) or itemknn");
        return;
    }
    pthread_rwlock_rdlock(&app->model_lock);
    int rc = aisle_similar_items(m->model, item, k, NULL, keys, scores, &n);
    if (rc) {
        pthread_rwlock_unlock(&app->model_lock);
        sf_error_page(app, r, rc == AISLE_ENOTFOUND ? 404 : 500, rc == AISLE_ENOTFOUND ? "unknown item" : aisle_last_error());
        return;
    }
    json_start(r);
    sf_put(&r->body_out, "{\"model\": ");
    sf_json(&r->body_out, m->kind);
    sf_put(&r->body_out, ", \"item\": ");
    sf_json(&r->body_out, item);
    sf_put(&r->body_out, ", ");
    put_list(app, &r->body_out, keys, scores, n);
    pthread_rwlock_unlock(&app->model_lock);
}

static void api_trending(sf_app *app, sf_request *r) {
    const char *keys[SF_K_MAX];
    float scores[SF_K_MAX];
    size_t k, n = 0;
    if (sf_param_k(r, 10, &k)) return;
    if (aisle_recommend_for_items(app->popular->model, NULL, NULL, 0, k, NULL, keys, scores, &n)) {
        sf_error_page(app, r, 500, aisle_last_error());
        return;
    }
    json_start(r);
    sf_put(&r->body_out, "{\"model\": \"popular\", ");
    put_list(app, &r->body_out, keys, scores, n);
}

static void api_explain(sf_app *app, sf_request *r) {
    const char *user, *item, *because[10];
    float shares[10], score = NAN;
    size_t n = 0;
    if (sf_param_key(r, "user", &user) || sf_param_key(r, "item", &item)) return;
    pthread_rwlock_rdlock(&app->model_lock);
    int rc = aisle_score(app->best->model, user, item, &score);
    if (!rc) rc = aisle_explain(app->best->model, user, item, 10, because, shares, &n);
    if (rc) {
        pthread_rwlock_unlock(&app->model_lock);
        sf_error_page(app, r, rc == AISLE_ENOTFOUND ? 404 : 500, rc == AISLE_ENOTFOUND ? "unknown user or item"
                                                                                      : aisle_last_error());
        return;
    }
    json_start(r);
    sf_put(&r->body_out, "{\"model\": ");
    sf_json(&r->body_out, app->best->kind);
    sf_printf(&r->body_out, ", \"score\": %.6g, \"because\": [", score);
    for (size_t i = 0; i < n; i++) {
        sf_put(&r->body_out, i ? ", " : "");
        put_item(app, &r->body_out, because[i], shares[i], NULL);
    }
    sf_put(&r->body_out, "]}\n");
    pthread_rwlock_unlock(&app->model_lock);
}

static void api_product(sf_app *app, sf_request *r) {
    const char *item;
    if (sf_param_key(r, "item", &item)) return;
    if (!sf_item_known(app, item)) {
        sf_error_page(app, r, 404, "unknown item");
        return;
    }
    json_start(r);
    sf_buf *b = &r->body_out;
    sf_put(b, "{\"item\": ");
    sf_json(b, item);
    static const char *const fields[] = {"title", "description", "category", "brand"};
    for (size_t i = 0; i < 4; i++) {
        sf_printf(b, ", \"%s\": ", fields[i]);
        sf_json(b, sf_text(app, item, fields[i]));
    }
    double price = sf_price(app, item);
    if (!isnan(price)) sf_printf(b, ", \"price\": %.2f", price);
    sf_put(b, "}\n");
}

static void api_stats(sf_app *app, sf_request *r) {
    double p50, p90, p99, max;
    uint64_t c[5];
    sf_stats_percentiles(&app->stats, &p50, &p90, &p99, &max, c);
    json_start(r);
    sf_buf *b = &r->body_out;
    sf_put(b, "{\"models\": [");
    for (size_t i = 0; i < app->n_models; i++) {
        const sf_model *m = &app->models[i];
        sf_printf(b, "%s{\"kind\": \"%s\", \"best\": %s", i ? ", " : "", m->kind, m == app->best ? "true" : "false");
        if (!isnan(m->ndcg)) sf_printf(b, ", \"ndcg@10\": %.6g, \"hr@10\": %.6g", m->ndcg, m->hr);
        sf_put(b, "}");
    }
    sf_printf(b, "], \"search\": %s, \"chat\": %s, \"requests\": {\"pages\": %llu, \"api\": %llu, \"assets\": %llu, "
                 "\"4xx\": %llu, \"5xx\": %llu}, \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
                 "\"max\": %.3f}}\n",
              app->search ? "true" : "false", app->chat ? "true" : "false", (unsigned long long)c[0],
              (unsigned long long)c[1], (unsigned long long)c[2], (unsigned long long)c[3], (unsigned long long)c[4],
              p50, p90, p99, max);
}

int sf_api(sf_app *app, sf_request *r) {
    const char *p = r->path + 4; /* after "/api" */
    if (!strcmp(p, "/recommend")) api_recommend(app, r);
    else if (!strcmp(p, "/similar")) api_similar(app, r);
    else if (!strcmp(p, "/trending")) api_trending(app, r);
    else if (!strcmp(p, "/explain")) api_explain(app, r);
    else if (!strcmp(p, "/product")) api_product(app, r);
    else if (!strcmp(p, "/stats")) api_stats(app, r);
    else if (app->search && !strcmp(p, "/search")) sf_api_search(app, r, 0);
    else if (app->search && !strcmp(p, "/suggest")) sf_api_search(app, r, 1);
    else if (app->chat && !strcmp(p, "/chat")) sf_api_chat(app, r);
    else return 0;
    aisle_clear_error();
    return 1;
}
