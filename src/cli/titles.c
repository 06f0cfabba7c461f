/* titles.c - product titles for the read commands and the demo, from a
 * product catalog (--catalog FILE, or the demo store's). */
#include "cli.h"

#include <stdlib.h>

struct cli_titles {
    aisle_catalog *cat;
    int owned;
};

int cli_titles_load(const cli_opts *o, cli_titles **out) {
    *out = NULL;
    if (!o->catalog) return CLI_OK;
    cli_titles *t = calloc(1, sizeof *t);
    if (!t) return cli_error(CLI_RUNTIME, "out of memory");
    t->owned = 1;
    /* The catalog has its own columns and delimiter (detected from the
     * file), so the event file's input options are not applied. */
    int rc = aisle_catalog_new(&t->cat);
    if (!rc) rc = aisle_catalog_load(t->cat, o->catalog, NULL);
    if (rc) {
        cli_titles_free(t);
        return cli_error(CLI_RUNTIME, "cannot load the catalog: %s", aisle_last_error());
    }
    *out = t;
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
    return title;
}

aisle_catalog *cli_titles_catalog(const cli_titles *t) { return t ? t->cat : NULL; }

void cli_titles_free(cli_titles *t) {
    if (!t) return;
    if (t->owned) aisle_catalog_free(t->cat);
    free(t);
}
