/* config.c - a checkpoint's config.json (and tokenizer_config.json when
 * present), checked against limits that keep every later allocation
 * bounded: a config can only describe a model the tensors then must match. */
#include "bert.h"
#include "data/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *field;
    uint32_t *dst;
    uint32_t lo, hi;
    bool required;
    uint32_t dflt;
} int_field;

static int get_uint(const bert_json *j, const int_field *f, const char *what) {
    uint32_t n = bert_json_get(j, 0, f->field);
    if (n == BERT_JSON_NONE) {
        if (f->required) return core_error(AISLE_EFORMAT, "%s: field %s is missing", what, f->field);
        *f->dst = f->dflt;
        return AISLE_OK;
    }
    double v = j->nodes[n].num;
    if (j->nodes[n].type != BJ_NUM || v != floor(v) || !(v >= f->lo && v <= f->hi))
        return core_error(AISLE_EFORMAT, "%s: field %s must be an integer in %u..%u", what, f->field, f->lo, f->hi);
    *f->dst = (uint32_t)v;
    return AISLE_OK;
}

/* A boolean field; *set tells whether it was present (null = absent). */
static int get_bool(const bert_json *j, const char *field, bool *dst, bool *set, const char *what) {
    uint32_t n = bert_json_get(j, 0, field);
    if (set) *set = false;
    if (n == BERT_JSON_NONE || j->nodes[n].type == BJ_NULL) return AISLE_OK;
    if (j->nodes[n].type != BJ_TRUE && j->nodes[n].type != BJ_FALSE)
        return core_error(AISLE_EFORMAT, "%s: field %s must be true, false or null", what, field);
    *dst = j->nodes[n].type == BJ_TRUE;
    if (set) *set = true;
    return AISLE_OK;
}

static int parse_main(bert_config *c, const bert_json *j, const char *what, bool *strip_set) {
    if (j->nodes[0].type != BJ_OBJ) return core_error(AISLE_EFORMAT, "%s: not a JSON object", what);
    int_field f[] = {
        {"vocab_size", &c->vocab, 5, 4000000, true, 0},
        {"hidden_size", &c->hidden, 1, 8192, true, 0},
        {"num_hidden_layers", &c->layers, 1, 128, true, 0},
        {"num_attention_heads", &c->heads, 1, 256, true, 0},
        {"intermediate_size", &c->inter, 1, 65536, true, 0},
        {"max_position_embeddings", &c->max_pos, 2, 16384, true, 0},
        {"type_vocab_size", &c->type_vocab, 1, 64, false, 2},
    };
    int rc;
    for (size_t i = 0; i < CORE_ARRAY_LEN(f); i++)
        if ((rc = get_uint(j, &f[i], what))) return rc;
    if (c->hidden % c->heads)
        return core_error(AISLE_EFORMAT, "%s: field hidden_size (%u) is not a multiple of num_attention_heads (%u)",
                          what, c->hidden, c->heads);
    uint32_t n = bert_json_get(j, 0, "hidden_act");
    if (n != BERT_JSON_NONE && (j->nodes[n].type != BJ_STR || strcmp(j->strs + j->nodes[n].str, "gelu")))
        return core_error(AISLE_EUNSUPPORTED, "%s: field hidden_act must be \"gelu\" (exact erf GELU)", what);
    n = bert_json_get(j, 0, "position_embedding_type");
    if (n != BERT_JSON_NONE && (j->nodes[n].type != BJ_STR || strcmp(j->strs + j->nodes[n].str, "absolute")))
        return core_error(AISLE_EUNSUPPORTED, "%s: field position_embedding_type must be \"absolute\"", what);
    c->eps = 1e-12f;
    n = bert_json_get(j, 0, "layer_norm_eps");
    if (n != BERT_JSON_NONE) {
        /* checked after the narrowing to float: 1e-92 would pass as a double and
         * become 0, 0.999999999 would become 1 */
        float eps = j->nodes[n].type == BJ_NUM ? (float)j->nodes[n].num : 0.0f;
        if (!(eps > 0 && eps < 1))
            return core_error(AISLE_EFORMAT, "%s: field layer_norm_eps must be a number in (0, 1) as a float",
                              what);
        c->eps = eps;
    }
    /* labels: num_labels, else the size of id2label, else 2 (Transformers' default) */
    c->num_labels = 2;
    uint32_t id2 = bert_json_get(j, 0, "id2label");
    if (id2 != BERT_JSON_NONE) {
        if (j->nodes[id2].type != BJ_OBJ || j->nodes[id2].count < 1 || j->nodes[id2].count > 4096)
            return core_error(AISLE_EFORMAT, "%s: field id2label must be an object of 1..4096 labels", what);
        c->num_labels = j->nodes[id2].count;
    }
    int_field nl = {"num_labels", &c->num_labels, 1, 4096, false, c->num_labels};
    if ((rc = get_uint(j, &nl, what))) return rc;
    c->regression = c->num_labels == 1;
    n = bert_json_get(j, 0, "problem_type");
    if (n != BERT_JSON_NONE && j->nodes[n].type == BJ_STR) {
        const char *pt = j->strs + j->nodes[n].str;
        if (!strcmp(pt, "regression")) {
            if (c->num_labels != 1)
                return core_error(AISLE_EFORMAT, "%s: field problem_type is \"regression\" but num_labels is %u", what,
                                  c->num_labels);
        } else if (strcmp(pt, "single_label_classification")) {
            return core_error(AISLE_EUNSUPPORTED, "%s: field problem_type \"%.40s\" is not supported "
                              "(single_label_classification or regression)", what, pt);
        }
    }
    c->lower = true;
    if ((rc = get_bool(j, "do_lower_case", &c->lower, NULL, what))) return rc;
    return get_bool(j, "strip_accents", &c->strip_accents, strip_set, what);
}

int bert_config_parse(bert_config *c, const char *json, size_t len, const char *what, const char *tok_json,
                      size_t tok_len, const char *tok_what) {
    bert_json j;
    bool strip_set = false;
    memset(c, 0, sizeof *c);
    int rc = bert_json_parse(&j, json, len, what);
    if (rc) return rc;
    rc = parse_main(c, &j, what, &strip_set);
    bert_json_free(&j);
    if (!rc && tok_json) {
        if ((rc = bert_json_parse(&j, tok_json, tok_len, tok_what))) return rc;
        bool set2 = false;
        if (j.nodes[0].type != BJ_OBJ) rc = core_error(AISLE_EFORMAT, "%s: not a JSON object", tok_what);
        if (!rc) rc = get_bool(&j, "do_lower_case", &c->lower, NULL, tok_what);
        if (!rc) rc = get_bool(&j, "strip_accents", &c->strip_accents, &set2, tok_what);
        strip_set = strip_set || set2;
        bert_json_free(&j);
    }
    /* Transformers: strip_accents unset (null) follows do_lower_case */
    if (!rc && !strip_set) c->strip_accents = c->lower;
    return rc;
}

int bert_config_labels(const char *json, size_t len, const char *what, uint32_t num_labels, core_keys *out) {
    bert_json j;
    keys_init(out);
    int rc = bert_json_parse(&j, json, len, what);
    if (rc) return rc;
    uint32_t id2 = j.nodes[0].type == BJ_OBJ ? bert_json_get(&j, 0, "id2label") : BERT_JSON_NONE;
    if (id2 != BERT_JSON_NONE && j.nodes[id2].count != num_labels)
        rc = core_error(AISLE_EFORMAT, "%s: field id2label has %u labels, the model %u", what, j.nodes[id2].count,
                        num_labels);
    /* names in id order: slot k of the id2label object may be any id */
    uint32_t *node_of = rc || id2 == BERT_JSON_NONE ? NULL : core_calloc(num_labels, sizeof *node_of);
    if (!rc && id2 != BERT_JSON_NONE && !node_of) rc = core_oom("bert label names");
    for (uint32_t n = node_of ? j.nodes[id2].child : BERT_JSON_NONE; !rc && n != BERT_JSON_NONE;
         n = j.nodes[n].next) {
        const bert_jnode *e = &j.nodes[n];
        const char *key = j.strs + e->key;
        char *end = NULL;
        unsigned long id = ~0ul;
        if (e->key_len && e->key_len < 8 && key[0] >= '0' && key[0] <= '9') id = strtoul(key, &end, 10);
        if (id >= num_labels || end != key + e->key_len || node_of[id])
            rc = core_error(AISLE_EFORMAT, "%s: field id2label: key \"%.20s\" is not a distinct id in 0..%u", what,
                            key, num_labels - 1);
        else if (e->type != BJ_STR || !e->str_len || e->str_len > 256 ||
                 data_utf8_check(j.strs + e->str, e->str_len) < e->str_len)
            rc = core_error(AISLE_EFORMAT, "%s: field id2label: label %lu must be a non-empty UTF-8 string of at "
                            "most 256 bytes", what, id);
        else
            node_of[id] = n + 1;
    }
    for (uint32_t id = 0; !rc && node_of && id < num_labels; id++) {
        const bert_jnode *e = &j.nodes[node_of[id] - 1];
        bool added = false;
        uint32_t idx;
        rc = keys_intern(out, j.strs + e->str, e->str_len, &idx, &added);
        if (!rc && !added)
            rc = core_error(AISLE_EFORMAT, "%s: field id2label: label \"%.40s\" appears twice", what, j.strs + e->str);
    }
    core_free(node_of);
    bert_json_free(&j);
    if (rc) keys_clear(out);
    return rc;
}
