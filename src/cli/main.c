/* main.c - `aisle` entry point: global flags and the subcommand table. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_error(int code, const char *fmt, ...) {
    va_list ap;
    fputs("aisle: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_fail(int rc, const char *what) {
    return cli_error(CLI_RUNTIME, "%s: %s (%s)", what, aisle_last_error(), aisle_strerror(rc));
}

/* Until the demo store lands, `demo` is a self-check: it trains the
 * popularity baseline on a tiny in-memory shop and prints the result. */
static int cmd_demo(int argc, char **argv) {
    (void)argc;
    (void)argv;
    aisle_dataset *ds = NULL;
    aisle_config *cfg = NULL;
    aisle_model *model = NULL;
    static const char *const events[][3] = {
        {"u1", "mug", "purchase"}, {"u2", "mug", "view"},      {"u3", "mug", "cart"},
        {"u1", "tea", "view"},     {"u2", "kettle", "purchase"}, {"u4", "tea", "purchase"},
    };
    int rc = aisle_dataset_new(&ds);
    for (size_t i = 0; rc == AISLE_OK && i < sizeof events / sizeof events[0]; i++)
        rc = aisle_dataset_add_event(ds, events[i][0], events[i][1], events[i][2], 1.0, 1700000000 + (int64_t)i);
    if (rc == AISLE_OK) rc = aisle_config_new(&cfg);
    if (rc == AISLE_OK) rc = aisle_config_parse(cfg, "model=popular threads=1");
    if (rc == AISLE_OK) rc = aisle_model_train(ds, cfg, &model);
    if (rc == AISLE_OK) {
        char desc[1024];
        rc = aisle_model_describe(model, desc, sizeof desc, NULL);
        if (rc == AISLE_OK) printf("aisle %s self-check: ok\n%s", aisle_version(), desc);
    }
    aisle_model_free(model);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return rc == AISLE_OK ? CLI_OK : cli_fail(rc, "demo");
}

static const cli_command commands[] = {
    {"demo", "run the built-in example store end to end",
     "usage: aisle demo\n\nTrains on a small built-in store and prints the results.\n", cmd_demo},
};

static void print_help(FILE *out) {
    fprintf(out,
            "usage: aisle [--version] [--help] COMMAND [ARGS]\n\n"
            "aisle %s - machine-learning personalization for online shops.\n\n"
            "Commands:\n",
            aisle_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`aisle help COMMAND` or `aisle COMMAND --help` describes a command.\n");
}

static const cli_command *find_command(const char *name) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    const char *arg = argv[1];
    if (!strcmp(arg, "--version") || !strcmp(arg, "-V") || !strcmp(arg, "version")) {
        printf("aisle %s\n", aisle_version());
        return CLI_OK;
    }
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        print_help(stdout);
        return CLI_OK;
    }
    if (!strcmp(arg, "help")) {
        if (argc < 3) {
            print_help(stdout);
            return CLI_OK;
        }
        const cli_command *c = find_command(argv[2]);
        if (!c) return cli_error(CLI_USAGE, "unknown command '%s' (try `aisle --help`)", argv[2]);
        fputs(c->usage, stdout);
        return CLI_OK;
    }
    const cli_command *c = find_command(arg);
    if (!c) return cli_error(CLI_USAGE, "unknown command '%s' (try `aisle --help`)", arg);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(c->usage, stdout);
            return CLI_OK;
        }
    }
    return c->run(argc - 1, argv + 1);
}
