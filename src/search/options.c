/* options.c - options of product search (index building and queries). */
#include "search.h"

#include <string.h>

const option_spec search_options[] = {
    OPTION_FLOAT("search_weight_title", 0, 100, "3", "search", "BM25F weight of a product's title."),
    OPTION_FLOAT("search_weight_description", 0, 100, "1", "search", "BM25F weight of a product's description."),
    OPTION_FLOAT("search_weight_category", 0, 100, "1", "search", "BM25F weight of a product's category path."),
    OPTION_FLOAT("search_weight_brand", 0, 100, "2", "search", "BM25F weight of a product's brand."),
    OPTION_FLOAT("search_weight_attributes", 0, 100, "1", "search",
     "BM25F weight of a product's attribute values."),
    OPTION_FLOAT("search_k1", 0, 100, "1.2", "search", "BM25F term-frequency saturation k1."),
    OPTION_FLOAT("search_b", 0, 1, "0.75", "search", "BM25F length normalisation b (every field)."),
    OPTION_FLOAT("search_proximity", 0, 100, "0.5", "search",
     "Boost for consecutive query words found near each other: weight x min(word scores) / distance."),
    OPTION_FLOAT("search_coordination", 0, 10, "1", "search",
     "Scores are multiplied by (matched query words / query words) to this power; 0 turns it off."),
    OPTION_BOOL("search_typo", "true", "search",
     "Typo tolerance: expand query words that match too few products to indexed words within a few edits."),
    OPTION_INT("search_typo_min_len1", 1, 1000, "5", "search",
     "Query words of at least this many characters may have one typo."),
    OPTION_INT("search_typo_min_len2", 1, 1000, "9", "search",
     "Query words of at least this many characters may have two typos."),
    OPTION_INT("search_typo_min_df", 0, 1000000000, "3", "search",
     "Typo expansion applies to query words found in fewer than this many products."),
    OPTION_INT("search_typo_max", 0, 64, "8", "search",
     "Most corrections one query word expands to (fewest edits, then most products)."),
    OPTION_FLOAT("search_typo_penalty", 0, 1, "0.6", "search", "Weight factor of a corrected word per edit."),
    OPTION_BOOL("search_prefix", "true", "search",
     "Prefix search: the last query word, when the query does not end in a space or punctuation, also "
     "matches the words it starts."),
    OPTION_INT("search_prefix_max", 0, 64, "16", "search",
     "Most completions of the last word (those in the most products)."),
    OPTION_FLOAT("search_prefix_weight", 0, 1, "0.7", "search", "Weight of a prefix completion."),
    OPTION_INT("search_depth", 1, 100000, "100", "search",
     "Candidates re-ranked by semantic fusion and personalization (and semantic candidates added)."),
    OPTION_INT("search_total_limit", 0, 1e12, "1000", "search",
     "Matches are counted exactly up to this many; past it (and without facets) retrieval skips products "
     "that cannot reach the top k and the total is a lower bound.  0: always exact."),
    OPTION_BOOL("search_block_max", "true", "search",
     "While pruning, skip whole postings blocks whose block-max bounds cannot reach the top k (results are "
     "identical either way; false is for comparisons)."),
    OPTION_INT("search_block_max_groups", 1, SEARCH_MAX_TERMS, "2", "search",
     "Block-max skipping and pair bounds are used for queries of at most this many distinct words (a "
     "Chinese character or bigram counts as one): at a million products they pay for two words and cost "
     "more than they save from three on (results are identical either way)."),
    OPTION_BOOL("search_pair_bounds", "true", "search",
     "While pruning, bound products holding both words of a frequent word pair by the pair's joint block "
     "bounds (results are identical either way; false is for comparisons)."),
    OPTION_INT("search_pair_min_docs", 0, 1000000000, "128", "search",
     "Index build: word pairs found next to each other at least this many times keep joint block bounds "
     "(within a memory budget of about 0.4 byte per postings entry); 0: none."),
    OPTION_STRING("search_facets", "", "search",
     "Comma-separated facets to count over every match: brand, category or attribute names."),
    OPTION_INT("search_facet_limit", 1, 100000, "20", "search", "Values reported per facet (largest counts)."),
    OPTION_CHOICE("search_fusion", "linear", "linear|rrf|none", "search",
     "With a model: fuse text and behaviour-space retrieval by a linear blend of the max-normalised text "
     "score and the cosine, by reciprocal-rank fusion, or not at all."),
    OPTION_FLOAT("search_semantic_weight", 0, 100, "0.3", "search",
     "Weight of behaviour-space retrieval in the fusion (0 turns it off)."),
    OPTION_INT("search_semantic_seeds", 1, 1000, "5", "search",
     "Top text hits whose item vectors form the query's behaviour-space vector."),
    OPTION_INT("search_rrf_k", 1, 100000, "60", "search", "Rank offset k of reciprocal-rank fusion."),
    OPTION_FLOAT("search_personal_text", 0, 100, "1", "search",
     "Personalization: weight of the (normalised) text score."),
    OPTION_FLOAT("search_personal_user", 0, 100, "0.3", "search",
     "Personalization: weight of the user's (normalised) model score."),
    OPTION_FLOAT("search_personal_popularity", 0, 100, "0.1", "search",
     "Personalization: weight of the (log-normalised) item popularity."),
    OPTION_FLOAT("search_encoder_weight", 0, 100, "0.3", "search",
     "With an encoder attached to the index (aisle_search_index_set_encoder): weight of text-encoder "
     "retrieval in the fusion (search_fusion; 0 turns it off)."),
    OPTION_CHOICE("search_encoder_pooling", "mean", "mean|cls|pooler", "search",
     "How aisle_search_index_set_encoder turns the encoder's token states into a product's or query's "
     "vector: their mean, the [CLS] state, or the model's pooler."),
    OPTION_CHOICE("search_ranker", "auto", "auto|blend|learned", "search",
     "How candidates are ranked: the blend of the fusion and personalization options, the weights learned "
     "from a log (aisle_search_index_learn), or auto: learned when the index has them."),
    OPTION_FLOAT("search_learn_l2", 1e-9, 1e6, "0.001", "search",
     "Learning to rank: L2 penalty l2/2 |w|^2 on the weights (features are scaled to about [0, 1])."),
    OPTION_INT("search_learn_max_pairs", 1, 1000000, "64", "search",
     "Learning to rank: most preference pairs one logged search contributes (a seeded uniform sample)."),
    OPTION_INT("search_learn_iterations", 1, 1000, "50", "search", "Learning to rank: most Newton iterations."),
    OPTION_INT("search_learn_seed", 0, 9007199254740991.0, "1", "search",
     "Learning to rank: seed of the pair sample (the fit itself is deterministic)."),
    OPTION_INT("search_max_bytes", 1024, 1e15, "17179869184", "search",
     "Largest search index file aisle_search_index_load reads."),
    OPTION_END};


/* Reading ~30 options costs more than a small query: without search_*
 * options in cfg the index's precomputed defaults are used. */
int search_params_read(search_params *p, const aisle_config *cfg, const search_params *defaults) {
    size_t n_opts = 0;
    while (search_options[n_opts].name) n_opts++;
    bool any = false;
    for (size_t i = 0; cfg && i < cfg->n && !any; i++)
        any = cfg->entries[i].spec >= search_options && cfg->entries[i].spec < search_options + n_opts;
    if (defaults && !any) {
        *p = *defaults;
        return AISLE_OK;
    }
    static const char *const wn[SEARCH_N_FIELDS] = {"search_weight_title", "search_weight_description",
                                                    "search_weight_category", "search_weight_brand",
                                                    "search_weight_attributes"};
    for (int f = 0; f < SEARCH_N_FIELDS; f++) p->w[f] = config_float(cfg, search_options, wn[f]);
    p->k1 = config_float(cfg, search_options, "search_k1");
    p->b = config_float(cfg, search_options, "search_b");
    p->proximity = config_float(cfg, search_options, "search_proximity");
    p->coordination = config_float(cfg, search_options, "search_coordination");
    p->typo = config_bool(cfg, search_options, "search_typo");
    p->typo_len1 = (int)config_int(cfg, search_options, "search_typo_min_len1");
    p->typo_len2 = (int)config_int(cfg, search_options, "search_typo_min_len2");
    p->typo_min_df = (int)config_int(cfg, search_options, "search_typo_min_df");
    p->typo_max = (int)config_int(cfg, search_options, "search_typo_max");
    p->typo_penalty = config_float(cfg, search_options, "search_typo_penalty");
    p->prefix = config_bool(cfg, search_options, "search_prefix");
    p->prefix_max = (int)config_int(cfg, search_options, "search_prefix_max");
    p->prefix_weight = config_float(cfg, search_options, "search_prefix_weight");
    p->depth = (size_t)config_int(cfg, search_options, "search_depth");
    p->total_limit = config_int(cfg, search_options, "search_total_limit");
    p->block_max = config_bool(cfg, search_options, "search_block_max");
    p->pair_bounds = config_bool(cfg, search_options, "search_pair_bounds");
    p->block_max_groups = (int)config_int(cfg, search_options, "search_block_max_groups");
    p->facets = config_string(cfg, search_options, "search_facets");
    p->facet_limit = (int)config_int(cfg, search_options, "search_facet_limit");
    const char *fu = config_string(cfg, search_options, "search_fusion");
    p->fusion = !strcmp(fu, "rrf") ? SEARCH_FUSION_RRF : !strcmp(fu, "linear") ? SEARCH_FUSION_LINEAR
                                                                              : SEARCH_FUSION_NONE;
    p->semantic_weight = config_float(cfg, search_options, "search_semantic_weight");
    p->semantic_seeds = (int)config_int(cfg, search_options, "search_semantic_seeds");
    p->rrf_k = (int)config_int(cfg, search_options, "search_rrf_k");
    p->personal_text = config_float(cfg, search_options, "search_personal_text");
    p->personal_user = config_float(cfg, search_options, "search_personal_user");
    p->personal_pop = config_float(cfg, search_options, "search_personal_popularity");
    p->encoder_weight = config_float(cfg, search_options, "search_encoder_weight");
    const char *rk = config_string(cfg, search_options, "search_ranker");
    p->ranker = !strcmp(rk, "blend") ? SEARCH_RANKER_BLEND : !strcmp(rk, "learned") ? SEARCH_RANKER_LEARNED
                                                                                   : SEARCH_RANKER_AUTO;
    p->learn_l2 = config_float(cfg, search_options, "search_learn_l2");
    p->learn_max_pairs = (int)config_int(cfg, search_options, "search_learn_max_pairs");
    p->learn_iterations = (int)config_int(cfg, search_options, "search_learn_iterations");
    p->learn_seed = (uint64_t)config_int(cfg, search_options, "search_learn_seed");
    return config_check(cfg, search_options, "search");
}
