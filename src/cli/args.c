/* args.c - the command line: the flag table and its help, parsing argv
 * into cli_opts (library options go straight into its configs). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct cli_flag {
    const char *name;
    unsigned group;
    const char *arg;  /* NULL: a switch */
    const char *def;  /* default, for help */
    const char *help;
} cli_flag;

static const cli_flag flags[] = {
    {"--data", OPT_DATA, "FILE", "required", "behaviour events: CSV, TSV or '::'-separated text, plain or .gz"},
    {"--delimiter", OPT_DATA, "C", "tab for .tsv/.data/.txt, comma for .csv",
     "field delimiter: one character, '::', or tab|comma|semicolon|pipe|space"},
    {"--columns", OPT_DATA, "SPEC", "known header names, else user=1,item=2,value=3,time=4",
     "role=column pairs (roles user, item, value, time, event; header name or 1-based position)"},
    {"--header", OPT_DATA, NULL, "auto-detected", "the first row names the columns"},
    {"--no-header", OPT_DATA, NULL, "auto-detected", "the first row is data"},
    {"--event", OPT_DATA, "NAME", "view", "event of rows without an event column (e.g. rating, purchase)"},
    {"--lenient", OPT_DATA, NULL, "off", "skip bad rows instead of failing (see --verbose for counts)"},
    {"--model", OPT_MODEL, "FILE|KIND", "train: als; others: required",
     "a saved model file; for train and eval --split, the model kind to train"},
    {"--out", OPT_OUT, "PATH", "train: model.aisle; generate: demo-store; forecast: stdout", "where to write the result"},
    {"--set", OPT_SET, "KEY=VALUE", "-", "set a library option (repeatable; options listed below)"},
    {"--threads", OPT_SET, "N", "0 (every CPU)", "worker threads (same as --set threads=N)"},
    {"--seed", OPT_SET, "N", "42", "random seed (same as --set seed=N)"},
    {"--split", OPT_SPLIT, "SPEC", "none", "hold out a test part: time:0.1, random:0.2, last:1, kfold:5:0"},
    {"--protocol", OPT_EVAL, "full|sampled", "full", "rank against all unseen items, or against sampled negatives"},
    {"--negatives", OPT_EVAL, "N", "100", "negatives per test item with --protocol sampled"},
    {"-k", OPT_K, "N", "10 (explain: 5)", "number of results, or the metrics' cut-off"},
    {"--user", OPT_USER, "KEY", "required", "the user's key as in the event file"},
    {"--item", OPT_ITEM, "KEY", "required", "the item's key as in the event file"},
    {"--exclude-seen", OPT_SEEN, NULL, "on", "leave out items the user interacted with in training"},
    {"--include-seen", OPT_SEEN, NULL, "off", "keep items the user interacted with in training"},
    {"--catalog", OPT_CATALOG, "FILE", "none", "product catalog (item_id,title,...): titles in the output; side information for training"},
    {"--users", OPT_USERS, "FILE", "none", "shopper attributes (user_id,country,age_band,...): user features for hybrid, profile text for pair"},
    {"--text", OPT_TEXT, "TEXT", "--data or --text required", "one text to classify"},
    {"--explain", OPT_TEXT, NULL, "off", "also print each token's contribution to the top label"},
    {"--format", OPT_BERT, "bert", "required for import", "format of the checkpoint directory to import"},
    {"--text-a", OPT_BERT, "TEXT", "required for score-pair", "first text of a pair"},
    {"--text-b", OPT_BERT, "TEXT", "none", "second text of a pair (bert models)"},
    {"--pooling", OPT_BERT, "cls|mean|pooler", "cls", "embedding of a text: [CLS] state, mean of states, or pooler"},
    {"--period", OPT_FORECAST, "day|week", "week", "forecast period (weeks start on Monday, UTC)"},
    {"--horizon", OPT_FORECAST, "H", "8 (with --holdout: H)", "periods to forecast after the last one in the data"},
    {"--holdout", OPT_FORECAST, "H", "none", "backtest: hide the last H periods and score forecasts of them"},
    {"--distributed", OPT_DIST, NULL, "off",
     "train over MPI ranks: mpirun -np N aisle train --distributed ... (CLI built by make MPI=1; models als, bpr, mf, sasrec, intent)"},
    {"--checkpoint", OPT_DIST, "FILE", "none", "with --distributed: save the training state here; an existing one is resumed"},
    {"--checkpoint-every", OPT_DIST, "N", "0 (never)", "with --distributed: save the checkpoint every N epochs"},
    {"--json", OPT_JSON, NULL, "off", "print one JSON document on stdout instead of text"},
    {"--quiet", 0, NULL, "off", "no progress or notes on stderr (errors only)"},
    {"--verbose", 0, NULL, "off", "more detail on stderr (load counts, timings)"},
};

void cli_print_options(FILE *out, const cli_command *c) {
    fprintf(out, "\nOptions:\n");
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        const cli_flag *f = &flags[i];
        if (f->group && !(c->opts & f->group)) continue;
        char lhs[64];
        snprintf(lhs, sizeof lhs, "%s%s%s", f->name, f->arg ? " " : "", f->arg ? f->arg : "");
        fprintf(out, "  %-26s %s (default: %s)\n", lhs, f->help, f->def);
    }
    fprintf(out, "  %-26s %s\n", "--help", "this help");
    if (!(c->opts & OPT_SET)) return;
    cli_print_library_options(out);
}

void cli_print_library_options(FILE *out) {
    fprintf(out, "\nLibrary options for --set (name type [range] default; scope: where it applies):\n");
    for (int i = 0; i < aisle_option_count(); i++) {
        const char *name, *def, *range, *scope, *help;
        int type;
        if (aisle_option_info(i, &name, &type, &def, &range, &scope, &help) != AISLE_OK) continue;
        static const char *const types[] = {"?", "int", "float", "string", "bool"};
        fprintf(out, "  %s %s %s default %s; %s\n      %s\n", name, types[type >= 1 && type <= 4 ? type : 0], range,
                def[0] ? def : "\"\"", scope, help);
    }
    fprintf(out, "\nModel kinds (--model):\n");
    for (int i = 0; i < aisle_model_kind_count(); i++) {
        const char *name, *summary;
        if (aisle_model_kind_info(i, &name, &summary) == AISLE_OK) fprintf(out, "  %-10s %s\n", name, summary);
    }
}

static int set_option(cli_opts *o, const char *flag, const char *key, const char *value) {
    int rc = aisle_config_set(o->cfg, key, value);
    if (rc) return cli_error(CLI_USAGE, "%s %s: %s", flag, value, aisle_last_error());
    return CLI_OK;
}

static int set_eval_option(cli_opts *o, const char *flag, const char *key, const char *value) {
    int rc = aisle_config_set(o->eval_cfg, key, value);
    if (rc) return cli_error(CLI_USAGE, "%s %s: %s", flag, value, aisle_last_error());
    return CLI_OK;
}

int cli_eval_config(const cli_opts *o, aisle_config **out) {
    aisle_config *c;
    if (aisle_config_copy(o->eval_cfg, &c) != AISLE_OK) return cli_fail(AISLE_ENOMEM, "config");
    static const char *const shared[] = {"threads", "seed"};
    for (int i = 0; i < 2; i++) {
        int set = 0;
        char v[64];
        if (aisle_config_is_set(o->cfg, shared[i], &set) == AISLE_OK && set &&
            aisle_config_get_string(o->cfg, shared[i], v, sizeof v) == AISLE_OK)
            aisle_config_set(c, shared[i], v);
    }
    if (o->k > 0 && aisle_config_set_int(c, "k", o->k) != AISLE_OK) {
        aisle_config_free(c);
        return cli_error(CLI_USAGE, "-k %d: %s", o->k, aisle_last_error());
    }
    *out = c;
    return CLI_OK;
}

static int parse_int(const char *flag, const char *text, int min, int *out) {
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < min || v > 1000000000)
        return cli_error(CLI_USAGE, "%s expects an integer >= %d, got '%s'", flag, min, text);
    *out = (int)v;
    return CLI_OK;
}

static int apply_flag(cli_opts *o, const cli_flag *f, const char *v) {
    const char *n = f->name;
    if (!strcmp(n, "--data")) o->data = v;
    else if (!strcmp(n, "--delimiter")) return set_option(o, n, "delimiter", v);
    else if (!strcmp(n, "--columns")) return set_option(o, n, "columns", v);
    else if (!strcmp(n, "--header")) return set_option(o, n, "header", "yes");
    else if (!strcmp(n, "--no-header")) return set_option(o, n, "header", "no");
    else if (!strcmp(n, "--event")) return set_option(o, n, "event", v);
    else if (!strcmp(n, "--lenient")) return set_option(o, n, "lenient", "true");
    else if (!strcmp(n, "--model")) o->model = v, o->model_is_set = 1;
    else if (!strcmp(n, "--out")) {
        if (!v[0]) return cli_error(CLI_USAGE, "--out: empty path (give a file or directory name)");
        o->out = v;
    }
    else if (!strcmp(n, "--threads")) return set_option(o, n, "threads", v);
    else if (!strcmp(n, "--seed")) return set_option(o, n, "seed", v);
    else if (!strcmp(n, "--split")) o->split = v;
    else if (!strcmp(n, "--protocol")) return set_eval_option(o, n, "protocol", v);
    else if (!strcmp(n, "--negatives")) return set_eval_option(o, n, "negatives", v);
    else if (!strcmp(n, "-k")) return parse_int(n, v, 1, &o->k);
    else if (!strcmp(n, "--user")) o->user = v;
    else if (!strcmp(n, "--item")) o->item = v;
    else if (!strcmp(n, "--exclude-seen")) o->exclude_seen = 1;
    else if (!strcmp(n, "--include-seen")) o->exclude_seen = 0;
    else if (!strcmp(n, "--catalog")) o->catalog = v;
    else if (!strcmp(n, "--users")) o->users = v;
    else if (!strcmp(n, "--period")) return set_option(o, n, "period", v);
    else if (!strcmp(n, "--horizon")) return parse_int(n, v, 1, &o->horizon);
    else if (!strcmp(n, "--holdout")) return parse_int(n, v, 1, &o->holdout);
    else if (!strcmp(n, "--json")) o->json = 1;
    else if (!strcmp(n, "--distributed")) o->distributed = 1;
    else if (!strcmp(n, "--checkpoint")) o->checkpoint = v;
    else if (!strcmp(n, "--checkpoint-every")) return parse_int(n, v, 1, &o->checkpoint_every);
    else if (!strcmp(n, "--text")) o->text = v;
    else if (!strcmp(n, "--explain")) o->explain = 1;
    else if (!strcmp(n, "--format")) o->format = v;
    else if (!strcmp(n, "--text-a")) o->text_a = v;
    else if (!strcmp(n, "--text-b")) o->text_b = v;
    else if (!strcmp(n, "--pooling")) o->pooling = v;
    else if (!strcmp(n, "--quiet")) o->quiet = 1;
    else if (!strcmp(n, "--verbose")) o->verbose = 1;
    else if (!strcmp(n, "--set")) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v) return cli_error(CLI_USAGE, "--set expects KEY=VALUE, got '%s'", v);
        char key[128];
        size_t len = (size_t)(eq - v);
        if (len >= sizeof key) return cli_error(CLI_USAGE, "--set: option name too long in '%s'", v);
        memcpy(key, v, len);
        key[len] = '\0';
        int rc = aisle_config_set(o->cfg, key, eq + 1);
        if (rc) return cli_error(CLI_USAGE, "--set %s: %s (see `aisle help train` for the options)", v, aisle_last_error());
    }
    return CLI_OK;
}

int cli_parse(const cli_command *c, int argc, char **argv, cli_opts *o) {
    memset(o, 0, sizeof *o);
    o->k = -1;
    o->exclude_seen = -1;
    if (aisle_config_new(&o->cfg) != AISLE_OK || aisle_config_new(&o->eval_cfg) != AISLE_OK)
        return cli_error(CLI_RUNTIME, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            if ((c->opts & OPT_POSITIONAL) && !o->positional) {
                o->positional = a;
                continue;
            }
            return cli_error(CLI_USAGE, "%s: unexpected argument '%s' (try `aisle %s --help`)", c->name, a, c->name);
        }
        /* --name=value is the same as --name value */
        char name[64];
        const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, a, len);
        name[len] = '\0';
        const cli_flag *f = NULL;
        for (size_t j = 0; j < sizeof flags / sizeof flags[0]; j++)
            if (!strcmp(flags[j].name, name)) f = &flags[j];
        if (!f || (f->group && !(c->opts & f->group)))
            return cli_error(CLI_USAGE, "%s: unknown option '%s' (try `aisle %s --help`)", c->name, name, c->name);
        const char *v = NULL;
        if (f->arg) {
            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            else
                return cli_error(CLI_USAGE, "%s: option %s needs a value (%s)", c->name, name, f->arg);
        } else if (eq) {
            return cli_error(CLI_USAGE, "%s: option %s takes no value", c->name, name);
        }
        int rc = apply_flag(o, f, v);
        if (rc) return rc;
    }
    if (o->quiet && o->verbose) return cli_error(CLI_USAGE, "%s: --quiet and --verbose contradict", c->name);
    return CLI_OK;
}

void cli_opts_free(cli_opts *o) {
    aisle_config_free(o->cfg);
    aisle_config_free(o->eval_cfg);
    o->cfg = o->eval_cfg = NULL;
}
