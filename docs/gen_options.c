/* gen_options.c - writes docs/OPTIONS.md from the library's option table
 * (aisle_option_info), so the reference can never drift from the code.
 * `make docs` regenerates it; `make test` fails when it is stale. */
#include <stdio.h>
#include <string.h>

#include "aisle.h"

static const char *type_name(int t) {
    switch (t) {
    case AISLE_OPTION_INT: return "int";
    case AISLE_OPTION_FLOAT: return "float";
    case AISLE_OPTION_BOOL: return "bool";
    default: return "string";
    }
}

/* Markdown table cells: escape the pipe. */
static void cell(const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", stdout);
        else putchar(*s);
    }
}

int main(void) {
    puts("# Options\n");
    puts("Every option aisle knows, generated from the library's option table by");
    puts("`make docs` (docs/gen_options.c); do not edit by hand. Options are set by name");
    puts("on an `aisle_config` (`aisle_config_set`, `aisle_config_parse(\"factors=64 epochs=15\")`),");
    puts("with `--set key=value` on the command line, or as keyword arguments in Python.");
    puts("Unknown names, wrong types and out-of-range values are rejected with a message");
    puts("naming the option and its allowed range.\n");
    puts("*Scope* says where an option applies: `all`, a module (`data` loading and");
    puts("splits, `save` model files, `serve` recommendation calls, `eval`, `features`,");
    puts("`demo`), or a model kind. A name listed under several kinds has one type");
    puts("everywhere; each kind may have its own default and range.\n");
    const char *last_scope = "";
    int n = aisle_option_count();
    for (int i = 0; i < n; i++) {
        const char *name, *def, *range, *scope, *help;
        int type;
        aisle_option_info(i, &name, &type, &def, &range, &scope, &help);
        if (strcmp(scope, last_scope) != 0) {
            printf("\n## Scope `%s`\n\n| option | type | allowed | default | meaning |\n|---|---|---|---|---|\n", scope);
            last_scope = scope;
        }
        printf("| `%s` | %s | ", name, type_name(type));
        cell(range);
        fputs(" | `", stdout);
        cell(def[0] ? def : "\"\"");
        fputs("` | ", stdout);
        cell(help);
        puts(" |");
    }
    return 0;
}
