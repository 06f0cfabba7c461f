/* bench_text.c - text classification (model kind intent) beside fastText
 * in the same run.
 *
 *   1. bitext-cs customer-service intents (27 labels): seeded stratified
 *      80/20 split; aisle `bag` (and `transformer` when built in, with its
 *      defaults) vs `fasttext supervised` with its defaults and with
 *      -wordNgrams 2 -epoch 25: accuracy, training seconds (wall and CPU),
 *      model bytes, predictions per second on one thread.
 *   2. online-shopping-zh reviews: category (10) and sentiment (2), seeded
 *      stratified 80/20 split, fastText fed the same tokens aisle's
 *      tokenizer produces (space-separated), with its defaults and with
 *      -wordNgrams 2 and 3.  Quick by default (a stratified, seeded 25%
 *      sample of the reviews: a couple of minutes); --zh-full or
 *      AISLE_BENCH_FULL=1 reads all 62,774 and adds the transformer.
 *   3. Latency of one short message (p50 / p99, one thread).
 *   4. Distillation: teacher, student fp32, student int8.
 *
 * fastText gets aisle's tokens for both data sets (lower-cased words; CJK
 * characters and bigrams), so both read the same words.  Training uses
 * `threads` threads for both (default 2, -thread for fastText).  fastText
 * prediction speed is timed with `fasttext predict` on the test file minus
 * the same command on an empty file (model loading).  Loading the data and
 * the split are shared with bench_text_encoder (bench_text_data.h).
 *
 * Data: AISLE_SHARED_DATA or ../shared/data; parts whose files or whose
 * peer (fasttext on PATH) are missing are skipped with a message.  Uses
 * only the public header.
 *
 * usage: bench_text [--threads N] [--skip-bitext] [--skip-zh] [--zh-full] [--zh-bag OPTIONS] [--[no-]zh-transformer]
 *                   [--no-fasttext] [--teacher-arch NAME] [--student OPTIONS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aisle.h"
#include "bench_text_data.h"

#define CORE_MIN_SZ(a, b) ((a) < (b) ? (a) : (b))

static double cpu_children(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static _Noreturn void die(const char *what) {
    fprintf(stderr, "bench_text: %s: %s\n", what, aisle_last_error());
    exit(1);
}

static int threads = 2;
static char tmp[256];
static int have_fasttext;
static const char *student_opts = "dim=8 hash_buckets=262144 distill_alpha=0.7 distill_temperature=3";

typedef struct row {
    char name[64];
    double acc, train_wall, train_cpu, bytes, pred_s;
} row;

static void print_header(const char *title) {
    printf("\n%s\n%-34s %9s %10s %10s %12s %12s\n", title, "model", "accuracy", "train s", "train CPU", "model bytes",
           "pred/s (1t)");
}
static void print_row(const row *r) {
    printf("%-34s %9.4f %10.2f %10.2f %12.0f %12.0f\n", r->name, r->acc, r->train_wall, r->train_cpu, r->bytes,
           r->pred_s);
}

/* Accuracy and one-thread predictions per CPU second. */
static void measure(const aisle_model *m, const aisle_texts *test, row *r) {
    aisle_text_eval *e;
    aisle_config *c;
    if (aisle_config_new(&c) || aisle_config_set(c, "threads", "1") || aisle_text_evaluate(m, test, c, &e))
        die("evaluate");
    aisle_text_eval_metric(e, "accuracy", &r->acc);
    aisle_text_eval_free(e);
    aisle_config_free(c);
    size_t n;
    aisle_texts_count(test, &n);
    const char *lab[1];
    float p[1];
    size_t k;
    double t0 = bt_cpu_thread();
    for (size_t i = 0; i < n; i++) {
        const char *text;
        aisle_texts_at(test, i, &text, NULL);
        if (aisle_text_classify(m, text, AISLE_NUL_TERMINATED, 1, lab, p, &k, NULL)) die("classify");
    }
    r->pred_s = (double)n / (bt_cpu_thread() - t0);
}

static double model_bytes(const aisle_model *m, const char *opts) {
    aisle_config *c;
    void *buf;
    size_t len;
    if (aisle_config_new(&c) || (opts && aisle_config_parse(c, opts)) || aisle_model_save_buffer(m, c, &buf, &len))
        die("save");
    aisle_free(buf);
    aisle_config_free(c);
    return (double)len;
}

/* Trains with opts (and threads); NULL when the library refuses. */
static aisle_model *try_train(const aisle_texts *tr, const char *opts, row *r) {
    aisle_config *c;
    char all[1024];
    snprintf(all, sizeof all, "threads=%d %s", threads, opts ? opts : "");
    if (aisle_config_new(&c) || aisle_config_parse(c, all)) die(all);
    aisle_model *m = NULL;
    double w0 = bt_wall(), c0 = bt_cpu_process();
    int rc = aisle_text_train(tr, c, &m);
    r->train_wall = bt_wall() - w0;
    r->train_cpu = bt_cpu_process() - c0;
    aisle_config_free(c);
    return rc ? NULL : m;
}

static aisle_model *train_aisle(const aisle_texts *tr, const char *opts, row *r) {
    aisle_model *m = try_train(tr, opts, r);
    if (!m) die(opts);
    return m;
}

/* ---- fastText ---- */

/* Writes texts as "__label__L tok tok ..." lines of aisle's tokens, in a
 * seeded random order when shuffle is set: fastText reads its input in
 * file order, and both data sets are sorted by label (aisle shuffles its
 * examples itself). */
static void write_fasttext(const aisle_texts *t, const char *path, const aisle_tokenizer *tok, int shuffle) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    size_t n;
    aisle_texts_count(t, &n);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) die("shuffle");
    for (size_t i = 0; i < n; i++) order[i] = i;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = n; shuffle && i > 1; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = (size_t)(x % i), tmpi = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmpi;
    }
    for (size_t r = 0; r < n; r++) {
        size_t i = order[r];
        const char *text, *label;
        aisle_texts_at(t, i, &text, &label);
        fputs("__label__", f);
        for (const char *s = label; *s; s++) fputc(*s == ' ' ? '_' : *s, f);
        aisle_tokens *tk;
        if (aisle_tokenizer_tokenize(tok, text, AISLE_NUL_TERMINATED, &tk)) die("tokenize");
        size_t nt;
        aisle_tokens_count(tk, &nt);
        for (size_t j = 0; j < nt; j++) {
            const char *s;
            size_t len;
            aisle_tokens_get(tk, j, &s, &len);
            fputc(' ', f);
            fwrite(s, 1, len, f);
        }
        aisle_tokens_free(tk);
        fputc('\n', f);
    }
    free(order);
    fclose(f);
}

/* Runs cmd and keeps the last outlen-1 bytes of its output (reading all
 * of it, so the command never dies of a closed pipe). */
static int run_cmd(const char *cmd, char *out, size_t outlen) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    char block[4096];
    for (size_t got; (got = fread(block, 1, sizeof block, p)) > 0;) {
        if (got >= outlen - 1) {
            memcpy(out, block + got - (outlen - 1), outlen - 1);
            n = outlen - 1;
        } else {
            size_t keep = CORE_MIN_SZ(n, outlen - 1 - got);
            memmove(out, out + n - keep, keep);
            memcpy(out + keep, block, got);
            n = keep + got;
        }
    }
    out[n] = '\0';
    return pclose(p);
}

static double file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size : -1;
}

/* Share of test.txt lines whose first token (the gold __label__) equals
 * the line of predicted.txt; -1 when the files do not pair up. */
static double fasttext_accuracy(void) {
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/test.txt", tmp);
    snprintf(b, sizeof b, "%s/predicted.txt", tmp);
    FILE *gold = fopen(a, "r"), *pred = fopen(b, "r");
    size_t n = 0, right = 0;
    int ok = gold && pred;
    char *gl = NULL, *pl = NULL;
    size_t gcap = 0, pcap = 0;
    while (ok && getline(&gl, &gcap, gold) > 0) {
        if (getline(&pl, &pcap, pred) <= 0) {
            ok = 0;
            break;
        }
        gl[strcspn(gl, " \n")] = '\0';
        pl[strcspn(pl, " \n")] = '\0';
        right += strcmp(gl, pl) == 0;
        n++;
    }
    free(gl);
    free(pl);
    if (gold) fclose(gold);
    if (pred) fclose(pred);
    return ok && n ? (double)right / (double)n : -1;
}

/* fastText with extra arguments: trains, predicts the test file (accuracy),
 * times prediction. */
static void run_fasttext(const char *name, const char *args, size_t n_test, row *r) {
    char cmd[1024], out[4096];
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(cmd, sizeof cmd, "fasttext supervised -input %s/train.txt -output %s/ft -thread %d -verbose 1 %s 2>&1", tmp, tmp,
             threads, args);
    double w0 = bt_wall(), c0 = cpu_children();
    if (run_cmd(cmd, out, sizeof out) != 0) {
        fprintf(stderr, "bench_text: %s failed:\n%s\n", cmd, out);
        exit(1);
    }
    r->train_wall = bt_wall() - w0;
    r->train_cpu = cpu_children() - c0;
    snprintf(cmd, sizeof cmd, "%s/ft.bin", tmp);
    r->bytes = file_size(cmd);
    /* accuracy from the predictions themselves: `fasttext test` prints P@1
     * with three significant digits only */
    snprintf(cmd, sizeof cmd, "fasttext predict %s/ft.bin %s/test.txt > %s/predicted.txt 2>/dev/null", tmp, tmp, tmp);
    r->acc = run_cmd(cmd, out, sizeof out) == 0 ? fasttext_accuracy() : -1;
    /* one thread: predict the test file, minus loading the model */
    snprintf(cmd, sizeof cmd, "fasttext predict %s/ft.bin %s/empty.txt > /dev/null 2>&1", tmp, tmp);
    c0 = cpu_children();
    run_cmd(cmd, out, sizeof out);
    double load = cpu_children() - c0;
    snprintf(cmd, sizeof cmd, "fasttext predict %s/ft.bin %s/pred.txt > /dev/null 2>&1", tmp, tmp);
    c0 = cpu_children();
    run_cmd(cmd, out, sizeof out);
    double all = cpu_children() - c0;
    size_t reps = (50000 + n_test - 1) / n_test;
    r->pred_s = all - load > 0 ? (double)(n_test * reps) / (all - load) : 0;
}

static void prepare_fasttext(const aisle_texts *tr, const aisle_texts *te) {
    aisle_tokenizer *tok;
    if (aisle_tokenizer_new(&tok, NULL)) die("tokenizer");
    char p[512];
    snprintf(p, sizeof p, "%s/train.txt", tmp);
    write_fasttext(tr, p, tok, 1);
    snprintf(p, sizeof p, "%s/test.txt", tmp);
    write_fasttext(te, p, tok, 0);
    snprintf(p, sizeof p, "%s/empty.txt", tmp);
    FILE *f = fopen(p, "w");
    if (f) fclose(f);
    /* the test file repeated to >= 50k lines, so prediction outweighs loading */
    size_t n;
    aisle_texts_count(te, &n);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cd '%s' && : > pred.txt && for i in $(seq %zu); do cat test.txt >> pred.txt; done", tmp,
             (50000 + n - 1) / n);
    if (system(cmd) != 0) die("pred.txt");
    aisle_tokenizer_free(tok);
}

/* ---- parts ---- */

static void latency(const aisle_model *m, const char *arch) {
    static const char msg[] = "where is my refund for the last order?";
    enum { N = 20000 };
    static double t[N];
    const char *lab[3];
    float p[3];
    size_t k;
    for (int i = 0; i < 200; i++) aisle_text_classify(m, msg, AISLE_NUL_TERMINATED, 3, lab, p, &k, NULL);
    for (int i = 0; i < N; i++) {
        double t0 = bt_cpu_thread();
        aisle_text_classify(m, msg, AISLE_NUL_TERMINATED, 3, lab, p, &k, NULL);
        t[i] = bt_cpu_thread() - t0;
    }
    /* partial sort is enough for two percentiles: plain qsort */
    int cmp(const void *a, const void *b);
    qsort(t, N, sizeof *t, cmp);
    printf("latency %-12s one short message, top-3, one thread (thread CPU time): p50 %.1f us, p99 %.1f us\n", arch,
           t[N / 2] * 1e6, t[N * 99 / 100] * 1e6);
}

int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void bitext(int all_archs, const char *teacher_arch) {
    char path[1024];
    if (!bt_data_path(path, sizeof path, BT_BITEXT_FILE)) {
        printf("bitext-cs: skipped (%s not present)\n", path);
        return;
    }
    aisle_texts *all, *tr, *te;
    if (bt_load_split(path, BT_BITEXT_COLUMNS, 0, BT_TEST_FRACTION, BT_SPLIT_SEED, &all, &tr, &te)) die(path);
    size_t ntr, nte, nl;
    aisle_texts_count(tr, &ntr);
    aisle_texts_count(te, &nte);
    aisle_texts_label_count(all, &nl);
    char title[256];
    snprintf(title, sizeof title, "bitext-cs: %zu labels, %zu train / %zu test texts (stratified, seed 42), %d threads",
             nl, ntr, nte, threads);
    print_header(title);
    row r, bag_row;
    memset(&bag_row, 0, sizeof bag_row);
    aisle_model *bag = NULL;
    for (int a = 0; a < (all_archs ? 8 : 1); a++) {
        const char *arch = a == 0 ? "bag" : NULL;
        char opts[128];
        if (a > 0) {
            /* other architectures, when built in, are named in the option help */
            static const char *const others[] = {"transformer"};
            if (a - 1 >= (int)(sizeof others / sizeof *others)) break;
            arch = others[a - 1];
        }
        snprintf(opts, sizeof opts, "architecture=%s", arch);
        aisle_model *m;
        memset(&r, 0, sizeof r);
        snprintf(r.name, sizeof r.name, "aisle intent %s", arch);
        m = try_train(tr, opts, &r);
        if (!m) {
            if (a == 0) die("train bag");
            printf("%-34s skipped: %s\n", r.name, aisle_last_error());
            continue;
        }
        r.bytes = model_bytes(m, NULL);
        measure(m, te, &r);
        print_row(&r);
        if (a == 0) bag_row = r;
        row q = r;
        snprintf(q.name, sizeof q.name, "aisle intent %s int8", arch);
        aisle_config *qc;
        void *buf;
        size_t len;
        aisle_model *mq;
        aisle_config_new(&qc);
        aisle_config_parse(qc, "quantize=int8");
        if (aisle_model_save_buffer(m, qc, &buf, &len) || aisle_model_load_buffer(&mq, buf, len, NULL)) die("int8");
        q.bytes = (double)len;
        measure(mq, te, &q);
        print_row(&q);
        aisle_free(buf);
        aisle_config_free(qc);
        aisle_model_free(mq);
        if (a == 0) bag = m;
        else aisle_model_free(m);
    }
    if (have_fasttext) {
        prepare_fasttext(tr, te);
        run_fasttext("fastText defaults", "", nte, &r);
        print_row(&r);
        run_fasttext("fastText -wordNgrams 2 -epoch 25", "-wordNgrams 2 -epoch 25", nte, &r);
        print_row(&r);
    } else {
        printf("fastText: skipped (fasttext not on PATH; apt-get install fasttext)\n");
    }
    latency(bag, "bag");

    /* distillation: a teacher, and a small student learning its soft targets */
    char tpath[512];
    snprintf(tpath, sizeof tpath, "%s/teacher.aisle", tmp);
    char dt[600];
    snprintf(dt, sizeof dt, "distillation on bitext-cs (student: %s)", student_opts);
    print_header(dt);
    row tr_row;
    memset(&tr_row, 0, sizeof tr_row);
    aisle_model *teacher;
    if (strcmp(teacher_arch, "bag") == 0) {
        teacher = bag;
        bag = NULL;
        tr_row = bag_row;
    } else {
        char o[128];
        snprintf(o, sizeof o, "architecture=%s", teacher_arch);
        teacher = train_aisle(tr, o, &tr_row);
    }
    snprintf(tr_row.name, sizeof tr_row.name, "teacher (%s)", teacher_arch);
    tr_row.bytes = model_bytes(teacher, NULL);
    measure(teacher, te, &tr_row);
    print_row(&tr_row);
    if (aisle_model_save(teacher, tpath, NULL)) die("save teacher");
    char so[768];
    snprintf(so, sizeof so, "%s teacher=\"%s\"", student_opts, tpath);
    row st;
    memset(&st, 0, sizeof st);
    aisle_model *student = train_aisle(tr, so, &st);
    snprintf(st.name, sizeof st.name, "student fp32");
    st.bytes = model_bytes(student, NULL);
    measure(student, te, &st);
    print_row(&st);
    aisle_config *qc;
    void *buf;
    size_t len;
    aisle_model *sq;
    aisle_config_new(&qc);
    aisle_config_parse(qc, "quantize=int8");
    if (aisle_model_save_buffer(student, qc, &buf, &len) || aisle_model_load_buffer(&sq, buf, len, NULL)) die("int8");
    row sr = st;
    snprintf(sr.name, sizeof sr.name, "student int8");
    sr.bytes = (double)len;
    measure(sq, te, &sr);
    print_row(&sr);
    printf("student int8 vs teacher: %+.2f accuracy points (target: within 0.3)\n", (sr.acc - tr_row.acc) * 100);
    aisle_free(buf);
    aisle_config_free(qc);
    aisle_model_free(sq);
    aisle_model_free(student);
    aisle_model_free(teacher);
    aisle_model_free(bag);
    aisle_texts_free(tr);
    aisle_texts_free(te);
    aisle_texts_free(all);
}

/* The zh bag settings, chosen on a validation split of the training part
 * (docs/BENCHMARKS.md): fastText's learning rate and epochs, CJK character
 * trigrams, sum / sqrt(n) pooling, half of each review's features dropped
 * per update, and no held-out calibration slice (as fastText has none). */
static const char *zh_bag_opts =
    "epochs=5 learning_rate=0.1 word_ngrams=3 bag_norm=sqrt bag_dropout=0.5 calibration_fraction=0";

static void chinese(int full, int with_transformer) {
    char path[1024];
    if (!bt_data_path(path, sizeof path, BT_ZH_FILE)) {
        printf("online-shopping-zh: skipped (%s not present)\n", path);
        return;
    }
    static const char *const tasks[2][2] = {{"category", "text=review,label=cat"},
                                            {"sentiment", "text=review,label=label"}};
    /* quick by default: a stratified quarter of the reviews; --zh-full reads all */
    double sample = full ? 0 : 0.25;
    for (int k = 0; k < 2; k++) {
        aisle_texts *all, *tr, *te;
        if (bt_load_split(path, tasks[k][1], sample, BT_TEST_FRACTION, BT_SPLIT_SEED, &all, &tr, &te)) die(path);
        size_t ntr, nte, nl;
        aisle_texts_count(tr, &ntr);
        aisle_texts_count(te, &nte);
        aisle_texts_label_count(all, &nl);
        char title[256];
        snprintf(title, sizeof title, "online-shopping-zh %s%s: %zu labels, %zu train / %zu test reviews, %d threads",
                 tasks[k][0], full ? "" : " (quick: stratified 25% sample; --zh-full for all)", nl, ntr, nte, threads);
        print_header(title);
        printf("(aisle bag options: %s)\n", zh_bag_opts);
        row r;
        memset(&r, 0, sizeof r);
        snprintf(r.name, sizeof r.name, "aisle intent bag");
        aisle_model *m = train_aisle(tr, zh_bag_opts, &r);
        r.bytes = model_bytes(m, NULL);
        measure(m, te, &r);
        print_row(&r);
        aisle_model_free(m);
        if (with_transformer) {
            memset(&r, 0, sizeof r);
            snprintf(r.name, sizeof r.name, "aisle intent transformer");
            m = try_train(tr, "architecture=transformer blas_threads=1", &r);
            if (m) {
                r.bytes = model_bytes(m, NULL);
                measure(m, te, &r);
                print_row(&r);
                aisle_model_free(m);
            } else {
                printf("%-34s skipped: %s\n", r.name, aisle_last_error());
            }
        }
        if (have_fasttext) {
            prepare_fasttext(tr, te);
            run_fasttext("fastText defaults", "", nte, &r);
            print_row(&r);
            run_fasttext("fastText -wordNgrams 2", "-wordNgrams 2", nte, &r);
            print_row(&r);
            /* the same n-gram order as aisle's zh settings */
            run_fasttext("fastText -wordNgrams 3", "-wordNgrams 3", nte, &r);
            print_row(&r);
        }
        aisle_texts_free(tr);
        aisle_texts_free(te);
        aisle_texts_free(all);
    }
}

int main(int argc, char **argv) {
    int skip_zh = 0, skip_bitext = 0, all_archs = 1, no_ft = 0, zh_full = 0, zh_transformer = -1;
    const char *teacher_arch = "bag", *full_env = getenv("AISLE_BENCH_FULL");
    if (full_env && *full_env && strcmp(full_env, "0") != 0) zh_full = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--zh-full")) zh_full = 1;
        else if (!strcmp(argv[i], "--zh-bag") && i + 1 < argc) zh_bag_opts = argv[++i];
        else if (!strcmp(argv[i], "--zh-transformer")) zh_transformer = 1;
        else if (!strcmp(argv[i], "--no-zh-transformer")) zh_transformer = 0;
        else if (!strcmp(argv[i], "--skip-zh")) skip_zh = 1;
        else if (!strcmp(argv[i], "--skip-bitext")) skip_bitext = 1;
        else if (!strcmp(argv[i], "--no-fasttext")) no_ft = 1;
        else if (!strcmp(argv[i], "--student") && i + 1 < argc) student_opts = argv[++i];
        else if (!strcmp(argv[i], "--teacher-arch") && i + 1 < argc) teacher_arch = argv[++i];
        else {
            fprintf(stderr, "usage: bench_text [--threads N] [--skip-bitext] [--skip-zh] [--zh-full] [--zh-bag OPTIONS] "
                            "[--[no-]zh-transformer] [--no-fasttext] [--teacher-arch NAME] [--student OPTIONS]\n");
            return 2;
        }
    }
    /* the transformer's zh rows cost minutes: in the full run by default */
    if (zh_transformer < 0) zh_transformer = zh_full;
    snprintf(tmp, sizeof tmp, "/tmp/aisle_bench_text_%d", (int)getpid());
    mkdir(tmp, 0700);
    have_fasttext = !no_ft && system("command -v fasttext > /dev/null 2>&1") == 0;
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0) load[0] = -1;
    printf("bench_text: %d threads, load average at start %.2f\n", threads, load[0]);
    if (!skip_bitext) bitext(all_archs, teacher_arch);
    if (!skip_zh) chinese(zh_full, zh_transformer);
    if (getloadavg(load, 3) < 0) load[0] = -1;
    printf("bench_text: load average at end %.2f\n", load[0]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "bench_text: could not remove %s\n", tmp);
    return 0;
}
