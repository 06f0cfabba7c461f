/* bench_search_encoder.h - the "semantic fusion from a trained encoder"
 * part of bench_search.c (included by it after its judged set, metrics and
 * eval_aisle; not a program of its own).
 *
 * The encoder is an intent model trained here, in the run, on the catalog
 * alone: every product is a class (its stock code), and its texts are its
 * description plus ENC_VIEWS "views" of it, spans of 1-3 words drawn as a
 * shopper's query would be (words, not stop words) from a generator of
 * its own (seed ENC_SEED, not the judged set's), a quarter of them with one
 * random edit.  A classifier over products pulls the vectors of a
 * product's texts (the pooled vector its head reads) towards the same head
 * row, i.e. towards each other: a softmax over every product, the full-
 * softmax form of in-batch contrastive training.  No judged query, no
 * relevance label and no purchase is read (the views come from product
 * descriptions only; the judged queries are spans of the same
 * descriptions, so some views coincide with queries in text: that is the
 * recipe's point, not a leak of judgements).
 *
 * The fusion weight is tuned on the even-numbered judged queries; the
 * table reports the odd-numbered ones only, every row on the same half. */
#ifndef BENCH_SEARCH_ENCODER_H
#define BENCH_SEARCH_ENCODER_H

enum { ENC_VIEWS = 6, ENC_SEED = 20261206 };

static uint64_t enc_rng = ENC_SEED;
static size_t enc_below(size_t n) {
    enc_rng ^= enc_rng << 13, enc_rng ^= enc_rng >> 7, enc_rng ^= enc_rng << 17;
    return (size_t)(enc_rng % n);
}

/* One view of text: a span of 1-3 content words (the judged queries' shape). */
static size_t enc_view(const char *text, char *out, size_t cap) {
    char w[64][32];
    size_t n = words_of(text, w, 64);
    out[0] = 0;
    for (int attempt = 0; attempt < 20 && n; attempt++) {
        size_t L = 1 + enc_below(3);
        if (L > n) L = n;
        size_t s = enc_below(n - L + 1), ok = 1;
        for (size_t i = 0; i < L; i++) ok &= !stop_word(w[s + i]);
        if (!ok) continue;
        join_words(&w[s], L, out, cap);
        if (enc_below(4) == 0) { /* one edit in a word of >= 5 letters (typo robustness) */
            char *word = out + enc_below(strlen(out));
            while (word > out && word[-1] != ' ') word--;
            size_t wl = strcspn(word, " ");
            if (wl >= 5) word[1 + enc_below(wl - 2)] = (char)('a' + enc_below(26));
        }
        return L;
    }
    return 0;
}

/* The training texts: every product's description and its views. */
static aisle_texts *enc_texts(const retail *r) {
    aisle_texts *t;
    CHECK(aisle_texts_new(&t));
    enc_rng = ENC_SEED;
    for (size_t i = 0; i < r->items.n; i++) {
        if (!r->desc[i][0]) continue;
        CHECK(aisle_texts_add(t, r->desc[i], AISLE_NUL_TERMINATED, r->items.keys[i]));
        char v[128];
        for (int k = 0; k < ENC_VIEWS; k++)
            if (enc_view(r->desc[i], v, sizeof v)) CHECK(aisle_texts_add(t, v, AISLE_NUL_TERMINATED, r->items.keys[i]));
    }
    return t;
}

static double process_cpu(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

/* Trains one encoder; NULL (with a line) when it fails. */
static aisle_model *enc_train(const aisle_texts *t, const char *opts, const char *what) {
    aisle_config *c;
    CHECK(aisle_config_new(&c));
    CHECK(aisle_config_parse(c, opts));
    aisle_model *m = NULL;
    double w0 = now(), c0 = process_cpu();
    int rc = aisle_text_train(t, c, &m);
    size_t n = 0;
    aisle_texts_count(t, &n);
    if (rc) printf("| encoder %s | training failed: %s |\n", what, aisle_last_error());
    else
        printf("encoder %s: %zu texts, trained in %.1f s CPU (process, 2 threads) / %.1f s wall: %s\n", what, n,
               process_cpu() - c0, now() - w0, opts);
    aisle_config_free(c);
    return rc ? NULL : m;
}

static void enc_split(judged *qs, size_t nq, judged *even, size_t *ne, judged *odd, size_t *no) {
    *ne = *no = 0;
    for (size_t i = 0; i < nq; i++) {
        if (i % 2) odd[(*no)++] = qs[i];
        else even[(*ne)++] = qs[i];
    }
}

/* The weight (of those tried) with the best NDCG@10 on the tuning half. */
static double enc_tune(const aisle_search_index *idx, const retail *r, judged *tune, size_t nt, const char *fusion) {
    static const double ws[] = {0.02, 0.05, 0.1, 0.2, 0.4, 1, 2};
    double best = ws[0], best_ndcg = -1;
    for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
        char opts[128];
        snprintf(opts, sizeof opts, "search_fusion=%s search_encoder_weight=%g", fusion, ws[i]);
        run_stats s = eval_aisle(idx, r, tune, nt, opts, NULL, 0);
        if (s.ndcg > best_ndcg) best_ndcg = s.ndcg, best = ws[i];
    }
    return best;
}

/* Rows of one trained encoder on the report half. */
static void enc_rows(aisle_search_index *idx, const aisle_catalog *cat, const retail *r, judged *tune, size_t nt,
                     judged *rep, size_t nr, const aisle_model *enc, const char *what) {
    aisle_config *ec;
    CHECK(aisle_config_new(&ec));
    CHECK(aisle_config_parse(ec, "threads=2"));
    double e0 = now(), c0 = process_cpu();
    CHECK(aisle_search_index_set_text_model(idx, enc, cat, ec));
    printf("| (%s: %zu product vectors in %.2f s CPU / %.2f s wall) |\n", what, r->items.n, process_cpu() - c0,
           now() - e0);
    char name[160], opts[128];
    double wl = enc_tune(idx, r, tune, nt, "linear"), wr = enc_tune(idx, r, tune, nt, "rrf");
    snprintf(opts, sizeof opts, "search_encoder_weight=%g", wl);
    run_stats s = eval_aisle(idx, r, rep, nr, opts, NULL, 0);
    snprintf(name, sizeof name, "+ semantic fusion (trained %s; linear, weight %g)", what, wl);
    print_row(name, &s, -1, 0);
    snprintf(opts, sizeof opts, "search_fusion=rrf search_encoder_weight=%g", wr);
    s = eval_aisle(idx, r, rep, nr, opts, NULL, 0);
    snprintf(name, sizeof name, "+ semantic fusion (trained %s; RRF, weight %g)", what, wr);
    print_row(name, &s, -1, 0);
    s = eval_aisle(idx, r, rep, nr, "search_encoder_weight=100", NULL, 0);
    snprintf(name, sizeof name, "trained %s alone (weight 100: its cosine ranks)", what);
    print_row(name, &s, -1, 0);
    CHECK(aisle_search_index_set_text_model(idx, NULL, NULL, NULL));
    aisle_config_free(ec);
}

/* The table: BM25F + typo, ALS fusion, the BERT at `bert_path` (the random
 * fixture unless a real checkpoint was named) and the trained encoders. */
static void bench_trained_encoder(aisle_search_index *idx, const aisle_catalog *cat, const retail *r, judged *qs,
                                  size_t nq, const aisle_model *als, const char *bert_path, int bert_is_fixture) {
    judged *tune = xmalloc(nq * sizeof *tune), *rep = xmalloc(nq * sizeof *rep);
    size_t nt, nr;
    enc_split(qs, nq, tune, &nt, rep, &nr);
    printf("\nSemantic fusion from a trained encoder: %zu queries reported (odd-numbered), fusion weights tuned on "
           "the %zu even-numbered ones\n\n", nr, nt);
    aisle_texts *t = enc_texts(r);
    const char *env = getenv("BENCH_SEARCH_ENCODER");
    const char *tf_opts = env && env[0] ? env
                                        : "architecture=transformer hidden=64 blocks=1 heads=4 ff_hidden=128 maxlen=16 "
                                          "epochs=8 batch_size=64 learning_rate=0.003 dropout=0.1 "
                                          "calibration_fraction=0 hash_buckets=1048576 threads=2 seed=7";
    const char *arch = strstr(tf_opts, "architecture=bag") ? "bag" : "transformer";
    aisle_model *tf = strcmp(tf_opts, "none") ? enc_train(t, tf_opts, arch) : NULL;
    printf("\n| system | NDCG@10 | recall@100 | misspelt subset NDCG@10 clean / misspelt (change) | build | "
           "index bytes | queries/s wall (CPU) | p99 ms wall (CPU) |\n|---|---|---|---|---|---|---|---|\n");
    run_stats s = eval_aisle(idx, r, rep, nr, "", NULL, 0);
    print_row("aisle BM25F + typo + proximity", &s, -1, 0);
    s = eval_aisle(idx, r, rep, nr, "", als, 0);
    print_row("+ semantic fusion (ALS, linear)", &s, -1, 0);
    aisle_bert *bert = NULL;
    if (aisle_bert_import(&bert, bert_path, NULL) == AISLE_OK) {
        aisle_config *ec;
        CHECK(aisle_config_new(&ec));
        CHECK(aisle_config_parse(ec, "threads=2"));
        CHECK(aisle_search_index_set_encoder(idx, bert, cat, ec));
        s = eval_aisle(idx, r, rep, nr, "", NULL, 0);
        print_row(bert_is_fixture ? "+ semantic fusion (random BERT fixture)" : "+ semantic fusion (BERT)", &s, -1, 0);
        CHECK(aisle_search_index_set_encoder(idx, NULL, NULL, NULL));
        aisle_config_free(ec);
        aisle_bert_free(bert);
    }
    if (tf) enc_rows(idx, cat, r, tune, nt, rep, nr, tf, arch);
    aisle_model_free(tf);
    aisle_texts_free(t);
    free(tune);
    free(rep);
}

#endif /* BENCH_SEARCH_ENCODER_H */
