/*
 * search.h - internal interface of the product search module: an inverted
 * index over a catalog's text fields with per-field BM25F ranking, term
 * positions for a proximity boost, typo-tolerant and prefix term expansion,
 * filters and facets inside retrieval, incremental updates, and re-ranking
 * with a trained model (behaviour-space retrieval, personalization).
 *
 * Layout (docs/SEARCH.md): every indexed term owns one growable byte blob of
 * postings in document order, each entry LEB128 varints
 *     doc delta, field mask (1 byte), tf per present field, positions delta
 * (at most SEARCH_MAX_POS positions).  New documents always get the next
 * document id, so appending keeps the delta coding valid and add/replace
 * never rewrites a list; removal marks the document dead (statistics keep
 * counting it until the index is saved and loaded, as Lucene does until a
 * merge).  Blobs are decoded sequentially by cursors: no pointer chasing,
 * one cache line holds several entries.
 */
#ifndef AISLE_SEARCH_H
#define AISLE_SEARCH_H

#include "core/core.h"
#include "data/data.h"
#include "features/features.h"
#include "io/io.h"
#include "models/models.h"
#include "bert/bert.h"

/* Indexed fields; a product's attributes' values form one field. */
enum {
    SEARCH_F_TITLE = 0,
    SEARCH_F_DESCRIPTION = 1,
    SEARCH_F_CATEGORY = 2,
    SEARCH_F_BRAND = 3,
    SEARCH_F_ATTRS = 4,
    SEARCH_N_FIELDS = 5
};

enum {
    SEARCH_MAX_POS = 8,         /* positions kept per (term, document) for proximity */
    SEARCH_MAX_TERMS = 32,      /* query terms used; later ones are ignored */
    SEARCH_MAX_EXPANSIONS = 64, /* indexed terms one query term may expand to */
    SEARCH_MAX_TYPO_LEN = 48,   /* longer query words are not typo-corrected (chars) */
    SEARCH_FIELD_GAP = 4        /* position gap between fields */
};

#define SEARCH_NONE UINT32_MAX
#define SEARCH_KIND "search_index"
#define SEARCH_FORMAT 1

enum { SEARCH_PAIR_MIN_DEFAULT = 128 }; /* search_pair_min_docs's default */

/* Section types of a search index file (its kind is "search_index"). */
enum {
    SEARCH_SECTION_META = 256,     /* counts, format, field length sums */
    SEARCH_SECTION_TERMS = 257,    /* term texts, document frequencies, blob lengths */
    SEARCH_SECTION_POSTINGS = 258, /* the postings blobs, concatenated */
    SEARCH_SECTION_DOCS = 259,     /* keys, field lengths, prices, brand/category ids, popularity */
    SEARCH_SECTION_FACETS = 260,   /* brand, category and attribute dictionaries, per-product attributes */
    SEARCH_SECTION_VECTORS = 261,  /* optional: text-encoder vectors of the products and the encoder's fingerprint */
    SEARCH_SECTION_PAIRS = 262,    /* optional: the term pairs that keep joint block bounds (pairs.c) */
    SEARCH_SECTION_RANKER = 263,   /* optional: learned ranking weights (ltr.c) */
    SEARCH_SECTION_PAIR_BLOCKS = 264 /* optional: the blocks of the pairs of section 262 (pairs.c) */
};

/* Features of the learned ranker (ltr.c), in this order. */
enum {
    SEARCH_LTR_TEXT, SEARCH_LTR_PROXIMITY, SEARCH_LTR_MATCHED, SEARCH_LTR_CORRECTED,
    SEARCH_LTR_SEMANTIC, SEARCH_LTR_ENCODER, SEARCH_LTR_USER, SEARCH_LTR_POPULARITY,
    SEARCH_LTR_F
};
extern const char *const search_ltr_names[SEARCH_LTR_F];

/* Skip entry: where block b (entries from b * SEARCH_SKIP) starts and the
 * document before it, so a cursor can jump there and go on decoding. */
typedef struct search_skip {
    uint32_t prev, off;
} search_skip;

enum { SEARCH_SKIP = 64 };

/* Block-max bounds of one block of SEARCH_SKIP entries (Ding & Suel,
 * "Faster top-k document retrieval using block-max indexes", SIGIR 2011),
 * kept so that they hold for any query options: BM25F is increasing in each
 * field's tf and decreasing in each field's length whatever k1, b and the
 * field weights, so instead of one score a block keeps up to SEARCH_BMAX
 * (tf, length) vectors that together dominate every entry of the block
 * (tf >= the entry's and length <= the entry's in every field the entry
 * has).  A new entry that no vector dominates replaces the vectors it
 * dominates, or, when the set is full, is merged into the vector sharing
 * most of its fields (largest tf, shortest length per field: still a
 * bound).  Several vectors keep the bound tight on catalogs where a word
 * sits in the title of some products and the description of others, where
 * per-field maxima would pair the title of one with the description of
 * another.  Not saved: kept by add, rebuilt on load, left by removal. */
enum { SEARCH_BMAX = 3 };
typedef struct search_bmax {
    uint16_t tf[SEARCH_BMAX][SEARCH_N_FIELDS], len[SEARCH_BMAX][SEARCH_N_FIELDS];
    uint8_t n;
} search_bmax;

/* Adds one entry (frequencies tf, its document's field lengths flen) to
 * block bounds b. */
void search_bmax_add(search_bmax *b, const uint16_t *tf, const uint16_t *flen);

typedef struct search_postings {
    uint8_t *data;
    uint32_t len, cap;
    uint32_t df;       /* entries, removed documents included */
    uint32_t last_doc; /* document of the last entry (append delta) */
    search_skip *skip; /* one per SEARCH_SKIP entries after the first block */
    uint32_t skip_cap;
    /* Block-max bounds, one per block, only for terms with more than one
     * block (df > SEARCH_SKIP); single-block terms use max_tf/min_len. */
    search_bmax *bmax;
    uint32_t bmax_cap;
    /* Score bounds for pruning (not saved: kept by add, rebuilt on load):
     * per field, the largest tf and the shortest field length among the
     * entries whose field holds the term (max_tf 0: no entry has it there).
     * Removal leaves them as they are: a superset's extremes still bound. */
    uint16_t max_tf[SEARCH_N_FIELDS], min_len[SEARCH_N_FIELDS];
} search_postings;

/* Widens p's bounds by one entry's frequencies and its document's field
 * lengths. */
static inline void search_bounds_add(search_postings *p, const uint16_t *tf, const uint16_t *flen) {
    for (int f = 0; f < SEARCH_N_FIELDS; f++) {
        if (!tf[f]) continue;
        if (!p->max_tf[f] || flen[f] < p->min_len[f]) p->min_len[f] = flen[f];
        if (tf[f] > p->max_tf[f]) p->max_tf[f] = tf[f];
    }
}

/* Joint block bounds of a frequent term pair (pairs.c).  Per-list block
 * bounds add the best entry of one list to the best of the other, often
 * from different products: where two words nearly always occur together
 * ("sage green") that sum stays above the pool's worst in every block.  For
 * pairs of terms that occur next to each other in many products, the
 * products holding both terms are cut into blocks of SEARCH_SKIP, each
 * keeping its first and last document and up to SEARCH_PMAX joint vectors
 * (tf of each term per field, field length) that dominate its products as
 * search_bmax does, but with both terms' frequencies over the same
 * product's lengths.  (Adjacent: counted as "w1 w2" next to each other in
 * a field; the blocks hold every product with both words anywhere.)  Between two blocks no product holds both terms.
 * Saved with the pair list (sections 262 and 264; files without 264 are
 * refilled from the postings at load), filled by build, kept by add, left
 * by removal (still bounds). */
enum { SEARCH_PMAX = 3 };
typedef struct search_pvec {
    uint16_t tf[SEARCH_PMAX][2][SEARCH_N_FIELDS], len[SEARCH_PMAX][SEARCH_N_FIELDS];
    uint8_t n;
} search_pvec;
typedef struct search_pblock {
    uint32_t first, last; /* documents of the block's first and last products */
    uint32_t count;       /* products in the block (<= SEARCH_SKIP) */
    search_pvec v;
} search_pblock;
typedef struct search_pair {
    uint32_t term[2];     /* term[0] < term[1] */
    search_pblock *blk;
    uint32_t n_blk, cap;
    search_pvec all;      /* dominates every product of the pair */
} search_pair;

/* Adds one product (frequencies tf of each term, field lengths flen) to v. */
void search_pvec_add(search_pvec *v, const uint16_t tf[2][SEARCH_N_FIELDS], const uint16_t *flen);

/* One (trigram hash, term) pair of the typo candidate index. */
typedef struct search_gram {
    uint32_t gram, term;
} search_gram;

/* A token of one product during add: term, field, position. */
typedef struct search_tok {
    uint32_t term;
    uint16_t pos;
    uint8_t field;
} search_tok;

/* Ranking and retrieval settings read from the options (search_options). */
typedef struct search_params {
    double w[SEARCH_N_FIELDS], k1, b, proximity, coordination;
    bool typo, prefix;
    int typo_len1, typo_len2, typo_min_df, typo_max, prefix_max;
    double typo_penalty, prefix_weight;
    size_t depth;
    int64_t total_limit;
    bool block_max, pair_bounds;
    int block_max_groups; /* block-max and pair bounds only for queries of at most this many groups */
    const char *facets;
    int facet_limit;
    int fusion; /* SEARCH_FUSION_* */
    double semantic_weight;
    int semantic_seeds, rrf_k;
    double personal_text, personal_user, personal_pop;
    double encoder_weight;
    int ranker; /* SEARCH_RANKER_* */
    double learn_l2;
    int learn_max_pairs, learn_iterations;
    uint64_t learn_seed;
} search_params;

enum { SEARCH_RANKER_AUTO = 0, SEARCH_RANKER_BLEND = 1, SEARCH_RANKER_LEARNED = 2 };

enum { SEARCH_FUSION_NONE = 0, SEARCH_FUSION_RRF = 1, SEARCH_FUSION_LINEAR = 2 };

struct aisle_search_index {
    search_params defaults; /* the options' defaults, read once */
    /* terms */
    core_keys terms;
    search_postings *post; /* terms.n entries */
    size_t post_cap;
    uint32_t *sorted;      /* term ids [0, n_sorted) in byte order (prefix ranges) */
    size_t n_sorted;
    search_gram *grams;    /* sorted by (gram, term); covers terms [0, grams_upto) */
    size_t n_grams;
    uint32_t grams_upto;
    /* documents (slot = document id) */
    core_keys keys;        /* product keys ever added; key index is stable */
    uint32_t *doc_of_key;  /* keys.n: live document, SEARCH_NONE when removed */
    size_t dok_cap;
    uint32_t *key_of_doc;  /* n_docs */
    uint8_t *alive;
    uint16_t *flen;        /* n_docs x SEARCH_N_FIELDS tokens (saturating) */
    double *price;         /* NaN unknown */
    uint32_t *brand, *category; /* ids in brands / categories, SEARCH_NONE for none */
    uint32_t *attr_start, *attr_n; /* per document: its pair ids in attrs */
    float *popularity;     /* per document, set by aisle_search_index_set_popularity */
    size_t n_docs, docs_cap, n_alive;
    uint32_t *attrs;       /* pair ids */
    size_t n_attrs, attrs_cap;
    double flen_sum[SEARCH_N_FIELDS];
    /* facet dictionaries */
    core_keys brands, categories;
    core_keys attr_names;  /* attribute names */
    core_keys attr_pairs;  /* "name\x1fvalue" */
    uint32_t *pair_name;   /* attr_pairs.n: name id */
    size_t pair_name_cap;
    bool has_popularity;
    /* writer scratch (only touched by add/build, never by searches) */
    search_tok *toks;
    size_t toks_cap;
    uint32_t *touched;
    size_t touched_cap;
    bool bulk;             /* inside build: helper indexes rebuilt once at the end */
    /* text-encoder vectors (encoder.c): docs_cap x enc_dim unit rows
     * (enc_dim 0: none), made by the encoder with fingerprint enc_fp and
     * pooling enc_pooling (SEARCH_ENC_POOL_TEXT_MODEL or _TEXT_FNV: an
     * intent model's own); the encoder is attached (borrowed: a BERT in encoder or an
     * intent model in text_encoder, at most one) to encode new products
     * and queries, with enc_cfg (max_length, one thread). */
    float *enc_vec;
    uint32_t enc_dim;
    uint8_t enc_pooling;
    uint64_t enc_fp;
    const aisle_bert *encoder;
    const aisle_model *text_encoder;
    aisle_config *enc_cfg;
    /* frequent term pairs with joint block bounds (pairs.c), sorted by
     * (term[0], term[1]); pair_min: the smallest count of products with
     * the two terms adjacent that build selects a pair at (0: none) */
    search_pair *pairs;
    size_t n_pairs;
    uint32_t pair_min;
    /* pairs_by_adds: the index was not built (or had no pairs when saved):
     * adds count the adjacent pairs (pc_*) and select again each time the
     * index reaches pair_next products (doubling) */
    bool pairs_by_adds;
    size_t pair_next;
    /* build scratch: adjacent-pair counts (open addressing, key
     * term_a << 32 | term_b with a < b, 0 empty) */
    uint64_t *pc_key;
    uint32_t *pc_count;
    size_t pc_cap, pc_n;
    uint32_t pc_floor;     /* counts at or below it were dropped to bound the table */
    /* add scratch: a product's distinct terms and their frequencies */
    uint32_t *dterm;
    uint16_t (*dtf)[SEARCH_N_FIELDS];
    size_t dterm_cap;
    /* learned ranker (ltr.c): weights of the SEARCH_LTR_F features */
    bool has_ranker;
    double rank_w[SEARCH_LTR_F];
};

/* ---- search logs (log.c) ---- */
enum { SEARCH_LOG_GRADES = 4 }; /* shown, click, cart, purchase */
typedef struct search_log_event {
    uint32_t group, item; /* query_id index, items index */
    uint8_t grade;
} search_log_event;

struct aisle_search_log {
    core_keys qids, items, users;
    core_buf text;        /* queries, NUL-terminated */
    uint64_t *query_off;  /* n_groups: offset of the query in text */
    uint32_t *user;       /* n_groups: users index, SEARCH_NONE without */
    size_t n_groups;
    search_log_event *ev; /* sorted by (group, item), one per product and group */
    size_t n_ev, ev_cap;
    uint32_t *first;      /* n_groups + 1: where each group's events start */
};

/* Loads a log from path, or from data[0..len) named name when path is
 * NULL; all or nothing. */
int search_log_read(aisle_search_log **out, const char *path, const void *data, size_t len, const char *name,
                    const aisle_config *cfg);
void search_log_release(aisle_search_log *log);

/* ---- postings coding (index.c) ---- */
static inline size_t search_put_varint(uint8_t *p, uint32_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Bounds-checked decode; returns bytes read, 0 on malformed/truncated. */
static inline size_t search_get_varint(const uint8_t *p, size_t avail, uint32_t *v) {
    uint32_t r = 0;
    for (size_t i = 0; i < avail && i < 5; i++) {
        r |= (uint32_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i == 4 && p[i] > 0x0f) return 0;
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

/* A decoded postings entry. */
typedef struct search_entry {
    uint32_t doc;
    uint8_t mask;
    uint16_t tf[SEARCH_N_FIELDS];
    uint8_t npos;
    uint32_t pos_off;  /* where the positions start in the blob */
    uint16_t pos[SEARCH_MAX_POS]; /* filled by search_decode_entry, not by the head decoder */
} search_entry;

/* Decodes only document, field mask and frequencies of the entry at *off,
 * skipping its positions (the query loop's hot path; positions are read
 * with search_entry_positions when a proximity needs them).  Returns
 * AISLE_OK or AISLE_EFORMAT. */
static inline int search_decode_head(const uint8_t *data, uint32_t len, uint32_t *off, uint32_t prev,
                                     search_entry *e) {
    uint32_t o = *off, v;
    size_t n;
    if (CORE_LIKELY(o < len && data[o] < 0x80)) v = data[o++];
    else {
        n = search_get_varint(data + o, len - o, &v);
        if (!n) return AISLE_EFORMAT;
        o += (uint32_t)n;
    }
    e->doc = prev + v;
    if (CORE_UNLIKELY(o >= len)) return AISLE_EFORMAT;
    unsigned mask = e->mask = data[o++];
    memset(e->tf, 0, sizeof e->tf);
    uint32_t total = 0;
    while (mask) { /* the set bits only */
        int f = __builtin_ctz(mask);
        mask &= mask - 1;
        if (CORE_LIKELY(o < len && data[o] < 0x80)) v = data[o++];
        else {
            n = search_get_varint(data + o, len - o, &v);
            if (!n) return AISLE_EFORMAT;
            o += (uint32_t)n;
        }
        if (CORE_UNLIKELY(f >= 5)) return AISLE_EFORMAT;
        e->tf[f] = (uint16_t)v;
        total += v;
    }
    e->npos = (uint8_t)(total < 8 ? total : 8);
    e->pos_off = o;
    /* skip the positions: count the bytes that end a varint */
    for (int k = e->npos; k > 0; o++) {
        if (CORE_UNLIKELY(o >= len)) return AISLE_EFORMAT;
        k -= data[o] < 0x80;
    }
    *off = o;
    return AISLE_OK;
}

/* A forward cursor over one term's postings (retrieval, pair filling):
 * its blob, skip table, the next entry's offset, the current entry and
 * where it starts. */
typedef struct search_list {
    const uint8_t *data;
    uint32_t len, off, e_off;
    const search_skip *skip;
    uint32_t n_skip, blk; /* blk: first skip entry not yet passed */
    search_entry e;
    bool done;
} search_list;

static inline void search_list_next(search_list *c) {
    if (c->off >= c->len) {
        c->done = true;
        return;
    }
    c->e_off = c->off;
    if (search_decode_head(c->data, c->len, &c->off, c->e.doc, &c->e)) c->done = true; /* load verified it */
}

/* Moves c to its first entry >= target.  Blocks whose successor starts
 * before target are jumped over through the skip table, walking forward
 * from the cursor's block (amortised constant: seeks only go forward). */
static inline void search_list_seek(search_list *c, uint32_t target) {
    if (c->done || c->e.doc >= target) return;
    while (c->blk < c->n_skip && c->skip[c->blk].off < c->off) c->blk++; /* blocks already entered */
    if (c->blk < c->n_skip && c->skip[c->blk].prev < target) {
        uint32_t b = c->blk;
        while (b + 1 < c->n_skip && c->skip[b + 1].prev < target) b++;
        c->off = c->skip[b].off;
        c->e.doc = c->skip[b].prev;
        c->blk = b + 1;
    }
    do search_list_next(c);
    while (!c->done && c->e.doc < target);
}

/* Fills e->pos from the blob (after search_decode_head). */
static inline void search_entry_positions(const uint8_t *data, uint32_t len, search_entry *e) {
    uint32_t o = e->pos_off, p = 0, v;
    for (int k = 0; k < e->npos; k++) {
        size_t n = search_get_varint(data + o, len - o, &v);
        if (!n) {
            e->npos = (uint8_t)k;
            return;
        }
        o += (uint32_t)n;
        p += v;
        e->pos[k] = (uint16_t)(p < UINT16_MAX ? p : UINT16_MAX);
    }
}

/* Decodes the entry at *off of a blob (prev = previous doc, 0 at start);
 * returns AISLE_OK or AISLE_EFORMAT on a malformed entry. */
int search_decode_entry(const uint8_t *data, uint32_t len, uint32_t *off, uint32_t prev, search_entry *e);

/* ---- index maintenance (index.c) ---- */
int search_index_alloc(aisle_search_index **out);
void search_index_release(aisle_search_index *idx);
/* Adds (or replaces) catalog product i; all or nothing. */
int search_index_add(aisle_search_index *idx, const aisle_catalog *cat, size_t i);
int search_index_remove(aisle_search_index *idx, const char *key);
/* Rebuilds the sorted term order and trigram index over every term. */
int search_helpers_rebuild(aisle_search_index *idx);
/* Fills p's skip table and block-max bounds from its blob (after load;
 * flen: the index's field lengths). */
int search_skips_build(search_postings *p, const uint16_t *flen);
/* Brand, category and attribute facets of document d. */
static inline bool search_doc_alive(const aisle_search_index *idx, uint32_t d) { return idx->alive[d] != 0; }

/* ---- frequent term pairs (pairs.c) ---- */
/* During build: counts the adjacent term pairs of one product's tokens
 * (toks[0..n) in position order); only terms already in pair_min / 4
 * products count. */
int search_pairs_count(aisle_search_index *idx, const search_tok *toks, size_t n);
/* After build: selects the pairs counted at least idx->pair_min times (most
 * first, within a memory budget), frees the counts, fills their blocks. */
int search_pairs_select(aisle_search_index *idx);
/* At the start of an add: an index whose pairs are chosen by adds
 * (pairs_by_adds) that has doubled since its last choice chooses again
 * from the counts its adds keep (the products so far, as a choice after
 * the add that doubled it would) and installs the new pairs, keeping the
 * old ones in *ch; a failure (AISLE_ENOMEM) changes nothing.  The add then
 * ends the choice: search_pairs_grow_end with ok (the old pairs freed, the
 * next doubling set) or not (the old pairs back: a failed add leaves the
 * index as it was). */
typedef struct search_pairs_choice {
    search_pair *old;
    size_t n_old;
    bool made;
} search_pairs_choice;
int search_pairs_grow(aisle_search_index *idx, search_pairs_choice *ch);
void search_pairs_grow_end(aisle_search_index *idx, search_pairs_choice *ch, bool ok);
/* Fills the blocks of every pair from the postings (build, load). */
int search_pairs_fill(aisle_search_index *idx);
/* The pair of terms a and b (either order), NULL when none. */
const search_pair *search_pair_find(const aisle_search_index *idx, uint32_t a, uint32_t b);
void search_pairs_release(aisle_search_index *idx);
/* Add: the pairs of a product with distinct terms dt[0..n) (ascending) and
 * their frequencies dtf: search_pairs_reserve makes room (may fail, changes
 * nothing visible), search_pairs_apply then adds it as document doc. */
int search_pairs_reserve(aisle_search_index *idx, const uint32_t *dt, size_t n);
void search_pairs_apply(aisle_search_index *idx, const uint32_t *dt, const uint16_t (*dtf)[SEARCH_N_FIELDS],
                        size_t n, uint32_t doc, const uint16_t *flen);
/* The optional pairs and pair blocks sections (term ids renumbered by
 * newterm, documents by newdoc; SEARCH_NONE:
 * dropped) and its reader. */
int search_pairs_write(const aisle_search_index *idx, const uint32_t *newterm, const uint32_t *newdoc,
                       io_writer *w);
int search_pairs_read(aisle_search_index *idx, io_reader *r);

/* ---- typo and prefix expansion (typo.c) ---- */
/* Decodes UTF-8 s into code points (at most max); returns the count, or
 * (size_t)-1 when s is longer. */
size_t search_codepoints(const char *s, size_t len, uint32_t *cp, size_t max);
/* Optimal-string-alignment Damerau-Levenshtein distance, or max+1 when it
 * exceeds max. */
int search_edit_distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, int max);
/* Trigram hashes of a word ('^' and '$' padded) into out (na + 0 grams
 * for na >= 1); returns the count. */
size_t search_word_grams(const uint32_t *cp, size_t n, uint32_t *out);
/* Terms within max_edits of word (not word itself): appends (term, edits)
 * pairs to cand/edits up to cap; returns the count found (<= cap). */
int search_typo_candidates(const aisle_search_index *idx, const char *word, size_t len, int max_edits,
                           uint32_t *cand, uint8_t *edits, size_t cap, size_t *n_out);
/* Terms that start with prefix (not prefix itself), the cap with the most
 * documents. */
int search_prefix_candidates(const aisle_search_index *idx, const char *prefix, size_t len, uint32_t *cand,
                             size_t cap, size_t *n_out);


/* ---- queries (options.c, parse.c, filter.c, retrieve.c, facets.c, query.c, rank.c) ---- */

/* defaults (may be NULL): the values with no option set, used as they are
 * when cfg sets no search_* option. */
int search_params_read(search_params *p, const aisle_config *cfg, const search_params *defaults);

/* One expansion of a query term: an indexed term and how it was reached. */
typedef struct search_exp {
    uint32_t term;
    float weight, idf;
    uint8_t group, edits, prefix;
} search_exp;

/* A parsed query: its distinct terms (groups) and their expansions. */
typedef struct search_query {
    size_t n_groups;
    uint32_t group_off[SEARCH_MAX_TERMS]; /* offset of the term text in text */
    uint16_t group_len[SEARCH_MAX_TERMS];
    core_buf text;
    search_exp *exp;
    size_t n_exp;
} search_query;

/* Parses text into q (terms, typo and prefix expansions under p); q owns
 * memory to release with search_query_release even on failure. */
int search_query_parse(const aisle_search_index *idx, const search_params *p, const char *text, size_t len,
                       search_query *q);
void search_query_release(search_query *q);

/* A candidate hit with what matched (exp index per group, 0xff none). */
typedef struct search_cand {
    uint32_t doc;
    float score;   /* final */
    float text;    /* lexical */
    float proximity;
    float semantic; /* cosine with the query's behaviour vector (fusion), 0 none */
    float encoder;  /* cosine of the query's and the product's text-encoder vectors, 0 none */
    float user, pop;
    int32_t rank_text, rank_semantic, rank_encoder, rank_before_user; /* 1-based, 0 = none */
    uint8_t exp[SEARCH_MAX_TERMS];
} search_cand;

typedef struct search_facet_field {
    uint64_t name;     /* arena offsets */
    size_t n;
    uint64_t *value;
    uint32_t *count;
} search_facet_field;

typedef struct search_hit {
    uint64_t key, matched, explain; /* arena offsets (explain: suggestions only) */
    double score;
    char *explain_text;             /* formatted on first request (search hits) */
} search_hit;

/* What an explanation needs of one query expansion. */
typedef struct search_exp_info {
    uint64_t term, word; /* arena offsets: indexed term, query word */
    uint8_t edits, prefix;
} search_exp_info;

struct aisle_search_results {
    size_t n, total;
    search_hit *hits;
    search_cand *cands;  /* n, for explanations (NULL for suggestions) */
    search_exp_info *xi;
    size_t n_xi;
    struct search_rerank_info_s *info;
    search_facet_field *facets;
    size_t n_facets;
    core_buf arena;
};

typedef struct search_request {
    const char *text;
    size_t len;
    size_t k;
    const char *const *filters;
    size_t n_filters;
    const aisle_model *model;
    const char *user;
    const char *const *items;
    size_t n_items;
    const aisle_config *cfg;
    const search_query *query; /* set by search_run: the parsed query (learned ranker features) */
} search_request;

int search_run(const aisle_search_index *idx, const search_request *rq, aisle_search_results **out);
void search_results_release(aisle_search_results *r);
/* Formats hit i's explanation (once; kept in the results). */
int search_explain(aisle_search_results *r, size_t i, const char **out);
/* Semantic fusion and personalization of the candidates (rank.c): may
 * append candidates (cap grows) and reorders them by final score. */
typedef struct search_filter {
    bool none;          /* a filter names a value no product has: nothing matches */
    uint8_t *category;  /* n categories: 1 = allowed (NULL: any) */
    uint8_t *brand;     /* n brands (NULL: any) */
    double price_min, price_max; /* inclusive; NaN prices fail a set range */
    bool has_price;
    uint32_t pairs[16]; /* attribute (name, value) pairs every hit must have */
    size_t n_pairs;
} search_filter;

/* Facet counts of one field over the matched set (facets.c). */
typedef struct search_facet_counts {
    int kind; /* 0 brand, 1 category, 2 attribute name */
    uint32_t name_id;
    uint32_t *count;
    size_t n;
    const char *name;
    size_t name_len;
} facet_counts;

/* Appends s[0..n) and a NUL to b; *off is where it starts. */
int search_arena_str(core_buf *b, const char *s, size_t n, uint64_t *off);
/* The counters of the fields p->facets names (*out NULL when none). */
int search_facets_setup(const aisle_search_index *idx, const search_params *p, facet_counts **out, size_t *n_out);
/* The p->facet_limit largest counts of each field into r. */
int search_facets_export(const aisle_search_index *idx, const search_params *p, facet_counts *fc, size_t n,
                         aisle_search_results *r);

int search_filter_parse(const aisle_search_index *idx, const char *const *filters, size_t n, search_filter *f);
void search_filter_release(search_filter *f);
bool search_filter_pass(const aisle_search_index *idx, const search_filter *f, uint32_t doc);

/* The pool_cap best documents of q that pass f into pool (sorted, best
 * first, rank_text set), *total the matching documents (a lower bound once
 * search_total_limit is passed), facets counted over the matches. */
int search_retrieve(const aisle_search_index *idx, const search_params *p, const search_query *q,
                    const search_filter *f, size_t pool_cap, search_cand *pool, size_t *pool_n, size_t *total,
                    facet_counts *fc, size_t n_fc);

/* What re-ranking did, for explanations. */
typedef struct search_rerank_info_s {
    bool semantic_used, encoder_used, personal_used, unknown_user, learned_used;
    const char *semantic_note, *personal_note; /* static text, NULL none */
} search_rerank_info;

int search_rerank(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                  const search_filter *f, search_cand **cands, size_t *n, size_t *cap, search_rerank_info *info);

/* Sorts candidates by score, best first (document order on ties). */
void search_cands_sort(search_cand *cands, size_t n);
/* Behaviour-space (semantic) and text-encoder candidates joined to the
 * pool, each when asked for and available (rank.c). */
int search_rerank_gather(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                         const search_filter *f, bool semantic, bool encoder, search_cand **cands, size_t *n,
                         size_t *cap, search_rerank_info *info);
/* The model's scores of every model item for the request's user or
 * session items into *out (core_free it), or *out NULL when it cannot
 * score them (unknown user, ...: info's notes say why). */
int search_user_scores(const search_request *rq, float **out, search_rerank_info *info);

/* ---- learned ranking (ltr.c) ---- */
/* Whether queries with p use the learned ranker (AISLE_ESTATE when p asks
 * for it and the index has none). */
int search_ltr_active(const aisle_search_index *idx, const search_params *p, bool *out);
/* Features of the n candidates into x (n x SEARCH_LTR_F); user: the
 * model's scores or NULL. */
void search_ltr_features(const aisle_search_index *idx, const search_query *q, const aisle_model *m,
                         const float *user, search_cand *cands, size_t n, float *x);
/* Scores the candidates with the index's learned weights and sorts them. */
int search_ltr_rank(const aisle_search_index *idx, const search_params *p, const search_request *rq,
                    const search_filter *f, search_cand **cands, size_t *n, size_t *cap, search_rerank_info *info);
/* Fits the weights from a log (pairwise logistic regression); on success
 * the index holds them.  *pairs: preference pairs used. */
int search_ltr_learn(aisle_search_index *idx, const aisle_search_log *log, const aisle_model *m,
                     const aisle_config *cfg, size_t *pairs);
int search_ltr_write(const aisle_search_index *idx, io_writer *w);
int search_ltr_read(aisle_search_index *idx, io_reader *r);

/* The best cap (similarity, document) pairs of a retrieval: a min-heap
 * (rank.c), sorted best first by search_hitlist_sort. */
typedef struct search_hit_sd {
    float s;
    uint32_t doc;
} search_hit_sd;
typedef struct search_hitlist {
    search_hit_sd *h;
    size_t n, cap;
} search_hitlist;
void search_hitlist_push(search_hitlist *l, search_hit_sd h);
void search_hitlist_sort(search_hitlist *l);
/* Whether a query on idx with p runs text-encoder retrieval. */
bool search_encoder_active(const aisle_search_index *idx, const search_params *p);

/* ---- text-encoder vectors (encoder.c) ---- */
/* The two back ends: an imported BERT (src/bert) or an intent model of a
 * text architecture with vectors (transformer, bag: model_text_embed);
 * exactly one is set.  The vectors of an intent model carry pooling
 * SEARCH_ENC_POOL_TEXT_MODEL (its pooling is part of its fingerprint),
 * which also names the fingerprint's algorithm: vectors saved before it
 * carry SEARCH_ENC_POOL_TEXT_FNV (TEXT_FP_BYTES, src/text/text.h) and are
 * still attached by that one; new vectors get TEXT_FP_WORDS. */
typedef struct search_encoder_src {
    const aisle_bert *bert;
    const aisle_model *text;
} search_encoder_src;
enum { SEARCH_ENC_POOL_TEXT_FNV = 3, SEARCH_ENC_POOL_TEXT_MODEL = 4 };
/* 64-bit fingerprint of a BERT encoder (configuration, vocabulary, weights
 * as stored) with a pooling. */
uint64_t search_encoder_fingerprint(const aisle_bert *m, int pooling);
/* AISLE_BERT_POOL_* of option search_encoder_pooling. */
int search_encoder_pooling(const aisle_config *cfg, int *out);
/* Whether an encoder is attached, and which (as a source). */
bool search_encoder_attached(const aisle_search_index *idx);
search_encoder_src search_encoder_of(const aisle_search_index *idx);
/* Vectors of every live product (each must be in cat) by src; replaces
 * idx's vectors and attaches src on success, leaves idx unchanged on
 * failure.  pooling: AISLE_BERT_POOL_* for a BERT (ignored for a text
 * model). */
int search_encoder_fill(aisle_search_index *idx, const search_encoder_src *src, int pooling,
                        const aisle_catalog *cat, const aisle_config *cfg);
/* Attaches src to the index's stored vectors: AISLE_ESTATE without
 * vectors, AISLE_EINVAL when src (with the stored pooling) is another
 * encoder. */
int search_encoder_attach(aisle_search_index *idx, const search_encoder_src *src, const aisle_config *cfg);
/* Drops vectors and encoder. */
void search_encoder_drop(aisle_search_index *idx);
/* Unit vector of catalog product i by the attached encoder into out[enc_dim]
 * (AISLE_ESTATE when none is attached). */
int search_encoder_product(const aisle_search_index *idx, const aisle_catalog *cat, size_t i, float *out);
/* Encodes the query and pushes every live product passing f with a positive
 * cosine into out. */
int search_encoder_scan(const aisle_search_index *idx, const char *text, size_t len, const search_filter *f,
                        search_hitlist *out);
/* The optional vectors section (rows renumbered by newdoc, live rows). */
int search_encoder_write(const aisle_search_index *idx, const uint32_t *newdoc, uint64_t live, io_writer *w);
int search_encoder_read(aisle_search_index *idx, io_reader *r);

/* ---- save / load (file.c) ---- */
int search_index_write(const aisle_search_index *idx, const aisle_config *cfg, io_writer **out);
int search_index_read(aisle_search_index *idx, io_reader *r);

/* ---- options (options.c) ---- */
extern const option_spec search_options[];

#endif /* AISLE_SEARCH_H */
