/* titles.c - product titles for the read commands and the demo, from a
 * product catalog. */
#include "cli.h"

#include <stdlib.h>

struct cli_titles {
    int unused;
};

int cli_titles_load(const cli_opts *o, cli_titles **out) {
    *out = NULL;
    if (!o->catalog) return CLI_OK;
    return cli_error(CLI_RUNTIME, "--catalog %s: this build has no catalog loader yet", o->catalog);
}

const char *cli_title(const cli_titles *t, const char *item_key) {
    (void)t;
    (void)item_key;
    return "";
}

void cli_titles_free(cli_titles *t) { free(t); }
