/* make_corpus.c - writes the fuzzers' seed corpora (tests/fuzz/corpus/) from
 * the project itself: small valid event and catalog files of every variant
 * the loaders accept (plain and gzip), multilingual text for the
 * tokenizer and feature hashing, and small saved models of every kind that can be saved, in
 * each tensor encoding.  Run by `make fuzz-corpus`; the output is
 * committed so fuzzing starts from valid inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "aisle.h"
#include "models/models.h"
#include "text_encoder_fixture.h"

static void die(const char *what) {
    fprintf(stderr, "make_corpus: %s: %s\n", what, aisle_last_error());
    exit(1);
}

static void write_seed(const char *dir, const char *name, unsigned char variant, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) die(path);
    if (variant != 0xFF) fputc(variant, f);
    fwrite(data, 1, len, f);
    fclose(f);
}

/* A dataset_load seed: 6 option bytes, then the text. */
static void write_opt_seed(const char *dir, const char *name, const unsigned char opt[6], const void *data,
                           size_t len) {
    unsigned char *buf = malloc(len + 6);
    if (!buf) die("malloc");
    memcpy(buf, opt, 6);
    memcpy(buf + 6, data, len);
    write_seed(dir, name, 0xFF, buf, len + 6);
    free(buf);
}

static void write_gz_seed(const char *dir, const char *name, unsigned char variant, const char *text) {
    uLongf cap = compressBound((uLong)strlen(text)) + 32;
    unsigned char *out = malloc(cap);
    /* a real gzip stream (header + deflate + trailer), as gzip(1) writes */
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("deflateInit2");
    zs.next_in = (Bytef *)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) die("deflate");
    write_seed(dir, name, variant, out, zs.total_out);
    deflateEnd(&zs);
    free(out);
}

/* First `lines` lines of a file. */
static char *head_of(const char *path, int lines) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    int c, n = 0;
    while ((c = fgetc(f)) != EOF && n < lines && len + 1 < cap) {
        buf[len++] = (char)c;
        if (c == '\n') n++;
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Search seeds: saved indexes (fuzz_search_index_load) of the demo
 * catalog with and without removals, compression, word pairs and encoder vectors, and queries with
 * filters (fuzz_search_query: byte 0 = option bits, then lines). */
static void search_seeds(const char *root, const char *catalog_csv) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/search_index_load", root);
    mkdir(dir, 0755);
    aisle_catalog *cat;
    aisle_search_index *idx;
    if (aisle_catalog_new(&cat) || aisle_catalog_load(cat, catalog_csv, NULL)) die("search catalog");
    if (aisle_catalog_set_attribute(cat, "P00001", "color", "red")) die("attribute");
    for (int v = 0; v < 4; v++) {
        /* v 3: with the pairs section (pairs kept at 2 adjacent products) */
        aisle_config *bc;
        if (aisle_config_new(&bc) || aisle_config_set(bc, "search_pair_min_docs", v == 3 ? "2" : "128"))
            die("config");
        if (aisle_search_index_new(&idx) || aisle_search_index_build(idx, cat, bc)) die("search index");
        aisle_config_free(bc);
        if (v >= 1 && aisle_search_index_remove(idx, "P00002")) die("remove");
        aisle_config *sc;
        if (aisle_config_new(&sc) || aisle_config_set(sc, "compression", v == 2 ? "0" : "6")) die("config");
        snprintf(path, sizeof path, "%s/demo-%d.aidx", dir, v);
        if (aisle_search_index_save(idx, path, sc)) die("search save");
        aisle_config_free(sc);
        aisle_search_index_free(idx);
    }
    /* with text-encoder vectors of the bert tests' small model (the fuzz
     * target attaches the same model, so searches reach the encoder scan) */
    aisle_bert *bert;
    aisle_config *one;
    if (aisle_bert_import(&bert, "tests/bert/data/cls", NULL)) die("bert fixture");
    if (aisle_config_new(&one) || aisle_config_parse(one, "threads=1 compression=0")) die("config");
    if (aisle_search_index_new(&idx) || aisle_search_index_set_encoder(idx, bert, cat, one) ||
        aisle_search_index_build(idx, cat, one) || aisle_search_index_remove(idx, "P00003"))
        die("search index with encoder");
    snprintf(path, sizeof path, "%s/demo-encoder.aidx", dir);
    if (aisle_search_index_save(idx, path, one)) die("search save");
    aisle_search_index_free(idx);
    /* with the vectors of a small intent transformer (section 261, pooling 4;
     * demo-text-encoder-fp1.aidx, kept, was written with pooling 3) */
    aisle_model *text = fuzz_train_text_encoder();
    if (!text || aisle_search_index_new(&idx) || aisle_search_index_set_text_model(idx, text, cat, one) ||
        aisle_search_index_build(idx, cat, one) || aisle_search_index_remove(idx, "P00003"))
        die("search index with an intent encoder");
    snprintf(path, sizeof path, "%s/demo-text-encoder.aidx", dir);
    if (aisle_search_index_save(idx, path, one)) die("search save");
    aisle_search_index_free(idx);
    aisle_model_free(text);
    /* with learned ranking weights (the optional ranker section) */
    static const char log_csv[] = "query_id,query,user,item,event\ns1,sage green,,P00002,shown\n"
                                  "s1,sage green,,P00003,purchase\ns2,white,,P00004,shown\ns2,white,,P00005,click\n";
    aisle_search_log *log;
    if (aisle_search_log_load_buffer(&log, log_csv, sizeof log_csv - 1, "log.csv", NULL)) die("search log");
    if (aisle_search_index_new(&idx) || aisle_search_index_build(idx, cat, NULL)) die("search index");
    if (aisle_search_index_learn(idx, log, NULL, NULL, NULL)) die("search learn");
    snprintf(path, sizeof path, "%s/demo-ranker.aidx", dir);
    if (aisle_search_index_save(idx, path, one)) die("search save");
    aisle_search_log_free(log);
    aisle_search_index_free(idx);
    aisle_config_free(one);
    aisle_bert_free(bert);
    aisle_catalog_free(cat);
    snprintf(dir, sizeof dir, "%s/search_query", root);
    mkdir(dir, 0755);
    static const char *const q[] = {
        "\x40wireless earbuds", "\x48red lunch\ncolor=red\nprice=..20", "\x60wireles erbuds",
        "\x41\xe8\x93\x9d\xe7\x89\x99 case", "\x50red lamp chair\ncategory=electronics",
        "\x42he\nbrand=sonic", "\xe0\xff\xfe bad \xc3\x28 utf8", "\x58 ?!,,-- \nprice=5..1"};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "query-%zu.txt", i);
        write_seed(dir, name, 0xFF, q[i], strlen(q[i]));
    }
}

/* The training checkpoint that fuzz_checkpoint reads against: kind
 * "fuzzkind", three fields, three state arrays of both widths. */
static void checkpoint_seed(const char *root) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/checkpoint", root);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/epoch-3.ckpt", dir);
    float weights[6 * 4];
    uint32_t order[5] = {4, 2, 0, 1, 3};
    uint64_t counters[3] = {17, 1, 0x3ff0000000000000ull};
    for (int k = 0; k < 6 * 4; k++) weights[k] = 0.25f * (float)(k % 7) - 0.5f;
    const model_ckpt_field fields[] = {{"ranks", 2}, {"seed", 0x5eed5eed5eed5eedull}, {"factors", 4}};
    const model_ckpt_part parts[] = {{"weights", weights, 6 * 4, 4}, {"user_order", order, 5, 4},
                                     {"counters", counters, 3, 8}};
    const model_ckpt ck = {"fuzzkind", fields, 3, parts, 3};
    if (model_ckpt_write(path, NULL, &ck, 3)) die("checkpoint");
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : "tests/fuzz/corpus";
    char dir[512], tmp[512];
    snprintf(tmp, sizeof tmp, "%s/../../tmp/corpus-demo", root);
    aisle_config *cfg;
    if (aisle_config_new(&cfg) || aisle_config_parse(cfg, "demo_users=40 demo_items=60 demo_days=5 demo_messages=5 seed=3"))
        die("config");
    if (aisle_demo_write(cfg, tmp)) die("demo_write");
    char path[600];

    /* ---- events: one seed per loader variant; the first 6 bytes are the
     * options fuzz_dataset_load decodes (delimiter, header/lenient/quoting/
     * encoding/negative, columns, time format, limits/gzip/file, event) ---- */
    snprintf(dir, sizeof dir, "%s/dataset_load", root);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/events.csv", tmp);
    char *events = head_of(path, 25);
    static const unsigned char o_demo[6] = {1, 1, 2, 0, 0, 0}, o_demo_gz[6] = {1, 1, 2, 0, 8 | 32, 0},
                               o_demo_cut[6] = {1, 5, 2, 0, 8 | 16 | 32, 3}, o_demo_file[6] = {0, 0, 0, 0, 32, 0},
                               o_ml[6] = {2, 2, 1, 0, 0, 0}, o_ml1m[6] = {3, 2, 1, 0, 32, 2},
                               o_retail[6] = {1, 1 | 4, 3, 0, 0, 0}, o_semi[6] = {4, 4, 4, 1, 0, 0},
                               o_pipe[6] = {5, 2 | 1 << 5, 5, 0, 0, 0}, o_own_time[6] = {1, 2, 6, 9, 32, 1},
                               o_limits[6] = {1, 4, 4, 0, 1 | 2 | 4 | 32, 0};
    write_opt_seed(dir, "demo-events.csv", o_demo, events, strlen(events));
    write_opt_seed(dir, "demo-events-gz-file.csv", o_demo_gz, events, strlen(events));
    write_opt_seed(dir, "demo-events-gz-cut-lenient.csv", o_demo_cut, events, strlen(events));
    write_opt_seed(dir, "demo-events-sniffed-file.csv", o_demo_file, events, strlen(events));
    const char *tsv = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n";
    write_opt_seed(dir, "movielens.data", o_ml, tsv, strlen(tsv));
    const char *dat = "1::1193::5::978300760\r\n1::661::3::978302109\r\n2::1357::5::978298709\r\n";
    write_opt_seed(dir, "ml1m.dat", o_ml1m, dat, strlen(dat));
    const char *retail =
        "\xEF\xBB\xBFInvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,\"WHITE HANGING HEART T-LIGHT HOLDER\",6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        "536365,71053,\"WHITE METAL LANTERN, \"\"LARGE\"\"\",6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
        "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom\n"
        "536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom\n";
    write_opt_seed(dir, "online-retail.csv", o_retail, retail, strlen(retail));
    const char *us = "17850;85123A;12/1/10 8:26\n17850;71053;12/1/10 8:26\n13047;84406B;12/1/10 9:02\n";
    write_opt_seed(dir, "semicolon.csv", o_semi, us, strlen(us));
    const char *pipe = "mug|u1|purchase\ntea|u2|view\n\"kettle|xl\"|u1|cart\n";
    write_opt_seed(dir, "pipe.txt", o_pipe, pipe, strlen(pipe));
    static const char own[] = "%Y%m%d %H%M\0u1,i1,20200101 0830\nu2,i2,19991231 2359\n";
    write_opt_seed(dir, "own-time-format.csv", o_own_time, own, sizeof own - 1);
    const char *wide = "u1,i1,1,2,3,4,5\nu2,i2\n\"a long quoted user key\",i3\n";
    write_opt_seed(dir, "small-limits.csv", o_limits, wide, strlen(wide));
    free(events);

    /* ---- catalog ---- */
    snprintf(dir, sizeof dir, "%s/catalog_load", root);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/catalog.csv", tmp);
    char *catalog = head_of(path, 12);
    write_seed(dir, "v0-demo-catalog.csv", 0, catalog, strlen(catalog));
    write_seed(dir, "v3-demo-catalog.csv", 3, catalog, strlen(catalog));
    write_gz_seed(dir, "v0-demo-catalog.csv.gz", 0, catalog);
    const char *uitem = "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1\n"
                        "2|Caf\xE9 au lait (1994)|01-Jan-1994||http://y|0|1|0|0\n";
    write_seed(dir, "v1-movielens-latin1.item", 1, uitem, strlen(uitem));
    free(catalog);

    /* ---- tokenizer, n-grams, hashing (fuzz_features: first byte = options) ---- */
    snprintf(dir, sizeof dir, "%s/features", root);
    mkdir(dir, 0755);
    static const char *const texts[] = {
        "Wireless Bluetooth Headphones, 2.4GHz - Noise-Cancelling (Black)",
        "Größe: Äpfel & Öl – STRASSE Übergröße",
        "Беспроводные НАУШНИКИ с шумоподавлением",
        "Ασύρματα ΑΚΟΥΣΤΙΚΑ για κινητό",
        "无线蓝牙耳机 iPhone 15 保护壳",
        "ワイヤレスイヤホン 무선 이어폰",
        "bad utf8: \xC3\x28 \xE2\x82 \xF0\x9F\x98 \xFF end",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "text-%zu.txt", i);
        write_seed(dir, name, (unsigned char)i, texts[i], strlen(texts[i]));
    }

    /* ---- model_struct: programs of section edits (fuzz_model_struct.c):
     * each trained model as it is, and with a section of every other model
     * transplanted into it ---- */
    snprintf(dir, sizeof dir, "%s/model_struct", root);
    mkdir(dir, 0755);
    for (unsigned b = 0; b < 16; b++) {
        char name[32];
        unsigned char prog[1 + 8 * 4];
        prog[0] = (unsigned char)b;
        snprintf(name, sizeof name, "model-%u", b);
        write_seed(dir, name, 0xFF, prog, 1);
        for (unsigned t = 0; t < 4; t++) { /* transplants: op 6, arg = other model | section << 8 */
            unsigned char *e = prog + 1 + 8 * t;
            memset(e, 0, 8);
            e[0] = 6;
            e[4] = (unsigned char)(b ^ 1);
            e[5] = (unsigned char)(4 + t);
        }
        snprintf(name, sizeof name, "model-%u-transplants", b);
        write_seed(dir, name, 0xFF, prog, sizeof prog);
    }
    /* each kind section dropped (index 5 and up: after the generic ones), so
     * one more edit reaches a state the writer never produces */
    for (unsigned b = 0; b < 24; b++)
        for (unsigned sec = 5; sec < 12; sec++) {
            char name[40];
            unsigned char prog[9] = {(unsigned char)b, 5, (unsigned char)sec, 0, 0, 0, 0, 0, 0};
            snprintf(name, sizeof name, "model-%u-drop-%u", b, sec);
            write_seed(dir, name, 0xFF, prog, sizeof prog);
        }

    /* ---- models: every kind that saves, in each encoding ---- */
    snprintf(dir, sizeof dir, "%s/model_load", root);
    mkdir(dir, 0755);
    aisle_dataset *ds;
    if (aisle_demo_generate(cfg, &ds)) die("demo_generate");
    for (int k = 0; k < aisle_model_kind_count(); k++) {
        const char *kind;
        aisle_model_kind_info(k, &kind, NULL);
        if (!strcmp(kind, "intent")) continue; /* trains from texts; tests/fuzz/corpus/model_load keeps a seed */
        aisle_config *mc;
        char text[256];
        snprintf(text, sizeof text,
                 "model=%s factors=4 epochs=2 hidden=8 maxlen=4 blocks=1 heads=1 batch_size=8 threads=1", kind);
        aisle_config_new(&mc);
        if (aisle_config_parse(mc, text)) die(text);
        /* pair reads at least 8 tokens; a small text table keeps seeds small */
        if (!strcmp(kind, "pair") && aisle_config_parse(mc, "maxlen=8 hash_buckets=1024 id_factors=2 epochs=1"))
            die("pair options");
        aisle_model *m;
        if (aisle_model_train(ds, mc, &m)) die(kind);
        static const char *const enc[] = {"quantize=none compression=0", "quantize=fp16 compression=6",
                                          "quantize=int8 compression=6"};
        for (int e = 0; e < 3; e++) {
            aisle_config *sc;
            aisle_config_new(&sc);
            aisle_config_parse(sc, enc[e]);
            void *bytes;
            size_t len;
            int rc = aisle_model_save_buffer(m, sc, &bytes, &len);
            if (rc == AISLE_OK) {
                char name[64];
                snprintf(name, sizeof name, "%s-%s.aisle", kind, e == 0 ? "fp32" : e == 1 ? "fp16" : "int8");
                write_seed(dir, name, 0xFF, bytes, len);
                aisle_free(bytes);
            } else if (rc != AISLE_EUNSUPPORTED) {
                die("save");
            }
            aisle_config_free(sc);
        }
        aisle_model_free(m);
        aisle_config_free(mc);
    }

    /* ---- mappable models (fuzz_model_mmap): factor kinds saved raw,
     * aligned, with and without the stored int8 copy, and with the key
     * tables and history served in place (store_mappable) ---- */
    snprintf(dir, sizeof dir, "%s/model_mmap", root);
    mkdir(dir, 0755);
    static const char *const mkinds[] = {"als", "bpr", "mf", "hybrid"};
    for (int k = 0; k < 4; k++) {
        aisle_config *mc, *sc;
        char text[128];
        snprintf(text, sizeof text, "model=%s factors=4 epochs=2 threads=1", mkinds[k]);
        aisle_config_new(&mc);
        if (aisle_config_parse(mc, text)) die(text);
        aisle_model *m;
        if (aisle_model_train(ds, mc, &m)) die(mkinds[k]);
        /* -fp16: factor tensors served as stored (quantize=fp16) */
        static const char *const saves[4] = {"compression=0", "compression=0 store_int8=true",
                                             "compression=0 store_int8=true store_mappable=true",
                                             "compression=0 quantize=fp16 store_int8=true store_mappable=true"};
        static const char *const suffix[4] = {"", "-int8", "-tables", "-fp16"};
        for (int i8 = 0; i8 < 4; i8++) {
            aisle_config_new(&sc);
            if (aisle_config_parse(sc, saves[i8])) die("save options");
            void *bytes;
            size_t len;
            if (aisle_model_save_buffer(m, sc, &bytes, &len)) die("save");
            char name[64];
            snprintf(name, sizeof name, "%s%s.aisle", mkinds[k], suffix[i8]);
            write_seed(dir, name, 0xFF, bytes, len);
            aisle_free(bytes);
            aisle_config_free(sc);
        }
        aisle_model_free(m);
        aisle_config_free(mc);
    }

    /* ---- forecasts: a file per method family, and option texts ---- */
    snprintf(dir, sizeof dir, "%s/forecast_load", root);
    mkdir(dir, 0755);
    static const char *const fopts[] = {"period=day method=auto forecast_trees=3 horizon=4",
                                        "period=day method=ets season_length=7 horizon=3",
                                        "period=week method=snaive holidays=2026-01-01",
                                        "period=day method=croston horizon=2"};
    aisle_dataset *sales; /* 60 days of 6 products: long enough for the global model */
    if (aisle_dataset_new(&sales)) die("dataset");
    for (int d = 0; d < 60; d++)
        for (int i = 0; i < 6; i++) {
            char key[16];
            snprintf(key, sizeof key, "p%d", i);
            if ((d + i) % (i + 1) == 0 &&
                aisle_dataset_add_event(sales, "u", key, "purchase", 1 + (d * 7 + i) % 5, 1767225600 + (int64_t)d * 86400))
                die("event");
        }
    for (size_t i = 0; i < sizeof fopts / sizeof fopts[0]; i++) {
        aisle_config *fc_cfg;
        aisle_config_new(&fc_cfg);
        if (aisle_config_parse(fc_cfg, fopts[i])) die(fopts[i]);
        aisle_forecast *fc;
        if (aisle_forecast_train(sales, NULL, fc_cfg, &fc)) die(fopts[i]);
        void *bytes;
        size_t len;
        if (aisle_forecast_save_buffer(fc, NULL, &bytes, &len)) die("forecast save");
        char name[64];
        snprintf(name, sizeof name, "forecast-%zu.aisle", i);
        write_seed(dir, name, 0xFF, bytes, len);
        aisle_free(bytes);
        snprintf(name, sizeof name, "options-%zu.txt", i);
        char text[256];
        snprintf(text, sizeof text, "#%s", fopts[i]);
        write_seed(dir, name, 0xFF, text, strlen(text));
        aisle_forecast_free(fc);
        aisle_config_free(fc_cfg);
    }
    /* ---- hybrid fit=als with a catalog: a product no event mentions is
     * served its neighbours' mean vector, which explain_features names ---- */
    snprintf(dir, sizeof dir, "%s/model_load", root);
    {
        aisle_catalog *hc;
        aisle_config *hcfg;
        aisle_model *hm;
        const char *first, *title;
        void *bytes;
        size_t len;
        snprintf(path, sizeof path, "%s/catalog.csv", tmp);
        if (aisle_catalog_new(&hc) || aisle_catalog_load(hc, path, NULL) || aisle_catalog_key(hc, 0, &first) ||
            aisle_catalog_item_text(hc, first, "title", &title) ||
            aisle_catalog_add_item(hc, "NEW-1", title, NULL, NULL, NULL, 9.5))
            die("hybrid catalog");
        if (aisle_config_new(&hcfg) ||
            aisle_config_parse(hcfg, "model=hybrid fit=als factors=4 cold_neighbours=3 threads=1") ||
            aisle_model_train_with_catalog(ds, hc, hcfg, &hm))
            die("hybrid fit=als");
        if (aisle_model_save_buffer(hm, NULL, &bytes, &len)) die("save hybrid fit=als");
        write_seed(dir, "hybrid-fitals.aisle", 0xFF, bytes, len);
        aisle_free(bytes);
        aisle_model_free(hm);
        aisle_config_free(hcfg);
        aisle_catalog_free(hc);
    }
    aisle_dataset_free(sales);
    aisle_dataset_free(ds);

    /* ---- intent model of architecture transformer, each encoding ---- */
    snprintf(dir, sizeof dir, "%s/model_load", root);
    {
        static const char *const words[] = {"refund", "cancel", "track"};
        aisle_texts *tx;
        aisle_config *tc;
        aisle_model *tm;
        char line[64];
        if (aisle_texts_new(&tx) || aisle_config_new(&tc)) die("texts");
        for (int i = 0; i < 24; i++) {
            snprintf(line, sizeof line, "please %s my order %d", words[i % 3], i % 5);
            if (aisle_texts_add(tx, line, AISLE_NUL_TERMINATED, words[i % 3])) die("texts_add");
        }
        if (aisle_config_parse(tc, "architecture=transformer hidden=8 heads=2 ff_hidden=16 blocks=1 epochs=1 "
                                   "maxlen=8 hash_buckets=4096 threads=1") ||
            aisle_text_train(tx, tc, &tm))
            die("intent transformer");
        static const char *const tenc[] = {"quantize=none compression=0", "quantize=fp16 compression=6",
                                           "quantize=int8 compression=6"};
        for (int e = 0; e < 3; e++) {
            aisle_config *sc;
            void *bytes;
            size_t len;
            aisle_config_new(&sc);
            aisle_config_parse(sc, tenc[e]);
            if (aisle_model_save_buffer(tm, sc, &bytes, &len)) die("save intent transformer");
            char name[64];
            snprintf(name, sizeof name, "intent-transformer-%s.aisle", e == 0 ? "fp32" : e == 1 ? "fp16" : "int8");
            write_seed(dir, name, 0xFF, bytes, len);
            aisle_free(bytes);
            aisle_config_free(sc);
        }
        aisle_model_free(tm);
        aisle_config_free(tc);
        aisle_texts_free(tx);
    }
    /* ---- intent model of architecture bert (the tiny checkpoint of
     * tests/bert as its encoder, embedded), int8 to keep the seed small ---- */
    {
        char src[600], enc[600], opts[900];
        snprintf(src, sizeof src, "%s/../../bert/data/cls", root);
        snprintf(enc, sizeof enc, "%s/bert-encoder.aisle", tmp);
        aisle_bert *b;
        aisle_texts *tx;
        aisle_config *tc, *sc;
        aisle_model *tm;
        if (aisle_bert_import(&b, src, NULL) || aisle_bert_save(b, enc, NULL)) die("bert encoder");
        aisle_bert_free(b);
        if (aisle_texts_new(&tx) || aisle_config_new(&tc) || aisle_config_new(&sc)) die("texts");
        static const char *const rows[][2] = {{"great shop", "pos"}, {"the cafe costs", "price"}, {"hello paris", "greet"},
                                              {"great run", "pos"}, {"total costs", "price"}, {"hello here", "greet"}};
        for (int i = 0; i < 6; i++)
            if (aisle_texts_add(tx, rows[i][0], AISLE_NUL_TERMINATED, rows[i][1])) die("texts_add");
        snprintf(opts, sizeof opts, "architecture=bert encoder=\"%s\" head_epochs=2 threads=1", enc);
        if (aisle_config_parse(tc, opts) || aisle_text_train(tx, tc, &tm)) die("intent bert");
        void *bytes;
        size_t len;
        if (aisle_config_parse(sc, "quantize=int8 compression=6") || aisle_model_save_buffer(tm, sc, &bytes, &len))
            die("save intent bert");
        write_seed(dir, "intent-bert-int8.aisle", 0xFF, bytes, len);
        aisle_free(bytes);
        aisle_model_free(tm);
        /* kind pair read by the same encoder (format 2): a few ratings */
        aisle_dataset *pd;
        aisle_config *pc;
        if (aisle_dataset_new(&pd) || aisle_config_new(&pc)) die("pair bert");
        static const char *const ev[][2] = {{"a", "great shop"}, {"a", "the cafe"}, {"b", "hello paris"}, {"b", "great shop"}};
        for (int i = 0; i < 4; i++)
            if (aisle_dataset_add_event(pd, ev[i][0], ev[i][1], "rating", 1 + i, 10 + i)) die("pair bert events");
        snprintf(opts, sizeof opts, "model=pair encoder=\"%s\" head_epochs=2 threads=1 recent_items=2", enc);
        if (aisle_config_parse(pc, opts) || aisle_model_train(pd, pc, &tm)) die("pair bert");
        if (aisle_model_save_buffer(tm, sc, &bytes, &len)) die("save pair bert");
        write_seed(dir, "pair-bert-int8.aisle", 0xFF, bytes, len);
        aisle_free(bytes);
        aisle_model_free(tm);
        aisle_config_free(pc);
        aisle_dataset_free(pd);
        aisle_config_free(tc);
        aisle_config_free(sc);
        aisle_texts_free(tx);
    }
    snprintf(path, sizeof path, "%s/catalog.csv", tmp);
    search_seeds(root, path);
    checkpoint_seed(root);
    aisle_config_free(cfg);
    printf("make_corpus: seeds written under %s\n", root);
    return 0;
}
