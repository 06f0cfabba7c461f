/* main.c - `aisle` entry point: global flags, the subcommand table and
 * help. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_command commands[] = {
    {"train", "train a model on an event file and save it",
     "usage: aisle train --data FILE [--model KIND] [--set KEY=VALUE]... [--out FILE] [--catalog FILE]\n"
     "                   [--users FILE]\n\n"
     "Loads behaviour events, trains a model of the given kind and saves it.  With\n"
     "--split, part of the events is held out and the model's quality on it is\n"
     "printed and stored in the model file (see `aisle info`).\n\n"
     "example: aisle train --data events.csv --columns user=user_id,item=item_id,time=timestamp \\\n"
     "             --model als --set factors=64 --out shop.aisle\n",
     OPT_DATA | OPT_SET | OPT_MODEL | OPT_OUT | OPT_SPLIT | OPT_EVAL | OPT_K | OPT_JSON | OPT_CATALOG | OPT_DIST |
         OPT_USERS,
     cmd_train},
    {"eval", "measure a model's quality on held-out events",
     "usage: aisle eval --model FILE --data TEST_FILE [options]\n"
     "       aisle eval --data FILE --split SPEC [--model KIND] [--set KEY=VALUE]...\n\n"
     "The first form evaluates a saved model on a test file; the second splits\n"
     "the events (e.g. time:0.1 = the newest 10% are the test part), trains on\n"
     "the rest and evaluates.  Metrics: see docs/EVALUATION.md.  With a saved hybrid\n"
     "or pair model, --catalog FILE (--users FILE) adds the test's new products\n"
     "(shoppers) from their features or text first, so they are scored, not skipped.\n",
     OPT_DATA | OPT_SET | OPT_MODEL | OPT_SPLIT | OPT_EVAL | OPT_K | OPT_JSON | OPT_CATALOG | OPT_DIST | OPT_USERS,
     cmd_eval},
    {"recommend", "top-k items for a user",
     "usage: aisle recommend --model FILE --user KEY [-k N] [--exclude-seen|--include-seen]\n"
     "                       [--catalog FILE] [--json]\n\n"
     "Prints the user's top-k items with scores (and titles from a catalog file).\n"
     "A user the model does not know gets the most popular items.  A hybrid or pair\n"
     "model first adds the catalog's products it does not know, scored from their\n"
     "features (pair: their text).\n",
     OPT_MODEL | OPT_USER | OPT_K | OPT_SEEN | OPT_CATALOG | OPT_JSON | OPT_SET, cmd_recommend},
    {"similar", "items similar to an item",
     "usage: aisle similar --model FILE --item KEY [-k N] [--catalog FILE] [--json]\n\n"
     "Prints the k items most similar to the item (\"customers who bought this also\n"
     "bought\").  A hybrid model first adds the catalog's products it does not know\n"
     "(so --item may be a product listed after training).\n",
     OPT_MODEL | OPT_ITEM | OPT_K | OPT_CATALOG | OPT_JSON | OPT_SET, cmd_similar},
    {"explain", "why an item is recommended to a user",
     "usage: aisle explain --model FILE --user KEY --item KEY [-k N] [--catalog FILE] [--json]\n\n"
     "Prints the user's past items that contribute most to the item's score, with\n"
     "their signed shares (-k: how many, default 5).\n",
     OPT_MODEL | OPT_USER | OPT_ITEM | OPT_K | OPT_CATALOG | OPT_JSON | OPT_SET, cmd_explain},
    {"classify", "label texts with an intent model or a bert model's head",
     "usage: aisle classify --model FILE (--text TEXT | --data FILE [--columns text=COL]) [-k N] [--explain] [--json]\n"
     "       aisle classify --model BERT_MODEL (--text TEXT [--text-b TEXT] | --data FILE) [--json]\n\n"
     "Prints the k most probable labels of each text with calibrated probabilities,\n"
     "and `unknown` when the top probability is below the model's unknown_threshold.\n"
     "Intent models are trained with `aisle train --model intent --data FILE\n"
     "--columns text=COL,label=COL` and evaluated with `aisle eval --model M --data FILE`.\n"
     "A bert model (aisle import --format bert) prints its head's probabilities per label, or the\n"
     "regression value, one line per text (FILE: one text a line, or 'a<TAB>b' pairs).\n",
     OPT_MODEL | OPT_TEXT | OPT_DATA | OPT_K | OPT_JSON | OPT_SET | OPT_BERT, cmd_classify},
    {"info", "describe a saved model",
     "usage: aisle info MODEL_FILE [--json]\n\n"
     "Prints the model's kind, sizes, every option it was trained with and its\n"
     "stored metrics (--json: numbers as numbers, options as an object).\n",
     OPT_MODEL | OPT_POSITIONAL | OPT_JSON | OPT_SET, cmd_info},
    {"generate", "write the built-in demo store as CSV files",
     "usage: aisle generate [--out DIR] [--set demo_users=N] [--set demo_items=N] [--seed N]\n\n"
     "Writes events.csv, catalog.csv and messages.csv of the synthetic demo shop\n"
     "(docs/DEMO.md) into DIR (default demo-store).\n",
     OPT_OUT | OPT_SET | OPT_JSON, cmd_generate},
    {"forecast", "forecast each product's demand (or backtest with --holdout)",
     "usage: aisle forecast --data EVENTS --columns user=..,item=..,value=QUANTITY,time=.. [--lenient]\n"
     "                      --period week|day --horizon H [--out FILE.csv] [--json] [--holdout H]\n"
     "                      [--catalog FILE] [--set KEY=VALUE]...\n\n"
     "Sums the quantities of the events per product and period, trains a forecast\n"
     "(--set method=auto|snaive|ets|croston|tsb|global) and writes the H periods\n"
     "after the last one in the data as CSV item,period_start,p10,p50,p90\n"
     "(period_start YYYY-MM-DD; weeks start on Monday), to --out or stdout; --json\n"
     "prints them as JSON instead.  With --holdout H, the last H periods are hidden\n"
     "and the forecasts of them are scored (MASE, sMAPE, pinball loss, 80% interval\n"
     "coverage; docs/FORECAST.md).\n",
     OPT_DATA | OPT_SET | OPT_OUT | OPT_JSON | OPT_CATALOG | OPT_FORECAST, cmd_forecast},
    {"demo", "run the built-in demo store end to end",
     "usage: aisle demo [--set KEY=VALUE]... [--quiet]\n\n"
     "Generates the demo shop in memory, splits it by time, trains every model kind,\n"
     "compares their quality and training time with the popularity baseline, shows\n"
     "one shopper's recommendations with reasons, and checks that a saved model\n"
     "reloads and recommends the same.  Exits 1 if a model fails to beat popularity\n"
     "on NDCG@10.\n",
     OPT_SET, cmd_demo},
#include "cmd_bert.def"
};

/* Commands that parse their own arguments. */
typedef struct cli_raw_command {
    const char *name, *summary, *usage;
    int (*run)(int argc, char **argv);
} cli_raw_command;

static const cli_raw_command raw_commands[] = {
    {"index", "build a product search index from a catalog file", CMD_INDEX_USAGE, cmd_index_raw},
    {"search", "search products in an index (text, typos, filters, personal)", CMD_SEARCH_USAGE, cmd_search_raw},
    {"search-learn", "learn an index's ranking weights from a search log", CMD_SEARCH_LEARN_USAGE,
     cmd_search_learn_raw},
};

static const cli_raw_command *find_raw(const char *name) {
    for (size_t i = 0; i < sizeof raw_commands / sizeof raw_commands[0]; i++)
        if (strcmp(raw_commands[i].name, name) == 0) return &raw_commands[i];
    return NULL;
}

/* Runs a raw command (help included); -1 when name is not one. */
static int run_raw(const char *name, int argc, char **argv, int help) {
    const cli_raw_command *r = find_raw(name);
    if (!r) return -1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) help = 1;
    if (help) {
        fputs(r->usage, stdout);
        return CLI_OK;
    }
    return r->run(argc, argv);
}

static void print_help(FILE *out) {
    fprintf(out,
            "usage: aisle [--version] [--help] COMMAND [ARGS]\n\n"
            "aisle %s - machine-learning personalization for online shops.\n\n"
            "Commands:\n",
            aisle_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    for (size_t i = 0; i < sizeof raw_commands / sizeof raw_commands[0]; i++)
        fprintf(out, "  %-12s %s\n", raw_commands[i].name, raw_commands[i].summary);
    fprintf(out, "\n`aisle help COMMAND` or `aisle COMMAND --help` describes a command and every option;\n"
                 "`aisle help options` lists the library options (--set KEY=VALUE) and model kinds.\n"
                 "Exit status: 0 success, 1 runtime error, 2 usage error.\n");
}

static const cli_command *find_command(const char *name) {
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void command_help(const cli_command *c) {
    fputs(c->usage, stdout);
    cli_print_options(stdout, c);
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
        if (!strcmp(argv[2], "options")) {
            printf("Library options, set with --set KEY=VALUE on every command that loads data or a model\n"
                   "(docs/OPTIONS.md has the same table).\n");
            cli_print_library_options(stdout);
            return CLI_OK;
        }
        int raw = run_raw(argv[2], 1, argv + 2, 1);
        if (raw >= 0) return raw;
        const cli_command *c = find_command(argv[2]);
        if (!c)
            return cli_error(CLI_USAGE, "unknown command or topic '%s' (try `aisle --help` or `aisle help options`)",
                             argv[2]);
        command_help(c);
        return CLI_OK;
    }
    int raw = run_raw(arg, argc - 1, argv + 1, 0);
    if (raw >= 0) return raw;
    const cli_command *c = find_command(arg);
    if (!c) return cli_error(CLI_USAGE, "unknown command '%s' (try `aisle --help`)", arg);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            command_help(c);
            return CLI_OK;
        }
    }

    cli_opts o;
    int rc = cli_parse(c, argc - 1, argv + 1, &o);
    if (rc == CLI_OK) rc = c->run(&o);
    cli_progress_done();
    cli_opts_free(&o);
    return rc;
}
