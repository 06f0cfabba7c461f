/* titles.c - product titles for the read commands and the demo, from a
 * product catalog (--catalog FILE, or the demo store's). */
#include "cli.h"

#include <stdlib.h>

struct cli_titles {
    aisle_catalog *cat;
    int owned;
};

/* The options the catalog is loaded with: every --set option, except that
 * a command which also reads an event file keeps that file's input options
 * (its columns, delimiter, header, ...) to the event file: the catalog has
 * its own (catalog_columns; delimiter and header detected). */
static int catalog_config(const cli_opts *o, aisle_config **out) {
    int rc = aisle_config_copy(o->cfg, out);
    if (rc) return rc;
    static const char *const event_only[] = {"columns", "delimiter", "header", "event", "time_format", "negative"};
    for (size_t i = 0; o->data && i < sizeof event_only / sizeof *event_only; i++) aisle_config_unset(*out, event_only[i]);
    return AISLE_OK;
}

/* An order-lines export (Online Retail: StockCode, Description) read as a
 * catalog has descriptions but no title column: say what is shown. */
static void warn_without_titles(const cli_opts *o, const aisle_catalog *cat) {
    size_t n = 0, titled = 0, described = 0;
    aisle_catalog_count(cat, &n);
    for (size_t i = 0; i < n; i++) {
        const char *key, *text;
        if (aisle_catalog_key(cat, i, &key) != AISLE_OK) continue;
        if (aisle_catalog_item_text(cat, key, "title", &text) == AISLE_OK && text[0]) titled++;
        if (aisle_catalog_item_text(cat, key, "description", &text) == AISLE_OK && text[0]) described++;
    }
    if (titled || o->quiet || n == 0) return;
    if (described)
        fprintf(stderr, "aisle: warning: catalog %s gives no titles (no title column); showing descriptions "
                        "(choose columns with --set catalog_columns=key=...,title=...)\n", o->catalog);
    else
        fprintf(stderr, "aisle: warning: catalog %s gives no titles or descriptions: titles stay blank "
                        "(choose columns with --set catalog_columns=key=...,title=...)\n", o->catalog);
}

int cli_titles_load(const cli_opts *o, cli_titles **out) {
    *out = NULL;
    if (!o->catalog) return CLI_OK;
    cli_titles *t = calloc(1, sizeof *t);
    if (!t) return cli_error(CLI_RUNTIME, "out of memory");
    t->owned = 1;
    aisle_config *cfg = NULL;
    int rc = catalog_config(o, &cfg);
    if (!rc) rc = aisle_catalog_new(&t->cat);
    if (!rc) rc = aisle_catalog_load(t->cat, o->catalog, cfg);
    aisle_config_free(cfg);
    if (rc) {
        cli_titles_free(t);
        return cli_error(rc == AISLE_EINVAL ? CLI_USAGE : CLI_RUNTIME, "cannot load the catalog: %s",
                         aisle_last_error());
    }
    warn_without_titles(o, t->cat);
    *out = t;
    return CLI_OK;
}

int cli_users_load(const cli_opts *o, aisle_catalog **out) {
    *out = NULL;
    if (!o->users) return CLI_OK;
    aisle_config *cfg = NULL;
    int rc = catalog_config(o, &cfg);
    if (!rc) rc = aisle_catalog_new(out);
    if (!rc) rc = aisle_catalog_load(*out, o->users, cfg);
    aisle_config_free(cfg);
    if (rc) {
        aisle_catalog_free(*out);
        *out = NULL;
        return cli_error(rc == AISLE_EINVAL ? CLI_USAGE : CLI_RUNTIME, "cannot load the user attributes: %s",
                         aisle_last_error());
    }
    return CLI_OK;
}

int cli_titles_from_catalog(aisle_catalog *cat, cli_titles **out) {
    *out = NULL;
    if (!cat) return CLI_OK;
    cli_titles *t = calloc(1, sizeof *t);
    if (!t) return cli_error(CLI_RUNTIME, "out of memory");
    t->cat = cat;
    *out = t;
    return CLI_OK;
}

const char *cli_title(const cli_titles *t, const char *item_key) {
    const char *title = "";
    if (!t || aisle_catalog_item_text(t->cat, item_key, "title", &title) != AISLE_OK) title = "";
    /* no title: the description (order-lines exports have only that) */
    if (t && !title[0] && aisle_catalog_item_text(t->cat, item_key, "description", &title) != AISLE_OK) title = "";
    return title;
}

aisle_catalog *cli_titles_catalog(const cli_titles *t) { return t ? t->cat : NULL; }

int cli_add_catalog(const cli_opts *o, aisle_model *m, const cli_titles *t) {
    size_t added = 0;
    if (t) {
        int rc = aisle_model_add_items(m, t->cat, &added);
        /* kinds (and hybrids) without catalog features take the catalog
         * for titles only, as before */
        if (rc && rc != AISLE_EUNSUPPORTED) return cli_fail(rc, "cannot add the catalog's new products");
        if (rc && o->verbose) fprintf(stderr, "aisle: catalog %s: titles only (%s)\n", o->catalog, aisle_last_error());
        if (!rc && o->verbose) fprintf(stderr, "aisle: catalog %s: %zu new products added to the model\n", o->catalog, added);
    }
    if (!o->users) return CLI_OK;
    aisle_catalog *users = NULL;
    int code = cli_users_load(o, &users);
    if (code) return code;
    int rc = aisle_model_add_users(m, users, &added);
    aisle_catalog_free(users);
    if (rc) return cli_fail(rc, "cannot add the shoppers of --users");
    if (o->verbose) fprintf(stderr, "aisle: %s: %zu new shoppers added to the model\n", o->users, added);
    return CLI_OK;
}

void cli_titles_free(cli_titles *t) {
    if (!t) return;
    if (t->owned) aisle_catalog_free(t->cat);
    free(t);
}
