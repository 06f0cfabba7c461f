/* json.c - a small, bounded JSON parser for untrusted checkpoint metadata
 * (config.json, the safetensors header).  The whole document becomes an
 * array of nodes (children linked by index) plus one arena of decoded
 * strings; both are bounded by the input length, so a hostile document
 * can never make it allocate more than a few times its own size, and the
 * nesting depth is capped so recursion cannot exhaust the stack. */
#include "bert.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t len, pos;
    const char *what;
    bert_json *j;
} jparser;

static int jerr(const jparser *p, const char *msg) {
    return core_error(AISLE_EFORMAT, "%s: JSON error at byte %zu: %s", p->what, p->pos, msg);
}

static void skip_ws(jparser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int new_node(jparser *p, int type, uint32_t *out) {
    bert_json *j = p->j;
    if (j->n >= BERT_JSON_MAX_NODES) return jerr(p, "too many values");
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        bert_jnode *n = core_reallocarray(j->nodes, cap, sizeof *n);
        if (!n) return core_oom("JSON nodes");
        j->nodes = n;
        j->cap = cap;
    }
    bert_jnode *n = &j->nodes[j->n];
    memset(n, 0, sizeof *n);
    n->type = (uint8_t)type;
    n->child = n->next = BERT_JSON_NONE;
    *out = (uint32_t)j->n++;
    return AISLE_OK;
}

static int hex4(jparser *p, uint32_t *v) {
    if (p->len - p->pos < 4) return jerr(p, "truncated \\u escape");
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        x <<= 4;
        if (c >= '0' && c <= '9') x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x |= (uint32_t)(c - 'A' + 10);
        else return jerr(p, "bad hex digit in \\u escape");
    }
    *v = x;
    return AISLE_OK;
}

static void put_utf8(bert_json *j, uint32_t cp) {
    char *o = j->strs + j->slen;
    if (cp < 0x80) {
        o[0] = (char)cp;
        j->slen += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        j->slen += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        j->slen += 3;
    } else {
        o[0] = (char)(0xF0 | cp >> 18);
        o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        j->slen += 4;
    }
}

/* Decodes a string at p->pos (just past the opening quote) into the arena.
 * Every escape is at least as long as its UTF-8 output (\uXXXX is 6 bytes
 * for at most 3; a surrogate pair 12 for 4), so the arena, sized to the
 * input, always suffices. */
static int parse_string(jparser *p, uint32_t *off, uint32_t *slen) {
    bert_json *j = p->j;
    *off = (uint32_t)j->slen;
    while (1) {
        if (p->pos >= p->len) return jerr(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"') break;
        if (c < 0x20) return jerr(p, "control character in string");
        if (c != '\\') {
            j->strs[j->slen++] = (char)c;
            continue;
        }
        if (p->pos >= p->len) return jerr(p, "truncated escape");
        char e = p->s[p->pos++];
        switch (e) {
        case '"': case '\\': case '/': j->strs[j->slen++] = e; break;
        case 'b': j->strs[j->slen++] = '\b'; break;
        case 'f': j->strs[j->slen++] = '\f'; break;
        case 'n': j->strs[j->slen++] = '\n'; break;
        case 'r': j->strs[j->slen++] = '\r'; break;
        case 't': j->strs[j->slen++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            int rc = hex4(p, &cp);
            if (rc) return rc;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
                    return jerr(p, "unpaired surrogate in \\u escape");
                p->pos += 2;
                if ((rc = hex4(p, &lo))) return rc;
                if (lo < 0xDC00 || lo > 0xDFFF) return jerr(p, "unpaired surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return jerr(p, "unpaired surrogate in \\u escape");
            }
            put_utf8(j, cp);
            break;
        }
        default: return jerr(p, "unknown escape");
        }
    }
    *slen = (uint32_t)(j->slen - *off);
    j->strs[j->slen++] = '\0'; /* so values can be used as C strings */
    return AISLE_OK;
}

static int parse_number(jparser *p, double *v) {
    size_t start = p->pos;
    if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
    if (p->pos >= p->len) return jerr(p, "truncated number");
    if (p->s[p->pos] == '0') {
        p->pos++;
    } else if (p->s[p->pos] >= '1' && p->s[p->pos] <= '9') {
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    } else {
        return jerr(p, "bad number");
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        size_t d = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
        if (p->pos == d) return jerr(p, "bad number: no digits after '.'");
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        size_t d = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
        if (p->pos == d) return jerr(p, "bad number: no exponent digits");
    }
    char tmp[64];
    size_t n = p->pos - start;
    if (n >= sizeof tmp) return jerr(p, "number too long");
    memcpy(tmp, p->s + start, n);
    tmp[n] = '\0';
    *v = strtod(tmp, NULL);
    return AISLE_OK;
}

static int parse_value(jparser *p, int depth, uint32_t *out);

static int parse_container(jparser *p, int depth, bool object, uint32_t self) {
    uint32_t last = BERT_JSON_NONE;
    skip_ws(p);
    char close = object ? '}' : ']';
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return AISLE_OK;
    }
    while (1) {
        uint32_t key_off = 0, key_len = 0, child;
        int rc;
        skip_ws(p);
        if (object) {
            if (p->pos >= p->len || p->s[p->pos] != '"') return jerr(p, "expected a string key");
            p->pos++;
            if ((rc = parse_string(p, &key_off, &key_len))) return rc;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') return jerr(p, "expected ':'");
            p->pos++;
        }
        if ((rc = parse_value(p, depth + 1, &child))) return rc;
        bert_jnode *c = &p->j->nodes[child];
        c->key = key_off;
        c->key_len = key_len;
        c->has_key = object;
        if (last == BERT_JSON_NONE) p->j->nodes[self].child = child;
        else p->j->nodes[last].next = child;
        p->j->nodes[self].count++;
        last = child;
        skip_ws(p);
        if (p->pos >= p->len) return jerr(p, object ? "unterminated object" : "unterminated array");
        char c2 = p->s[p->pos++];
        if (c2 == close) return AISLE_OK;
        if (c2 != ',') return jerr(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(jparser *p, int depth, uint32_t *out) {
    if (depth > BERT_JSON_MAX_DEPTH) return jerr(p, "nesting too deep");
    skip_ws(p);
    if (p->pos >= p->len) return jerr(p, "expected a value");
    char c = p->s[p->pos];
    uint32_t id;
    int rc;
    if (c == '{' || c == '[') {
        p->pos++;
        if ((rc = new_node(p, c == '{' ? BJ_OBJ : BJ_ARR, &id))) return rc;
        if ((rc = parse_container(p, depth, c == '{', id))) return rc;
    } else if (c == '"') {
        p->pos++;
        if ((rc = new_node(p, BJ_STR, &id))) return rc;
        uint32_t off, len;
        if ((rc = parse_string(p, &off, &len))) return rc;
        p->j->nodes[id].str = off;
        p->j->nodes[id].str_len = len;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        double v = 0;
        if ((rc = parse_number(p, &v))) return rc;
        if ((rc = new_node(p, BJ_NUM, &id))) return rc;
        p->j->nodes[id].num = v;
    } else {
        static const struct { const char *word; int type; } words[] = {
            {"true", BJ_TRUE}, {"false", BJ_FALSE}, {"null", BJ_NULL}};
        size_t k;
        for (k = 0; k < 3; k++) {
            size_t wl = strlen(words[k].word);
            if (p->len - p->pos >= wl && !memcmp(p->s + p->pos, words[k].word, wl)) break;
        }
        if (k == 3) return jerr(p, "unexpected character");
        p->pos += strlen(words[k].word);
        if ((rc = new_node(p, words[k].type, &id))) return rc;
    }
    *out = id;
    return AISLE_OK;
}

int bert_json_parse(bert_json *j, const char *text, size_t len, const char *what) {
    memset(j, 0, sizeof *j);
    if (len > BERT_JSON_MAX_BYTES)
        return core_error(AISLE_ERANGE, "%s: JSON document of %zu bytes is larger than the %u allowed", what, len,
                          (unsigned)BERT_JSON_MAX_BYTES);
    j->strs = core_malloc(len + 1);
    if (!j->strs) return core_oom("JSON strings");
    jparser p = {text, len, 0, what, j};
    uint32_t root;
    int rc = parse_value(&p, 0, &root);
    if (!rc) {
        skip_ws(&p);
        if (p.pos != p.len) rc = jerr(&p, "trailing characters after the document");
    }
    if (rc) bert_json_free(j);
    return rc;
}

void bert_json_free(bert_json *j) {
    if (!j) return;
    core_free(j->nodes);
    core_free(j->strs);
    memset(j, 0, sizeof *j);
}

uint32_t bert_json_get(const bert_json *j, uint32_t obj, const char *key) {
    if (obj >= j->n || j->nodes[obj].type != BJ_OBJ) return BERT_JSON_NONE;
    size_t kl = strlen(key);
    uint32_t found = BERT_JSON_NONE;
    for (uint32_t c = j->nodes[obj].child; c != BERT_JSON_NONE; c = j->nodes[c].next)
        if (j->nodes[c].key_len == kl && !memcmp(j->strs + j->nodes[c].key, key, kl)) found = c; /* last wins */
    return found;
}
