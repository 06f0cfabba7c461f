/* pages.c - the HTML pages: home, product, cart, admin and errors.  Each
 * page fills the slots of its template (templates/NAME.html) with fragments
 * built here; every text from the data or the request is escaped. */
#include "store.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW 6 /* cards in a row */

/* ---- fragments ---- */

/* A placeholder picture: the title's initials on a colour of its top
 * category, so products of one department look alike. */
void sf_svg(sf_buf *b, const sf_app *app, const char *key, int size) {
    const char *title = sf_title(app, key), *cat = sf_text(app, key, "category");
    uint32_t h = 2166136261u;
    for (const char *c = cat; *c && *c != '>'; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    unsigned hue = h % 360;
    char initials[16] = "";
    size_t n = 0;
    const char *src = *title ? title : key;
    for (const char *w = src; *w && n < 8;) {
        while (*w == ' ' || *w == '-') w++;
        if (!*w) break;
        size_t len = ((unsigned char)*w < 0x80) ? 1 : ((unsigned char)*w >> 4) == 0xe ? 3 : ((unsigned char)*w >> 5) == 6 ? 2 : 4;
        if (strlen(w) < len) break;
        if (len == 1 && !isalnum((unsigned char)*w)) { /* "&", "-": not a word's initial */
            while (*w && *w != ' ') w++;
            continue;
        }
        memcpy(initials + n, w, len);
        n += len;
        if (len == 1 && initials[n - 1] >= 'a' && initials[n - 1] <= 'z') initials[n - 1] -= 32;
        if (len > 1) { /* a CJK title shows its first character alone */
            memmove(initials, initials + n - len, len);
            n = len;
            break;
        }
        if (n >= 2) break; /* two Latin letters */
        while (*w && *w != ' ' && *w != '-') w++;
    }
    initials[n] = '\0';
    sf_printf(b, "<svg class=\"pic\" width=\"%d\" height=\"%d\" viewBox=\"0 0 100 100\" role=\"img\" aria-label=\"", size,
              size);
    sf_html(b, src);
    sf_printf(b, "\"><rect width=\"100\" height=\"100\" rx=\"10\" fill=\"hsl(%u,55%%,90%%)\"/>"
                 "<circle cx=\"78\" cy=\"22\" r=\"34\" fill=\"hsl(%u,60%%,84%%)\"/>"
                 "<text x=\"50\" y=\"62\" text-anchor=\"middle\" font-family=\"Georgia,serif\" font-size=\"34\" "
                 "fill=\"hsl(%u,45%%,32%%)\">",
              hue, hue, hue);
    sf_html(b, initials);
    sf_put(b, "</text></svg>");
}

static void put_price(sf_buf *b, const sf_app *app, double price) {
    if (!isnan(price)) sf_printf(b, "%s%.2f", app->opt.currency, price);
}

static const char *leaf(const char *category) {
    const char *gt = strrchr(category, '>');
    return gt ? gt + 1 + (gt[1] == ' ') : category;
}

void sf_card(sf_app *app, sf_buf *b, const char *key, const char *why) {
    const char *title = sf_title(app, key);
    sf_put(b, "<a class=\"card\" href=\"/product/");
    sf_url(b, key);
    sf_put(b, "\" data-key=\"");
    sf_html(b, key);
    sf_put(b, "\">");
    sf_svg(b, app, key, 160);
    sf_put(b, "<span class=\"title\">");
    sf_html(b, *title ? title : key);
    sf_put(b, "</span><span class=\"meta\">");
    sf_html(b, leaf(sf_text(app, key, "category")));
    sf_put(b, "<b>");
    put_price(b, app, sf_price(app, key));
    sf_put(b, "</b></span>");
    if (why && *why) {
        sf_put(b, "<span class=\"why\">");
        sf_html(b, why);
        sf_put(b, "</span>");
    }
    sf_put(b, "</a>");
}

void sf_cards(sf_app *app, sf_buf *b, const char *heading, const char *id, const char *const *keys,
              char (*whys)[160], size_t n, const char *empty) {
    sf_printf(b, "<section class=\"row\" id=\"%s\"><h2>", id);
    sf_html(b, heading);
    sf_put(b, "</h2>");
    if (!n) {
        sf_put(b, "<p class=\"empty\">");
        sf_html(b, empty);
        sf_put(b, "</p></section>");
        return;
    }
    sf_put(b, "<div class=\"cards\">");
    for (size_t i = 0; i < n; i++) sf_card(app, b, keys[i], whys ? whys[i] : NULL);
    sf_put(b, "</div></section>");
}

static const char *short_title(const sf_app *app, const char *key, char *buf, size_t len) {
    const char *t = sf_title(app, key);
    if (!*t) t = key;
    if (strlen(t) < len) return t;
    size_t cut = len - 4;
    while (cut && ((unsigned char)t[cut] & 0xc0) == 0x80) cut--; /* never split a UTF-8 character */
    snprintf(buf, len, "%.*s...", (int)cut, t);
    return buf;
}

/* Why a signed-in shopper gets an item: the history item that contributes
 * most to its score (aisle_explain).  Call with the read lock held. */
static void why_user(sf_app *app, const aisle_model *m, const char *user, const char *item, char *out) {
    const char *because[1];
    float share[1];
    size_t n = 0;
    char t[64];
    if (aisle_explain(m, user, item, 1, because, share, &n) == AISLE_OK && n == 1 && share[0] > 0)
        snprintf(out, 160, "Because you chose %s (%.0f%% of the match)", short_title(app, because[0], t, sizeof t),
                 100.0 * share[0]);
    else
        snprintf(out, 160, "Popular with shoppers like you");
    aisle_clear_error();
}

/* Why an anonymous visitor gets an item: which of the session's items has
 * it among its itemknn neighbours ("customers who viewed X ..."). */
static void why_session(sf_app *app, const char *const *items, size_t n, const char *item, char *out) {
    char t[64];
    if (app->itemknn) {
        for (size_t i = 0; i < n; i++) {
            const char *nb[50];
            size_t nn = 0;
            if (aisle_similar_items(app->itemknn->model, items[i], 50, NULL, nb, NULL, &nn)) continue;
            for (size_t j = 0; j < nn; j++)
                if (!strcmp(nb[j], item)) {
                    snprintf(out, 160, "Shoppers who viewed %s chose this too", short_title(app, items[i], t, sizeof t));
                    return;
                }
        }
    }
    aisle_clear_error();
    snprintf(out, 160, "Goes with what you looked at");
}

/* The session's items for fold-in: cart items weigh 3 (a cart event),
 * viewed ones 1. */
static size_t session_items(const sf_session *s, const char **items, float *weights) {
    size_t n = 0;
    for (size_t i = 0; i < s->n_cart; i++) {
        items[n] = s->cart[i];
        weights[n++] = 3.0f;
    }
    for (size_t i = 0; i < s->n_viewed; i++) {
        size_t j = 0;
        while (j < n && strcmp(items[j], s->viewed[i])) j++;
        if (j == n) {
            items[n] = s->viewed[i];
            weights[n++] = 1.0f;
        }
    }
    return n;
}

/* "Recommended for you": the best model for a signed-in shopper, a fold-in
 * of the session's items for a visitor.  Read lock held by the caller. */
static void recommended(sf_app *app, const sf_session *s, sf_buf *b, const char *heading, int k) {
    const char *keys[ROW], *items[SF_CART + SF_VIEWED];
    float weights[SF_CART + SF_VIEWED];
    char whys[ROW][160];
    size_t n = 0, ni = session_items(s, items, weights);
    if (k > ROW) k = ROW;
    if (s->user[0]) {
        if (aisle_recommend(app->best->model, s->user, (size_t)k, NULL, keys, NULL, &n)) n = 0;
        for (size_t i = 0; i < n; i++) why_user(app, app->best->model, s->user, keys[i], whys[i]);
    } else if (ni) {
        if (aisle_recommend_for_items(app->best->model, items, weights, ni, (size_t)k, NULL, keys, NULL, &n)) n = 0;
        for (size_t i = 0; i < n; i++) why_session(app, items, ni, keys[i], whys[i]);
    }
    aisle_clear_error();
    sf_cards(app, b, heading, "recommended", keys, whys, n,
             "Pick a shopper above, or look at a few products: this row then fills with picks for you.");
}

static void trending(sf_app *app, sf_buf *b) {
    const char *keys[ROW];
    float scores[ROW];
    char whys[ROW][160];
    size_t n = 0;
    if (aisle_recommend_for_items(app->popular->model, NULL, NULL, 0, ROW, NULL, keys, scores, &n)) n = 0;
    for (size_t i = 0; i < n; i++) snprintf(whys[i], 160, "Bestseller: chosen by %.0f shoppers", scores[i]);
    sf_cards(app, b, "Trending now", "trending", keys, whys, n, "Nothing is trending yet.");
}

static int cart_count(const sf_session *s) {
    int n = 0;
    for (size_t i = 0; i < s->n_cart; i++) n += s->qty[i];
    return n;
}

void sf_page_layout(sf_app *app, sf_request *r, const char *title, sf_buf *content) {
    sf_buf who = {0}, search = {0}, t = {0};
    char count[16];
    snprintf(count, sizeof count, "%d", cart_count(&r->session));
    if (r->session.user[0]) {
        sf_put(&who, "Shopping as <b>");
        sf_html(&who, r->session.user);
        sf_put(&who, "</b>");
    } else {
        sf_put(&who, "Guest visitor");
    }
    if (app->search) sf_search_box(app, r, &search);
    sf_html(&t, title);
    const char *vars[] = {"title", t.data, "who", who.data, "cart_count", count, "search", search.data,
                          "help", app->chat ? "<a href=\"/help\">Help</a>" : "", "content", content->data,
                          "version", aisle_version(), NULL};
    sf_render(&r->body_out, app->tpl_layout, vars);
    if (content->oom || who.oom || search.oom || t.oom) r->body_out.oom = 1;
    sf_buf_free(&who);
    sf_buf_free(&search);
    sf_buf_free(&t);
}

void sf_error_page(sf_app *app, sf_request *r, int status, const char *message) {
    sf_buf_free(&r->body_out);
    r->status = status;
    if (r->is_api || !app || !r->session.id[0]) {
        if (r->is_api) {
            r->content_type = "application/json";
            sf_printf(&r->body_out, "{\"status\": %d, \"error\": ", status);
            sf_json(&r->body_out, message);
            sf_put(&r->body_out, "}\n");
        } else {
            r->content_type = "text/plain; charset=utf-8";
            sf_printf(&r->body_out, "%d %s\n", status, message);
        }
        return;
    }
    sf_buf c = {0};
    sf_printf(&c, "<section class=\"notice\"><h1>%s</h1><p>", status == 404 ? "Not found" : "Sorry");
    sf_html(&c, message);
    sf_put(&c, "</p><p><a class=\"button\" href=\"/\">Back to the shop</a></p></section>");
    sf_page_layout(app, r, status == 404 ? "Not found" : "Error", &c);
    sf_buf_free(&c);
}

/* ---- pages ---- */

void sf_page_home(sf_app *app, sf_request *r) {
    sf_buf options = {0}, rec = {0}, trend = {0}, viewed = {0}, c = {0}, greeting = {0};
    sf_put(&options, "<option value=\"\">Guest visitor (a session cookie)</option>");
    for (size_t i = 0; i < app->n_shoppers; i++) {
        const sf_shopper *s = &app->shoppers[i];
        sf_put(&options, "<option value=\"");
        sf_html(&options, s->key);
        sf_put(&options, strcmp(s->key, r->session.user) ? "\">" : "\" selected>");
        sf_html(&options, s->key);
        sf_printf(&options, " - %zu products, likes ", s->history);
        sf_html(&options, s->taste[0] ? s->taste : "everything");
        sf_put(&options, "</option>");
    }
    pthread_rwlock_rdlock(&app->model_lock);
    recommended(app, &r->session, &rec, "Recommended for you", ROW);
    trending(app, &trend);
    pthread_rwlock_unlock(&app->model_lock);
    const char *keys[SF_VIEWED];
    for (size_t i = 0; i < r->session.n_viewed; i++) keys[i] = r->session.viewed[i];
    if (r->session.n_viewed) sf_cards(app, &viewed, "Recently viewed", "viewed", keys, NULL, r->session.n_viewed, "");
    if (r->session.user[0]) {
        sf_put(&greeting, "Welcome back, ");
        sf_html(&greeting, r->session.user);
    } else {
        sf_put(&greeting, "Welcome to aisle shop");
    }
    char lead[256];
    snprintf(lead, sizeof lead,
             "%zu products, %zu shoppers. Picks by the %s model, updated as you browse and fill your cart.",
             app->n_items, app->n_users, app->best->kind);
    const char *vars[] = {"greeting", greeting.data, "lead", lead,     "options", options.data, "recommended",
                          rec.data,   "viewed",       viewed.data, "trending", trend.data, NULL};
    sf_render(&c, app->tpl_home, vars);
    sf_page_layout(app, r, "Home", &c);
    sf_buf_free(&options);
    sf_buf_free(&rec);
    sf_buf_free(&trend);
    sf_buf_free(&viewed);
    sf_buf_free(&c);
    sf_buf_free(&greeting);
}

/* How well a product fits a signed-in shopper: its rank in the best
 * model's full ranking for them and the history items behind the score. */
static void fit(sf_app *app, const char *user, const char *item, sf_buf *b) {
    size_t n_items = 0, n = 0, rank = 0;
    aisle_model_item_count(app->best->model, &n_items);
    const char **keys = malloc((n_items ? n_items : 1) * sizeof *keys);
    aisle_rec_options *all = NULL;
    if (!keys || aisle_rec_options_new(&all) || aisle_rec_options_set(all, "exclude_seen", "false") ||
        aisle_recommend(app->best->model, user, n_items, all, keys, NULL, &n))
        n = 0;
    while (rank < n && strcmp(keys[rank], item)) rank++;
    if (rank < n) {
        const char *because[3];
        float share[3];
        size_t nb = 0;
        char t[64];
        sf_printf(b, "<div class=\"fit\" id=\"fit\"><b>%s</b>: #%zu of %zu products for %s (top %.0f%%)",
                  rank < n / 20 ? "A great fit for you" : rank < n / 5 ? "A good fit for you" : "Not your usual style",
                  rank + 1, n, user,
                  ceil(100.0 * (double)(rank + 1) / (double)n));
        /* the product itself is in the history once viewed: name the others */
        if (aisle_explain(app->best->model, user, item, 3, because, share, &nb) == AISLE_OK) {
            for (size_t i = 0, shown = 0; i < nb && shown < 2; i++) {
                if (!strcmp(because[i], item) || share[i] <= 0) continue;
                sf_put(b, shown++ ? " and " : "<br>Because you chose ");
                sf_html(b, short_title(app, because[i], t, sizeof t));
            }
        }
        sf_put(b, "</div>");
    }
    aisle_clear_error();
    aisle_rec_options_free(all);
    free(keys);
}

static void neighbours(sf_app *app, sf_model *m, const char *item, const char *heading, const char *id,
                       const char *why_fmt, sf_buf *b) {
    const char *keys[ROW];
    float scores[ROW];
    char whys[ROW][160];
    size_t n = 0;
    if (!m || aisle_similar_items(m->model, item, ROW, NULL, keys, scores, &n)) n = 0;
    for (size_t i = 0; i < n; i++) snprintf(whys[i], 160, why_fmt, 100.0 * scores[i]);
    aisle_clear_error();
    if (m) sf_cards(app, b, heading, id, keys, whys, n, "No shopper data on this product yet.");
}

void sf_page_product(sf_app *app, sf_request *r, const char *key) {
    if (!*key || strlen(key) > SF_KEY_MAX || !sf_item_known(app, key)) {
        sf_error_page(app, r, 404, "There is no such product in this shop.");
        return;
    }
    sf_session_view(app, r->session.id, key);
    if (r->session.user[0]) sf_feedback(app, r->session.user, key, 1.0f); /* a view event */
    sf_buf pic = {0}, price = {0}, fitb = {0}, attrs = {0}, sim = {0}, also = {0}, c = {0}, crumbs = {0}, k = {0};
    sf_svg(&pic, app, key, 360);
    put_price(&price, app, sf_price(app, key));
    size_t na = 0;
    aisle_catalog_item_attribute_count(app->catalog, key, &na);
    for (size_t i = 0; i < na; i++) {
        const char *name, *value;
        if (aisle_catalog_item_attribute(app->catalog, key, i, &name, &value)) continue;
        sf_put(&attrs, i ? "<tr><th>" : "<table class=\"attrs\"><tr><th>");
        sf_html(&attrs, name);
        sf_put(&attrs, "</th><td>");
        sf_html(&attrs, value);
        sf_put(&attrs, i + 1 == na ? "</td></tr></table>" : "</td></tr>");
    }
    sf_put(&crumbs, "<a href=\"/\">Home</a> / ");
    sf_html(&crumbs, sf_text(app, key, "category"));
    sf_html(&k, key);
    pthread_rwlock_rdlock(&app->model_lock);
    if (r->session.user[0]) fit(app, r->session.user, key, &fitb);
    neighbours(app, app->similar, key, "Similar items", "similar", "Similar shoppers like both (%.0f%% match)", &sim);
    neighbours(app, app->itemknn, key, "Customers also bought", "also-bought", "Bought together (%.0f%% overlap)",
               &also);
    pthread_rwlock_unlock(&app->model_lock);
    sf_buf title = {0}, brand = {0}, desc = {0};
    sf_html(&title, *sf_title(app, key) ? sf_title(app, key) : key);
    sf_html(&brand, sf_text(app, key, "brand"));
    sf_html(&desc, sf_text(app, key, "description"));
    const char *vars[] = {"crumbs", crumbs.data, "picture", pic.data,   "title",       title.data,
                          "brand",  brand.data,  "price",   price.data, "fit",         fitb.data,
                          "key",    k.data,      "description", desc.data, "attributes", attrs.data,
                          "similar", sim.data,   "also",    also.data,  NULL};
    sf_render(&c, app->tpl_product, vars);
    sf_page_layout(app, r, *sf_title(app, key) ? sf_title(app, key) : key, &c);
    sf_buf *all[] = {&pic, &price, &fitb, &attrs, &sim, &also, &c, &crumbs, &k, &title, &brand, &desc};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) sf_buf_free(all[i]);
}

void sf_page_cart(sf_app *app, sf_request *r) {
    sf_buf lines = {0}, recs = {0}, c = {0};
    const sf_session *s = &r->session;
    double total = 0;
    if (!s->n_cart) sf_put(&lines, "<p class=\"empty\">Your cart is empty.</p>");
    else sf_put(&lines, "<table class=\"cart\"><tr><th></th><th>Product</th><th>Price</th><th>Qty</th><th></th></tr>");
    for (size_t i = 0; i < s->n_cart; i++) {
        double p = sf_price(app, s->cart[i]);
        if (!isnan(p)) total += p * s->qty[i];
        sf_put(&lines, "<tr><td>");
        sf_svg(&lines, app, s->cart[i], 56);
        sf_put(&lines, "</td><td><a href=\"/product/");
        sf_url(&lines, s->cart[i]);
        sf_put(&lines, "\">");
        sf_html(&lines, *sf_title(app, s->cart[i]) ? sf_title(app, s->cart[i]) : s->cart[i]);
        sf_put(&lines, "</a></td><td>");
        put_price(&lines, app, p);
        sf_printf(&lines, "</td><td>%d</td><td><form method=\"post\" action=\"/cart/remove\">"
                          "<input type=\"hidden\" name=\"item\" value=\"", s->qty[i]);
        sf_html(&lines, s->cart[i]);
        sf_put(&lines, "\"><button class=\"link\" type=\"submit\">Remove</button></form></td></tr>");
    }
    if (s->n_cart) {
        sf_put(&lines, "<tr class=\"total\"><td></td><td>Total</td><td>");
        put_price(&lines, app, total);
        sf_put(&lines, "</td><td></td><td></td></tr></table>");
    }
    pthread_rwlock_rdlock(&app->model_lock);
    recommended(app, s, &recs, "Complete your order", ROW);
    pthread_rwlock_unlock(&app->model_lock);
    const char *vars[] = {"lines", lines.data, "recs", recs.data, NULL};
    sf_render(&c, app->tpl_cart, vars);
    sf_page_layout(app, r, "Cart", &c);
    sf_buf_free(&lines);
    sf_buf_free(&recs);
    sf_buf_free(&c);
}

static void metric_cell(sf_buf *b, double v) {
    if (isnan(v)) sf_put(b, "<td>-</td>");
    else sf_printf(b, "<td>%.4f</td>", v);
}

void sf_page_admin(sf_app *app, sf_request *r) {
    sf_buf models = {0}, reqs = {0}, intent = {0}, data = {0}, c = {0};
    sf_put(&models, "<table class=\"grid\" id=\"models\"><tr><th>Model</th><th>Role</th><th>Source</th>"
                    "<th>Training</th><th>nDCG@10</th><th>HR@10</th><th>Precision@10</th><th>Coverage</th></tr>");
    for (size_t i = 0; i < app->n_models; i++) {
        const sf_model *m = &app->models[i];
        const char *role = m == app->best ? "Recommended for you" : m == app->popular ? "Trending"
                         : m == app->itemknn ? "Customers also bought" : m == app->similar ? "Similar items" : "-";
        if (m == app->best && m == app->itemknn) role = "Recommended for you, Customers also bought";
        sf_printf(&models, "<tr><td><b>%s</b></td><td>%s</td><td>%s</td><td>%.1f s</td>", m->kind, role,
                  m->loaded ? "loaded from file" : app->opt.refit ? "trained, refit on all" : "trained", m->train_seconds);
        metric_cell(&models, m->ndcg);
        metric_cell(&models, m->hr);
        metric_cell(&models, m->precision);
        metric_cell(&models, m->coverage);
        sf_put(&models, "</tr>");
    }
    sf_put(&models, "</table><p class=\"note\">Held-out split: ");
    sf_html(&models, app->split);
    sf_put(&models, ".</p>");
    double p50, p90, p99, max;
    uint64_t counts[5];
    sf_stats_percentiles(&app->stats, &p50, &p90, &p99, &max, counts);
    sf_printf(&reqs, "<table class=\"grid\" id=\"requests\"><tr><th>Pages</th><th>API</th><th>Assets</th>"
                     "<th>4xx</th><th>5xx</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>"
                     "<tr><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%.2f ms</td>"
                     "<td>%.2f ms</td><td>%.2f ms</td><td>%.2f ms</td></tr></table>"
                     "<p class=\"note\">Latency percentiles over the latest %d requests, from the first byte of the "
                     "request to the last byte of the answer.</p>",
              (unsigned long long)counts[0], (unsigned long long)counts[1], (unsigned long long)counts[2],
              (unsigned long long)counts[3], (unsigned long long)counts[4], p50, p90, p99, max, SF_LATENCIES);
    sf_printf(&data, "<ul class=\"facts\"><li><b>%zu</b> shoppers</li><li><b>%zu</b> products with events</li>"
                     "<li><b>%zu</b> events</li><li>up <b>%.0f</b> min</li><li>libaisle <b>%s</b></li></ul>",
              app->n_users, app->n_items, app->n_events, difftime(time(NULL), app->started) / 60.0, aisle_version());
    if (app->chat) sf_chat_admin(app, &intent);
    const char *vars[] = {"data", data.data, "models", models.data, "intent", intent.data, "requests", reqs.data, NULL};
    sf_render(&c, app->tpl_admin, vars);
    sf_page_layout(app, r, "Admin", &c);
    sf_buf *all[] = {&models, &reqs, &intent, &data, &c};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) sf_buf_free(all[i]);
}

/* Without the library's search or intent classification the shop simply
 * has no search box and no help page. */
#ifndef STOREFRONT_HAVE_SEARCH
int sf_search_open(sf_app *app) { (void)app; return AISLE_OK; }
void sf_search_close(sf_app *app) { (void)app; }
void sf_search_box(sf_app *app, sf_request *r, sf_buf *b) { (void)app; (void)r; (void)b; }
void sf_page_search(sf_app *app, sf_request *r) { sf_error_page(app, r, 404, "no search"); }
void sf_api_search(sf_app *app, sf_request *r, int suggest) { (void)suggest; sf_error_page(app, r, 404, "no search"); }
#endif
#ifndef STOREFRONT_HAVE_CHAT
int sf_chat_open(sf_app *app) { (void)app; return AISLE_OK; }
void sf_chat_close(sf_app *app) { (void)app; }
void sf_page_help(sf_app *app, sf_request *r) { sf_error_page(app, r, 404, "no help chat"); }
void sf_api_chat(sf_app *app, sf_request *r) { sf_error_page(app, r, 404, "no help chat"); }
void sf_chat_admin(sf_app *app, sf_buf *b) { (void)app; (void)b; }
#endif
