/* http.c - libmicrohttpd glue: the raw request line is parsed here (strict
 * percent-decoding, UTF-8, sizes), parameters are validated, requests are
 * routed to the pages and the API, and SIGINT/SIGTERM stop the server
 * cleanly.  libmicrohttpd itself answers requests it cannot parse (400) and
 * request lines over its memory limit (414). */
#include "store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SF_URI_MAX 4096  /* longer request targets get 414 */
#define SF_BODY_MAX 4096 /* longer form posts get 413 */

/* Per-connection state from the first byte of the request to its end. */
typedef struct sf_conn {
    struct timespec t0;
    char *uri;  /* the raw request target, before libmicrohttpd decodes it */
    sf_buf body;
    int kind;   /* 0 page, 1 API, 2 asset */
    int status; /* 0 until the handler answered */
    int started; /* a POST's first call (headers) has been seen */
} sf_conn;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
    sf_conn *conn = calloc(1, sizeof *conn);
    if (!conn) return NULL;
    clock_gettime(CLOCK_MONOTONIC, &conn->t0);
    conn->uri = strdup(uri ? uri : "");
    if (!conn->uri) {
        free(conn);
        return NULL; /* on_request then drops the connection */
    }
    (void)cls;
    (void)c;
    return conn;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    sf_app *app = cls;
    sf_conn *conn = *con_cls;
    if (!conn) return;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - conn->t0.tv_sec) * 1e3 + (t1.tv_nsec - conn->t0.tv_nsec) / 1e6;
    sf_stats_add(&app->stats, conn->kind, conn->status ? conn->status : 400, ms);
    free(conn->uri);
    sf_buf_free(&conn->body);
    free(conn);
    *con_cls = NULL;
    (void)c;
    (void)toe;
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes n bytes of s into a new string:
 * %XX must be two hex digits, '+' is a space in query values, the result
 * must be UTF-8 without NUL or other control bytes.  NULL when malformed. */
static char *decode(const char *s, size_t n, int plus_is_space) {
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f) {
            free(out);
            return NULL;
        }
        *o++ = (char)c;
    }
    *o = '\0';
    if (!sf_utf8_valid(out, (size_t)(o - out))) {
        free(out);
        return NULL;
    }
    return out;
}

/* Parses "a=1&b=2" into r's parameters.  Returns the HTTP status to answer
 * with on failure, 0 on success. */
static int parse_params(sf_request *r, const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && s[end] != '&') end++;
        if (end > i) {
            if (r->n_params == sizeof r->params / sizeof r->params[0]) return 400;
            size_t eq = i;
            while (eq < end && s[eq] != '=') eq++;
            sf_param *p = &r->params[r->n_params];
            p->name = decode(s + i, eq - i, 1);
            p->value = decode(s + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0, 1);
            if (p->name && p->value) {
                r->n_params++;
            } else {
                free(p->name);
                free(p->value);
                p->name = p->value = NULL;
                return 400;
            }
        }
        i = end + 1;
    }
    return 0;
}

const char *sf_param_get(const sf_request *r, const char *name) {
    for (size_t i = 0; i < r->n_params; i++)
        if (!strcmp(r->params[i].name, name)) return r->params[i].value;
    return NULL;
}

static int refuse(sf_request *r, const char *what, const char *name) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s '%s'", what, name);
    sf_error_page(r->app, r, 400, msg);
    return -1;
}

int sf_param_key(sf_request *r, const char *name, const char **out) {
    const char *v = sf_param_get(r, name);
    if (!v || !*v) return refuse(r, "missing parameter", name);
    if (strlen(v) > SF_KEY_MAX) return refuse(r, "key too long in parameter", name);
    *out = v;
    return 0;
}

int sf_param_k(sf_request *r, size_t dflt, size_t *out) {
    const char *v = sf_param_get(r, "k");
    if (!v) {
        *out = dflt;
        return 0;
    }
    size_t k = 0, digits = strspn(v, "0123456789");
    if (!*v || v[digits] || digits > 3) return refuse(r, "k must be a whole number from 1 to 100:", "k");
    k = (size_t)atoi(v);
    if (k < 1 || k > SF_K_MAX) return refuse(r, "k must be a whole number from 1 to 100:", "k");
    *out = k;
    return 0;
}

int sf_param_text(sf_request *r, const char *name, const char **out) {
    const char *v = sf_param_get(r, name);
    *out = v ? v : "";
    if (strlen(*out) > SF_QUERY_MAX) return refuse(r, "text longer than 200 bytes in parameter", name);
    return 0;
}

static void redirect(sf_request *r, const char *to) {
    snprintf(r->location_buf, sizeof r->location_buf, "%s", to);
    r->location = r->location_buf;
    r->status = 303;
}

/* POST /shopper, /cart/add, /cart/remove: change the session, then show a
 * page (post-redirect-get). */
static void post_action(sf_app *app, sf_request *r) {
    const char *item = NULL, *user;
    if (!strcmp(r->path, "/shopper")) {
        if (sf_param_text(r, "user", &user)) return;
        if (*user && (strlen(user) > SF_KEY_MAX || !sf_user_known(app, user))) {
            sf_error_page(app, r, 404, "no such shopper");
            return;
        }
        sf_session_set_user(app, r->session.id, user);
        redirect(r, "/");
        return;
    }
    int add = !strcmp(r->path, "/cart/add");
    if (!add && strcmp(r->path, "/cart/remove")) {
        sf_error_page(app, r, 404, "no such page");
        return;
    }
    if (sf_param_key(r, "item", &item)) return;
    if (!sf_item_known(app, item)) {
        sf_error_page(app, r, 404, "no such product");
        return;
    }
    if (sf_session_cart(app, r->session.id, item, add ? 1 : -1000) && add) {
        sf_error_page(app, r, 409, "your cart is full");
        return;
    }
    if (add && r->session.user[0]) sf_feedback(app, r->session.user, item, 3.0f); /* weight of a cart event */
    redirect(r, "/cart");
}

static void route(sf_app *app, sf_request *r, int post) {
    if (r->is_api) {
        if (post || !sf_api(app, r)) sf_error_page(app, r, post ? 405 : 404, post ? "use GET" : "no such endpoint");
        return;
    }
    if (post) {
        post_action(app, r);
        return;
    }
    if (!strcmp(r->path, "/")) sf_page_home(app, r);
    else if (!strncmp(r->path, "/product/", 9)) sf_page_product(app, r, r->path + 9);
    else if (!strcmp(r->path, "/cart")) sf_page_cart(app, r);
    else if (!strcmp(r->path, "/admin")) sf_page_admin(app, r);
    else if (app->search && !strcmp(r->path, "/search")) sf_page_search(app, r);
    else if (app->chat && !strcmp(r->path, "/help")) sf_page_help(app, r);
    else sf_error_page(app, r, 404, "There is no such page in this shop.");
}

static enum MHD_Result answer(struct MHD_Connection *c, sf_request *r, const char *cookie, int asset) {
    if (r->body_out.oom) {
        sf_buf_free(&r->body_out);
        r->status = 500;
        sf_put(&r->body_out, "out of memory\n");
        r->content_type = "text/plain";
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(r->body_out.len, r->body_out.data, MHD_RESPMEM_MUST_FREE);
    if (!resp) return MHD_NO;
    r->body_out.data = NULL; /* libmicrohttpd frees it */
    MHD_add_response_header(resp, "Content-Type", r->content_type ? r->content_type : "text/html; charset=utf-8");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    MHD_add_response_header(resp, "Cache-Control", asset && r->status == 200 ? "max-age=300" : "no-store");
    if (r->location) MHD_add_response_header(resp, "Location", r->location);
    if (cookie) MHD_add_response_header(resp, "Set-Cookie", cookie);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    sf_app *app = cls;
    sf_conn *conn = *con_cls;
    int post = !strcmp(method, "POST");
    if (!conn) return MHD_NO; /* out of memory at on_uri: drop the connection */
    if (post && *upload_size) {
        if (conn->body.len + *upload_size <= SF_BODY_MAX) sf_putn(&conn->body, upload, *upload_size);
        else conn->body.oom = 2; /* too large: answered below */
        *upload_size = 0;
        return MHD_YES;
    }
    if (post && !conn->started) {
        conn->started = 1; /* first call of a POST: the body follows */
        return MHD_YES;
    }
    sf_request r;
    memset(&r, 0, sizeof r);
    r.app = app;
    r.method = method;
    r.status = 200;
    const char *q = strchr(conn->uri, '?');
    size_t path_len = q ? (size_t)(q - conn->uri) : strlen(conn->uri);
    char *path = decode(conn->uri, path_len, 0);
    r.path = path ? path : "";
    r.is_api = !strncmp(r.path, "/api/", 5);
    conn->kind = r.is_api ? 1 : !strncmp(r.path, "/static/", 8) ? 2 : 0;
    int bad = 0;
    if (strlen(conn->uri) > SF_URI_MAX) bad = 414;
    else if (!path || r.path[0] != '/') bad = 400;
    else if (strcmp(method, "GET") && strcmp(method, "HEAD") && !post) bad = 405;
    else if (conn->body.oom == 2) bad = 413;
    else if (conn->body.oom) bad = 500;
    else if (q) bad = parse_params(&r, q + 1, strlen(q + 1));
    if (!bad && post && conn->body.len) bad = parse_params(&r, conn->body.data, conn->body.len);
    char cookie[128] = "";
    if (bad) {
        sf_error_page(app, &r, bad, bad == 414 ? "request target too long" : bad == 405 ? "method not allowed"
                                                                       : "malformed request");
    } else if (conn->kind == 2) {
        int css = !strcmp(r.path, "/static/style.css"), js = !strcmp(r.path, "/static/app.js");
        if (css || js) {
            sf_put(&r.body_out, css ? app->css : app->js);
            r.content_type = css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
        } else {
            sf_error_page(app, &r, 404, "no such file");
        }
    } else {
        if (!r.is_api) {
            const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "sf_sid");
            if (sid && (strlen(sid) != 32 || strspn(sid, "0123456789abcdef") != 32)) sid = NULL;
            sf_session_get(app, sid, &r.session);
            if (!sid || strcmp(sid, r.session.id))
                snprintf(cookie, sizeof cookie, "sf_sid=%s; Path=/; HttpOnly; SameSite=Lax", r.session.id);
        }
        route(app, &r, post);
    }
    conn->status = r.status;
    enum MHD_Result ok = answer(c, &r, cookie[0] ? cookie : NULL, conn->kind == 2);
    sf_buf_free(&r.body_out);
    for (size_t i = 0; i < r.n_params; i++) {
        free(r.params[i].name);
        free(r.params[i].value);
    }
    free(path);
    (void)url;
    (void)version;
    return ok;
}

int sf_serve(sf_app *app) {
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(app->opt.listen, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : -1;
    if (colon && (size_t)(colon - app->opt.listen) < sizeof host)
        snprintf(host, sizeof host, "%.*s", (int)(colon - app->opt.listen), app->opt.listen);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (!colon || port < 0 || port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "storefront: --listen wants IPV4:PORT, e.g. 127.0.0.1:8080 (got '%s')\n", app->opt.listen);
        return 2;
    }
    if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127)
        fprintf(stderr, "storefront: warning: listening on %s, reachable from other machines\n", host);
    /* Block the stop signals before any server thread exists, so they all
     * inherit the mask and only sigwait below receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGINT, SIG_DFL); /* a shell starts background jobs with SIGINT ignored */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, app, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(app->opt.threads > 0 ? app->opt.threads : 4),
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, app, MHD_OPTION_NOTIFY_COMPLETED, on_done, app,
        MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_CONNECTION_TIMEOUT, 15u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "storefront: cannot listen on %s: %s\n", app->opt.listen, strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("storefront: listening on http://%s:%u/ (Ctrl-C stops)\n", host,
           info ? (unsigned)info->port : (unsigned)port);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "storefront: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    MHD_stop_daemon(d); /* waits for requests in flight */
    return 0;
}
