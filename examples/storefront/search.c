/* search.c - the search box, its autocomplete and the results page, over
 * the library's product search (aisle_search, aisle_suggest).  Built only
 * when aisle.h has them (build.sh passes -DSTOREFRONT_HAVE_SEARCH).
 * Results are personalised with the best model: for a signed-in shopper by
 * their key, for a guest by the session's items. */
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RESULTS 18

typedef struct sf_search {
    aisle_search_index *index;
    aisle_config *cfg; /* search_facets=category */
} sf_search;

int sf_search_open(sf_app *app) {
    sf_search *s = calloc(1, sizeof *s);
    if (!s) return AISLE_ENOMEM;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = aisle_search_index_new(&s->index);
    if (!rc) rc = aisle_search_index_build(s->index, app->catalog, NULL);
    if (!rc) rc = aisle_search_index_set_popularity(s->index, app->popular->model);
    if (!rc) rc = aisle_config_new(&s->cfg);
    if (!rc) rc = aisle_config_set(s->cfg, "search_facets", "category");
    if (rc) {
        fprintf(stderr, "storefront: search index: %s (%s)\n", aisle_strerror(rc), aisle_last_error());
        aisle_search_index_free(s->index);
        aisle_config_free(s->cfg);
        free(s);
        return rc;
    }
    size_t n = 0;
    aisle_search_index_count(s->index, &n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "  indexed %zu products for search in %.2f s\n", n,
            (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    app->search = s;
    return AISLE_OK;
}

void sf_search_close(sf_app *app) {
    sf_search *s = app->search;
    if (!s) return;
    aisle_search_index_free(s->index);
    aisle_config_free(s->cfg);
    free(s);
    app->search = NULL;
}

void sf_search_box(sf_app *app, sf_request *r, sf_buf *b) {
    const char *q = !strcmp(r->path, "/search") ? sf_param_get(r, "q") : NULL;
    sf_put(b, "<form class=\"search\" action=\"/search\" role=\"search\">"
              "<input id=\"q\" name=\"q\" list=\"suggestions\" maxlength=\"200\" autocomplete=\"off\" "
              "placeholder=\"Search products, brands, categories\" aria-label=\"Search\" value=\"");
    sf_html(b, q && strlen(q) <= SF_QUERY_MAX ? q : "");
    sf_put(b, "\"><datalist id=\"suggestions\"></datalist><button type=\"submit\">Search</button></form>");
    (void)app;
}

/* Runs a query for a page or the API: the session's shopper or items
 * personalise it.  Call with the model read lock held. */
static int run(sf_app *app, sf_request *r, const char *q, const char *category, size_t k,
               aisle_search_results **out) {
    sf_search *s = app->search;
    char filter[SF_QUERY_MAX + 16];
    const char *filters[1] = {filter};
    const char *items[SF_CART + SF_VIEWED];
    size_t ni = 0;
    snprintf(filter, sizeof filter, "category=%s", category ? category : "");
    for (size_t i = 0; i < r->session.n_cart; i++) items[ni++] = r->session.cart[i];
    for (size_t i = 0; i < r->session.n_viewed; i++) items[ni++] = r->session.viewed[i];
    const char *user = r->session.user[0] ? r->session.user : NULL;
    return aisle_search(s->index, q, AISLE_NUL_TERMINATED, k, filters, category && *category ? 1 : 0,
                        app->best->model, user, user ? NULL : items, user ? 0 : ni, s->cfg, out);
}

void sf_page_search(sf_app *app, sf_request *r) {
    const char *q, *category;
    if (sf_param_text(r, "q", &q) || sf_param_text(r, "category", &category)) return;
    sf_buf c = {0};
    aisle_search_results *res = NULL;
    size_t n = 0, total = 0;
    pthread_rwlock_rdlock(&app->model_lock);
    int rc = *q ? run(app, r, q, category, RESULTS, &res) : AISLE_OK;
    pthread_rwlock_unlock(&app->model_lock);
    if (rc) {
        sf_error_page(app, r, rc == AISLE_EINVAL ? 400 : 500, aisle_last_error());
        return;
    }
    aisle_search_results_count(res, &n);
    aisle_search_results_total(res, &total);
    sf_put(&c, "<h1>");
    if (*q) {
        sf_printf(&c, "%zu result%s for &ldquo;", total, total == 1 ? "" : "s");
        sf_html(&c, q);
        sf_put(&c, "&rdquo;");
    } else {
        sf_put(&c, "Search");
    }
    sf_put(&c, "</h1>");
    size_t nf = 0, nv = 0;
    if (res && !aisle_search_results_facet_count(res, &nf) && nf && !aisle_search_results_facet(res, 0, NULL, &nv) && nv) {
        sf_put(&c, "<div class=\"facets\">");
        for (size_t i = 0; i < nv && i < 12; i++) {
            const char *value;
            size_t count;
            if (aisle_search_results_facet_value(res, 0, i, &value, &count)) continue;
            sf_put(&c, "<a href=\"/search?q=");
            sf_url(&c, q);
            sf_put(&c, "&amp;category=");
            sf_url(&c, value);
            sf_put(&c, "\">");
            sf_html(&c, value);
            sf_printf(&c, " (%zu)</a>", count);
        }
        sf_put(&c, "</div>");
    }
    const char *keys[RESULTS];
    char whys[RESULTS][160];
    /* a short reason on the card; /api/search carries the full explanation */
    for (size_t i = 0; i < n && i < RESULTS; i++) {
        const char *why = "", *terms = "";
        aisle_search_results_hit(res, i, &keys[i], NULL);
        aisle_search_results_explain(res, i, &why);
        aisle_search_results_matched(res, i, &terms);
        const char *moved = strstr(why, "moved it from rank ");
        size_t from = 0, to = 0;
        int typo = strstr(why, "edit)") != NULL;
        int personal = moved && sscanf(moved, "moved it from rank %zu to %zu", &from, &to) == 2 && to < from;
        snprintf(whys[i], sizeof whys[i], "%s%.90s%s%s", *terms ? "Matches " : "Found by shopping patterns",
                 terms, typo ? " (spelling corrected)" : "", personal ? " · moved up for you" : "");
    }
    sf_cards(app, &c, *category ? category : "Products", "results", keys, whys, n,
             *q ? "Nothing matches. Try fewer or other words." : "Type what you are looking for above.");
    sf_page_layout(app, r, *q ? q : "Search", &c);
    aisle_search_results_free(res);
    sf_buf_free(&c);
    aisle_clear_error();
}

void sf_api_search(sf_app *app, sf_request *r, int suggest) {
    const char *q, *category;
    size_t k, n = 0, total = 0;
    if (sf_param_text(r, "q", &q) || sf_param_text(r, "category", &category) || sf_param_k(r, 10, &k)) return;
    if (!*q) {
        sf_error_page(app, r, 400, "missing parameter 'q'");
        return;
    }
    const char *user = sf_param_get(r, "user"); /* optional: personalise for this shopper */
    if (user && sf_param_key(r, "user", &user)) return;
    if (user) snprintf(r->session.user, sizeof r->session.user, "%s", user);
    aisle_search_results *res = NULL;
    pthread_rwlock_rdlock(&app->model_lock);
    int rc = suggest ? aisle_suggest(((sf_search *)app->search)->index, q, AISLE_NUL_TERMINATED, k, NULL, &res)
                     : run(app, r, q, category, k, &res);
    pthread_rwlock_unlock(&app->model_lock);
    if (rc) {
        sf_error_page(app, r, rc == AISLE_EINVAL ? 400 : 500, aisle_last_error());
        return;
    }
    aisle_search_results_count(res, &n);
    aisle_search_results_total(res, &total);
    r->content_type = "application/json";
    sf_buf *b = &r->body_out;
    sf_put(b, suggest ? "{\"suggestions\": [" : "{\"query\": ");
    if (!suggest) {
        sf_json(b, q);
        sf_printf(b, ", \"total\": %zu, \"items\": [", total);
    }
    for (size_t i = 0; i < n; i++) {
        const char *key = "", *why = "";
        double score = NAN;
        aisle_search_results_hit(res, i, &key, &score);
        sf_put(b, i ? ", " : "");
        if (suggest) {
            sf_json(b, key);
            continue;
        }
        aisle_search_results_explain(res, i, &why);
        sf_put(b, "{\"item\": ");
        sf_json(b, key);
        sf_put(b, ", \"title\": ");
        sf_json(b, sf_title(app, key));
        sf_printf(b, ", \"score\": %.6g, \"why\": ", score);
        sf_json(b, why);
        sf_put(b, "}");
    }
    sf_put(b, "]}\n");
    aisle_search_results_free(res);
}
