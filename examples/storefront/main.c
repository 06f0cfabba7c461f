/* main.c - storefront: a small web shop over libmicrohttpd that shows aisle
 * at work (recommendations with reasons, similar items, a cart that changes
 * what is shown, search and a help chat when the library has them).
 *
 *   storefront [--listen 127.0.0.1:8080] [--demo "demo_users=2000 ..."]
 *              [--data events.csv --data-options "columns=..."]
 *              [--catalog catalog.csv --catalog-options "..."]
 *              [--messages messages.csv] [--kinds popular,itemknn,als]
 *              [--model-dir DIR] [--templates DIR] [--threads N] [--no-refit]
 *
 * See docs/STOREFRONT.md. */
#include "store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef STOREFRONT_TEMPLATES
#define STOREFRONT_TEMPLATES "examples/storefront/templates"
#endif

static void usage(FILE *f) {
    fputs("usage: storefront [options]\n"
          "  --listen IP:PORT        where to listen (default 127.0.0.1:8080; port 0 picks a free one)\n"
          "  --demo OPTIONS          options of the built-in demo store, e.g. \"demo_users=2000 seed=7\"\n"
          "  --data FILE             a shop's events export instead of the demo store\n"
          "  --data-options OPTIONS  aisle data options for it, e.g. \"columns=user=CustomerID,item=StockCode\"\n"
          "  --catalog FILE          the shop's product export (titles, categories, prices)\n"
          "  --catalog-options OPTS  aisle options for it, e.g. \"catalog_columns=key=StockCode,title=Description\"\n"
          "  --messages FILE         labelled help messages (text, intent) for the help chat\n"
          "  --messages-options OPTS aisle options for it, e.g. \"columns=text=utterance,label=intent\"\n"
          "  --kinds LIST            model kinds to train (default popular,itemknn,als)\n"
          "  --model-dir DIR         load KIND.aisle from DIR when present; save trained models there\n"
          "  --no-refit              serve the models trained on the split (faster start)\n"
          "  --templates DIR         HTML templates, CSS and JS (default: the source folder)\n"
          "  --currency SYMBOL       price prefix (default $)\n"
          "  --threads N             server threads and training threads (default 4)\n"
          "  --quiet                 no training progress line\n",
          f);
}

int main(int argc, char **argv) {
    static sf_app app;
    sf_options *o = &app.opt;
    o->listen = "127.0.0.1:8080";
    o->kinds = "popular,itemknn,als";
    o->templates = STOREFRONT_TEMPLATES;
    o->currency = "$";
    o->refit = 1;
    enum { DATA_OPTS = 256, CATALOG_OPTS, MESSAGES_OPTS, NO_REFIT, CURRENCY, MODEL_DIR, KINDS, QUIET };
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},   {"demo", required_argument, NULL, 'd'},
        {"data", required_argument, NULL, 'D'},     {"data-options", required_argument, NULL, DATA_OPTS},
        {"catalog", required_argument, NULL, 'c'},  {"catalog-options", required_argument, NULL, CATALOG_OPTS},
        {"messages", required_argument, NULL, 'm'}, {"messages-options", required_argument, NULL, MESSAGES_OPTS},
        {"kinds", required_argument, NULL, KINDS},  {"model-dir", required_argument, NULL, MODEL_DIR},
        {"no-refit", no_argument, NULL, NO_REFIT},  {"templates", required_argument, NULL, 't'},
        {"currency", required_argument, NULL, CURRENCY}, {"threads", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, QUIET},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "l:d:D:c:m:t:j:h", longs, NULL)) != -1) {
        switch (c) {
        case 'l': o->listen = optarg; break;
        case 'd': o->demo = optarg; break;
        case 'D': o->data = optarg; break;
        case DATA_OPTS: o->data_options = optarg; break;
        case 'c': o->catalog = optarg; break;
        case CATALOG_OPTS: o->catalog_options = optarg; break;
        case 'm': o->messages = optarg; break;
        case MESSAGES_OPTS: o->messages_options = optarg; break;
        case KINDS: o->kinds = optarg; break;
        case MODEL_DIR: o->model_dir = optarg; break;
        case NO_REFIT: o->refit = 0; break;
        case 't': o->templates = optarg; break;
        case CURRENCY: o->currency = optarg; break;
        case 'j': o->threads = atoi(optarg); break;
        case QUIET: o->quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || o->threads < 0 || o->threads > 64 || strlen(o->currency) > 8) {
        usage(stderr);
        return 2;
    }
    int rc = sf_app_open(&app);
    if (rc == AISLE_OK) rc = sf_serve(&app);
    else rc = 1;
    sf_app_close(&app);
    return rc;
}
