/*
 * cli.h - the `aisle` command-line tool.  It uses only the public header,
 * proving the API is enough.  Each subcommand is one function in a file of
 * its own, listed in main.c's command table.  Shared code, each file using
 * only those after it: args.c (flags, parsing, help), load.c (--data),
 * titles.c (--catalog), output.c (errors, progress, JSON, terminal cells).
 */
#ifndef AISLE_CLI_H
#define AISLE_CLI_H

#include "aisle.h"

#include <stdio.h>

/* Exit codes. */
enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

/* Options a command accepts (cli_command.opts), parsed by cli_parse. */
enum {
    OPT_DATA = 1u << 0,      /* --data FILE and the input options */
    OPT_SET = 1u << 1,       /* --set KEY=VALUE, --threads, --seed */
    OPT_MODEL = 1u << 2,     /* --model FILE (or KIND for train) */
    OPT_OUT = 1u << 3,       /* --out PATH */
    OPT_K = 1u << 4,         /* -k N */
    OPT_USER = 1u << 5,      /* --user KEY */
    OPT_ITEM = 1u << 6,      /* --item KEY */
    OPT_JSON = 1u << 7,      /* --json */
    OPT_SPLIT = 1u << 8,     /* --split SPEC */
    OPT_EVAL = 1u << 9,      /* --protocol, --negatives */
    OPT_CATALOG = 1u << 10,  /* --catalog FILE */
    OPT_SEEN = 1u << 11,     /* --exclude-seen, --include-seen */
    OPT_POSITIONAL = 1u << 12,/* one positional argument */
    OPT_TEXT = 1u << 13,     /* --text TEXT, --explain (classify) */
    OPT_BERT = 1u << 14,     /* --format, --text-a, --text-b, --pooling (cmd_bert.c) */
    OPT_FORECAST = 1u << 15, /* --period, --horizon, --holdout */
    OPT_DIST = 1u << 16,     /* --distributed, --checkpoint, --checkpoint-every (cmd_dist.c) */
    OPT_USERS = 1u << 17     /* --users FILE (shopper attributes) */
};

typedef struct cli_opts {
    const char *data, *model, *out, *user, *item, *split, *catalog, *positional;
    const char *users; /* --users FILE */
    int k;            /* -1: not given */
    int json, quiet, verbose;
    int exclude_seen; /* -1: library default */
    int model_is_set; /* --model given */
    const char *text; /* --text */
    int explain;      /* --explain */
    const char *format, *text_a, *text_b, *pooling; /* OPT_BERT */
    int horizon, holdout; /* forecast: 0 when not given */
    int distributed;      /* --distributed: train over MPI ranks (make MPI=1) */
    const char *checkpoint; /* --checkpoint FILE */
    int checkpoint_every; /* --checkpoint-every N (0: never) */
    aisle_config *cfg;/* --set, input options, --threads, --seed */
    aisle_config *eval_cfg; /* --protocol, --negatives, -k: kept apart because model kinds
                             * may use the same names for training options */
} cli_opts;

typedef struct cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* synopsis and description; options are listed from opts */
    unsigned opts;     /* OPT_* accepted */
    int (*run)(cli_opts *o);
} cli_command;

/* ---- output.c ---- */

/* Prints "aisle: error: ..." to stderr and returns `code`. */
int cli_error(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Reports a failed library call: "aisle: error: <what>: <last error>". */
int cli_fail(int rc, const char *what);

/* ---- args.c ---- */

/* Parses argv[1..argc) for command c into o (o->cfg created).  Returns
 * CLI_OK or CLI_USAGE (message printed).  Free with cli_opts_free. */
int cli_parse(const cli_command *c, int argc, char **argv, cli_opts *o);
void cli_opts_free(cli_opts *o);
/* Prints the option list of a command (with defaults), and for OPT_SET the
 * library's option table. */
void cli_print_options(FILE *out, const cli_command *c);

/* Loads o->data into a new dataset with o->cfg's input options; verbose
 * prints the load report.  Returns a CLI_* code (message printed). */
int cli_load_data(const cli_opts *o, aisle_dataset **out);

/* Installs the stderr progress display on cfg when stderr is a terminal
 * and not quiet.  `what` labels the line ("train als"). */
void cli_progress_install(aisle_config *cfg, const cli_opts *o, const char *what);
/* Ends a progress line (newline) if one was drawn. */
void cli_progress_done(void);

/* JSON output helpers (stdout). */
void cli_json_string(FILE *f, const char *s);
void cli_json_number(FILE *f, double v);
/* A text value as JSON: a number when the whole text is a finite number,
 * true/false as booleans, else a string. */
void cli_json_scalar(FILE *f, const char *text);
/* "key=value key=\"quoted value\" ..." (aisle_config_to_string) as a JSON
 * object of scalars. */
void cli_json_options(FILE *f, const char *text);
/* Prints the library's option table and the model kinds (`aisle help
 * options`, and the tail of a command's help). */
void cli_print_library_options(FILE *out);

/* Loads a product catalog for titles when o->catalog is set (else *out =
 * NULL), with o->cfg's library options (catalog_columns, lenient, ...; when
 * the command also reads an event file, that file's input options are not
 * applied), and looks titles up: the title, else the description, else "".
 * Warns once on stderr (unless --quiet) when no product has a title. */
typedef struct cli_titles cli_titles;
int cli_titles_load(const cli_opts *o, cli_titles **out);
const char *cli_title(const cli_titles *t, const char *item_key);
/* Loads the shopper attribute table of --users (a catalog keyed by user;
 * *out = NULL without --users), with the catalog's options. */
int cli_users_load(const cli_opts *o, aisle_catalog **out);
/* Titles from a catalog the caller keeps owning (NULL: *out = NULL). */
int cli_titles_from_catalog(aisle_catalog *cat, cli_titles **out);
/* The catalog behind t (NULL when none). */
aisle_catalog *cli_titles_catalog(const cli_titles *t);
/* Adds to a loaded model the products of the --catalog file it does not
 * know (t may be NULL: none), scored from their features, and the shoppers
 * of --users (aisle_model_add_items / _add_users).  A kind without catalog
 * features keeps the catalog for titles only (a note with --verbose); a
 * --users table such a model cannot take is an error. */
int cli_add_catalog(const cli_opts *o, aisle_model *m, const cli_titles *t);
void cli_titles_free(cli_titles *t);

/* A new config for aisle_evaluate: threads and seed of o->cfg, then
 * --protocol, --negatives and -k.  Returns a CLI_* code. */
int cli_eval_config(const cli_opts *o, aisle_config **out);

/* Text that came from data (keys, titles, metric names, messages quoting
 * them) as text output shows it: control characters (C0, DEL, C1) escaped
 * as \xNN / \uNNNN, as JSON output escapes them, so a key holding ESC
 * cannot drive the terminal.  cli_text returns s itself when nothing needs
 * escaping, else the escaped form in buf (cut with "..." to cap). */
void cli_write_text(FILE *f, const char *s);
const char *cli_text(const char *s, char *buf, size_t cap);

/* Prints UTF-8 text in exactly `width` terminal columns: cut at a
 * character boundary, padded with spaces (wide CJK characters count 2). */
void cli_print_cell(FILE *f, const char *s, int width);

/* Seconds since an arbitrary point (monotonic). */
double cli_now(void);

/* Subcommands. */
int cmd_train(cli_opts *o);
int cmd_eval(cli_opts *o);
int cmd_recommend(cli_opts *o);
int cmd_similar(cli_opts *o);
int cmd_explain(cli_opts *o);
int cmd_info(cli_opts *o);
int cmd_generate(cli_opts *o);
int cmd_demo(cli_opts *o);
/* Text classification (cmd_classify.c): train and eval of intent models,
 * and `aisle classify`. */
int cmd_train_intent(cli_opts *o);
int cmd_eval_intent(cli_opts *o, aisle_model *m);
int cmd_classify(cli_opts *o);
int cmd_forecast(cli_opts *o);
/* `aisle train --distributed` (cmd_dist.c): under mpirun with the CLI of
 * `make MPI=1`; elsewhere a usage error saying so. */
int cmd_train_dist(cli_opts *o);
/* `aisle eval --distributed --model FILE --data TEST` (cmd_dist.c). */
int cmd_eval_dist(cli_opts *o);
/* Prints an evaluation as `aisle eval` does (text or --json; secs < 0:
 * no training time).  Returns a CLI_* code. */
int cli_eval_report(const cli_opts *o, const char *kind, double secs, const aisle_eval_result *res);
/* Search commands (cmd_search.c); they parse their own arguments. */
int cmd_index_raw(int argc, char **argv);
int cmd_search_raw(int argc, char **argv);
int cmd_search_learn_raw(int argc, char **argv);
#define CMD_INDEX_USAGE                                                                                   \
    "usage: aisle index --catalog FILE [--columns SPEC] --out IDX [--model M] [--encoder E]\n"            \
    "                   [--set KEY=VALUE]... [--quiet]\n\n"                                                \
    "Builds a product search index from a catalog file (CSV with a header: item_id, title,\n"          \
    "description, category, brand, price; other columns become attributes) and saves it.\n"           \
    "--columns maps roles to columns (option catalog_columns, e.g. key=sku,title=name).\n"           \
    "--model stores the model's item popularity (ranks suggestions).\n"                                \
    "--encoder E (a BERT directory, a file of aisle bert import, or an intent model file of\n"        \
    "architecture transformer or bag) stores each product's text vector for semantic retrieval\n"    \
    "(a BERT's: option search_encoder_pooling, mean, cls or pooler; an intent model's: its own).\n"
#define CMD_SEARCH_USAGE                                                                                  \
    "usage: aisle search --index IDX (--query TEXT | --queries FILE) [-k N] [--filter F]...\n"         \
    "                    [--user KEY | --session ITEM,ITEM...] [--model M] [--facets LIST]\n"         \
    "                    [--encoder E] [--explain] [--suggest] [--json] [--set KEY=VALUE]...\n\n"     \
    "Searches the index (k = 10 by default).  Filters: category=PATH (prefix), brand=NAME,\n"         \
    "price=LO..HI, NAME=VALUE (attribute); all must hold.  With --model, behaviour-space\n"          \
    "fusion; with --user or --session as well, personalised ranking.  --encoder E (the encoder\n"     \
    "the index was built with; another is refused) adds semantic retrieval from the query's text\n"   \
    "vector (option search_encoder_weight).  --queries runs one query\n"                              \
    "per line; with --json each prints one JSON array of {item, score, matched} (an object\n"         \
    "{total, hits, facets} with --facets).  --suggest prints completions of the text instead.\n"      \
    "--set takes search_* options (docs/OPTIONS.md).\n"
#define CMD_SEARCH_LEARN_USAGE                                                                            \
    "usage: aisle search-learn --index IDX --log FILE [--model M] [--encoder E] --out IDX2\n"          \
    "                          [--set KEY=VALUE]... [--quiet]\n\n"                                     \
    "Learns the ranking weights of the index from a search log (a CSV with the header\n"              \
    "query_id,query,user,item,event; event: shown, click, cart or purchase) by pairwise\n"            \
    "logistic regression and saves the index with them as IDX2 (searches use them unless\n"           \
    "search_ranker=blend).  --model: the model whose fusion, user scores and popularity are\n"        \
    "signals (give it to `aisle search` too); --encoder: the index's encoder, when it has one.\n"      \
    "--set takes search_* options (search_learn_l2, search_learn_max_pairs, search_learn_seed).\n"     \
    "Prints each learned weight.\n"

/* cmd_bert.c: pretrained BERT checkpoints.  cmd_classify_bert runs
 * `aisle classify` when --model is a bert model file (*handled set);
 * otherwise it leaves *handled 0 and the intent classifier takes over. */
int cmd_import(cli_opts *o);
int cmd_embed(cli_opts *o);
int cmd_classify_bert(cli_opts *o, int *handled);
int cmd_score_pair(cli_opts *o);

#endif
