/* safetensors.c - the header of a .safetensors file: 8 bytes of header
 * length, a JSON object {name: {dtype, shape, data_offsets}, ...,
 * "__metadata__": {...}}, then the tensors' bytes.  Nothing here trusts
 * the header: lengths, shapes and offsets are checked against each other
 * and against the file size before a caller reads or allocates. */
#include "bert.h"

#include <string.h>

int bert_st_header_len(const uint8_t first8[8], uint64_t file_size, const char *what, uint64_t *hlen) {
    if (file_size < 8)
        return core_error(AISLE_EFORMAT, "%s: file of %llu bytes is too short for a safetensors header", what,
                          (unsigned long long)file_size);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | first8[i];
    if (h > file_size - 8)
        return core_error(AISLE_EFORMAT, "%s: header length %llu runs past the end of the file (%llu bytes)", what,
                          (unsigned long long)h, (unsigned long long)file_size);
    if (h > BERT_JSON_MAX_BYTES || h < 2)
        return core_error(AISLE_EFORMAT, "%s: header length %llu is outside 2..%u bytes", what, (unsigned long long)h,
                          (unsigned)BERT_JSON_MAX_BYTES);
    *hlen = h;
    return AISLE_OK;
}

void bert_st_free(bert_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n; i++) core_free(st->t[i].name);
    core_free(st->t);
    memset(st, 0, sizeof *st);
}

const bert_st_tensor *bert_st_find(const bert_safetensors *st, const char *name) {
    for (size_t i = 0; i < st->n; i++)
        if (!strcmp(st->t[i].name, name)) return &st->t[i];
    return NULL;
}

/* A JSON number that is an exact non-negative integer below 2^53. */
static bool json_u64(const bert_jnode *n, uint64_t *v) {
    if (n->type != BJ_NUM || !(n->num >= 0) || n->num > 9007199254740992.0 || n->num != (double)(uint64_t)n->num)
        return false;
    *v = (uint64_t)n->num;
    return true;
}

static int entry(bert_safetensors *st, const bert_json *j, uint32_t e, uint64_t data_size, const char *what) {
    const bert_jnode *en = &j->nodes[e];
    const char *name = j->strs + en->key;
    if (en->key_len != strlen(name))
        return core_error(AISLE_EFORMAT, "%s: a tensor name contains a NUL character", what);
    if (en->type != BJ_OBJ) return core_error(AISLE_EFORMAT, "%s: tensor '%s' is not an object", what, name);
    uint32_t dt = bert_json_get(j, e, "dtype"), sh = bert_json_get(j, e, "shape"),
             of = bert_json_get(j, e, "data_offsets");
    if (dt == BERT_JSON_NONE || j->nodes[dt].type != BJ_STR)
        return core_error(AISLE_EFORMAT, "%s: tensor '%s': field dtype is missing or not a string", what, name);
    const char *dts = j->strs + j->nodes[dt].str;
    int dtype;
    uint64_t elem;
    if (!strcmp(dts, "F32")) dtype = BERT_DT_F32, elem = 4;
    else if (!strcmp(dts, "F16")) dtype = BERT_DT_F16, elem = 2;
    else if (!strcmp(dts, "BF16")) dtype = BERT_DT_BF16, elem = 2;
    else
        return core_error(AISLE_EFORMAT, "%s: tensor '%s': dtype '%.16s' is not supported (F32, F16 or BF16)", what,
                          name, dts);
    if (sh == BERT_JSON_NONE || j->nodes[sh].type != BJ_ARR || j->nodes[sh].count > BERT_ST_MAX_DIMS)
        return core_error(AISLE_EFORMAT, "%s: tensor '%s': field shape is missing, not an array or has more than %d "
                          "dimensions", what, name, BERT_ST_MAX_DIMS);
    if (of == BERT_JSON_NONE || j->nodes[of].type != BJ_ARR || j->nodes[of].count != 2)
        return core_error(AISLE_EFORMAT, "%s: tensor '%s': field data_offsets is not an array of two offsets", what,
                          name);
    bert_st_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    uint64_t bytes = elem;
    for (uint32_t c = j->nodes[sh].child; c != BERT_JSON_NONE; c = j->nodes[c].next) {
        uint64_t d;
        if (!json_u64(&j->nodes[c], &d))
            return core_error(AISLE_EFORMAT, "%s: tensor '%s': shape[%d] is not a non-negative integer", what, name,
                              t.ndim);
        if (d && bytes > data_size / d)
            return core_error(AISLE_EFORMAT, "%s: tensor '%s': shape needs more bytes than the file's %llu bytes of "
                              "data", what, name, (unsigned long long)data_size);
        bytes *= d;
        t.shape[t.ndim++] = d;
    }
    uint32_t b = j->nodes[of].child, en2 = j->nodes[b].next;
    uint64_t begin, end;
    if (!json_u64(&j->nodes[b], &begin) || !json_u64(&j->nodes[en2], &end))
        return core_error(AISLE_EFORMAT, "%s: tensor '%s': data_offsets are not non-negative integers", what, name);
    if (begin > end || end > data_size)
        return core_error(AISLE_EFORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] lie outside the %llu bytes of "
                          "data", what, name, (unsigned long long)begin, (unsigned long long)end,
                          (unsigned long long)data_size);
    if (end - begin != bytes)
        return core_error(AISLE_EFORMAT, "%s: tensor '%s': data_offsets span %llu bytes but dtype %s and the shape "
                          "need %llu", what, name, (unsigned long long)(end - begin), dts, (unsigned long long)bytes);
    t.begin = st->data_start + begin;
    t.end = st->data_start + end;
    t.name = core_malloc(en->key_len + 1);
    if (!t.name) return core_oom("safetensors tensor name");
    memcpy(t.name, name, en->key_len + 1);
    st->t[st->n++] = t;
    return AISLE_OK;
}

int bert_st_parse(bert_safetensors *st, const char *json, size_t hlen, uint64_t file_size, const char *what) {
    memset(st, 0, sizeof *st);
    if (file_size < 8 || hlen > file_size - 8)
        return core_error(AISLE_EFORMAT, "%s: header length %zu runs past the end of the file", what, hlen);
    bert_json j;
    int rc = bert_json_parse(&j, json, hlen, what);
    if (rc) return rc;
    if (j.nodes[0].type != BJ_OBJ) {
        bert_json_free(&j);
        return core_error(AISLE_EFORMAT, "%s: the header is not a JSON object", what);
    }
    if (j.nodes[0].count > BERT_ST_MAX_TENSORS) {
        uint32_t count = j.nodes[0].count;
        bert_json_free(&j);
        return core_error(AISLE_ERANGE, "%s: the header lists %u entries, more than the %u allowed", what, count,
                          (unsigned)BERT_ST_MAX_TENSORS);
    }
    st->data_start = 8 + (uint64_t)hlen;
    st->file_size = file_size;
    st->t = core_calloc(j.nodes[0].count ? j.nodes[0].count : 1, sizeof *st->t);
    if (!st->t) rc = core_oom("safetensors tensor table");
    for (uint32_t e = j.nodes[0].child; !rc && e != BERT_JSON_NONE; e = j.nodes[e].next) {
        if (j.nodes[e].key_len == 12 && !memcmp(j.strs + j.nodes[e].key, "__metadata__", 12)) continue;
        if (bert_st_find(st, j.strs + j.nodes[e].key))
            rc = core_error(AISLE_EFORMAT, "%s: tensor '%s' is listed twice", what, j.strs + j.nodes[e].key);
        else
            rc = entry(st, &j, e, file_size - st->data_start, what);
    }
    bert_json_free(&j);
    if (rc) bert_st_free(st);
    return rc;
}
