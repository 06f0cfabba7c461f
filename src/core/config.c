/* config.c - aisle_config: named, typed, validated options. */
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *type_name(int type) {
    switch (type) {
    case AISLE_OPTION_INT: return "an integer";
    case AISLE_OPTION_FLOAT: return "a number";
    case AISLE_OPTION_BOOL: return "a boolean (true/false)";
    default: return "text";
    }
}

/* Whether `value` is one of the '|'-separated choices. */
static bool choice_ok(const char *choices, const char *value) {
    size_t vlen = strlen(value);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncmp(p, value, n) == 0) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

/* An integer option's bound, compared as an integer: as doubles, 2^53 + 1
 * would round down to a bound of 2^53 and pass. */
static long long int_bound(double b) {
    if (b >= 9223372036854775807.0) return LLONG_MAX;
    if (b <= -9223372036854775808.0) return LLONG_MIN;
    return (long long)b;
}

/* Validates a parsed entry against spec's range and choices. */
static int check_entry(const option_spec *spec, const config_entry *e, const char *what) {
    const char *who = what ? what : "";
    const char *sep = what ? " for " : "";
    switch (spec->type) {
    case AISLE_OPTION_INT:
        if (e->i < int_bound(spec->min) || e->i > int_bound(spec->max))
            return core_error(AISLE_ERANGE, "option '%s'=%lld is out of range [%.0f, %.0f]%s%s", spec->name,
                              (long long)e->i, spec->min, spec->max, sep, who);
        break;
    case AISLE_OPTION_FLOAT:
        if (!isfinite(e->f))
            return core_error(AISLE_EINVAL, "option '%s' must be a finite number", spec->name);
        if (e->f < spec->min || e->f > spec->max)
            return core_error(AISLE_ERANGE, "option '%s'=%g is out of range [%g, %g]%s%s", spec->name, e->f,
                              spec->min, spec->max, sep, who);
        break;
    case AISLE_OPTION_BOOL:
        if (e->i != 0 && e->i != 1)
            return core_error(AISLE_EINVAL, "option '%s' is a boolean: use 0 or 1", spec->name);
        break;
    case AISLE_OPTION_STRING:
        if (spec->choices && !choice_ok(spec->choices, e->s))
            return core_error(AISLE_EINVAL, "option '%s'='%s' is not one of %s%s%s", spec->name, e->s,
                              spec->choices, sep, who);
        break;
    default:
        return core_error(AISLE_EINTERNAL, "option '%s' has an unknown type", spec->name);
    }
    return AISLE_OK;
}

int config_parse_value(const option_spec *spec, const char *text, config_entry *out) {
    memset(out, 0, sizeof *out);
    out->spec = spec;
    char *end = NULL;
    switch (spec->type) {
    case AISLE_OPTION_INT: {
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (end == text || *end != '\0' || isspace((unsigned char)*text))
            return core_error(AISLE_EINVAL, "option '%s' expects %s, got '%s'", spec->name,
                              type_name(spec->type), text);
        if (errno == ERANGE)
            return core_error(AISLE_ERANGE, "option '%s'='%s' is out of range [%.0f, %.0f]", spec->name, text,
                              spec->min, spec->max);
        out->i = v;
        break;
    }
    case AISLE_OPTION_FLOAT: {
        double v = strtod(text, &end);
        if (end == text || *end != '\0' || isspace((unsigned char)*text))
            return core_error(AISLE_EINVAL, "option '%s' expects %s, got '%s'", spec->name,
                              type_name(spec->type), text);
        out->f = v;
        break;
    }
    case AISLE_OPTION_BOOL:
        if (!strcasecmp(text, "1") || !strcasecmp(text, "true") || !strcasecmp(text, "yes") ||
            !strcasecmp(text, "on"))
            out->i = 1;
        else if (!strcasecmp(text, "0") || !strcasecmp(text, "false") || !strcasecmp(text, "no") ||
                 !strcasecmp(text, "off"))
            out->i = 0;
        else
            return core_error(AISLE_EINVAL, "option '%s' expects %s, got '%s'", spec->name,
                              type_name(spec->type), text);
        break;
    case AISLE_OPTION_STRING:
        out->s = core_strdup(text);
        if (!out->s) return core_oom("option value");
        break;
    default:
        return core_error(AISLE_EINTERNAL, "option '%s' has an unknown type", spec->name);
    }
    int rc = check_entry(spec, out, NULL);
    if (rc) {
        core_free(out->s);
        out->s = NULL;
    }
    return rc;
}

AISLE_API int aisle_config_new(aisle_config **out) {
    if (!out) return core_error(AISLE_EINVAL, "aisle_config_new: out is NULL");
    aisle_config *c = core_calloc(1, sizeof *c);
    if (!c) return core_oom("config");
    *out = c;
    return AISLE_OK;
}

AISLE_API void aisle_config_free(aisle_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < cfg->n; i++) core_free(cfg->entries[i].s);
    core_free(cfg->entries);
    core_free(cfg);
}

AISLE_API int aisle_config_copy(const aisle_config *cfg, aisle_config **out) {
    if (!cfg || !out) return core_error(AISLE_EINVAL, "aisle_config_copy: NULL argument");
    aisle_config *c = core_calloc(1, sizeof *c);
    if (!c) return core_oom("config");
    if (cfg->n) {
        c->entries = core_calloc(cfg->n, sizeof *c->entries);
        if (!c->entries) {
            core_free(c);
            return core_oom("config");
        }
        c->cap = cfg->n;
        for (size_t i = 0; i < cfg->n; i++) {
            c->entries[i] = cfg->entries[i];
            c->entries[i].s = NULL;
            if (cfg->entries[i].s) {
                c->entries[i].s = core_strdup(cfg->entries[i].s);
                if (!c->entries[i].s) {
                    c->n = i;
                    aisle_config_free(c);
                    return core_oom("config");
                }
            }
            c->n = i + 1;
        }
    }
    c->progress = cfg->progress;
    c->progress_user = cfg->progress_user;
    *out = c;
    return AISLE_OK;
}

const config_entry *config_lookup(const aisle_config *cfg, const char *key) {
    if (!cfg || !key) return NULL;
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->entries[i].spec->name, key) == 0) return &cfg->entries[i];
    return NULL;
}

/* Stores a validated entry, taking ownership of e->s. */
static int config_store(aisle_config *cfg, config_entry *e) {
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->entries[i].spec->name, e->spec->name) == 0) {
            core_free(cfg->entries[i].s);
            cfg->entries[i] = *e;
            return AISLE_OK;
        }
    }
    int rc = core_grow((void **)&cfg->entries, &cfg->cap, cfg->n + 1, sizeof *cfg->entries);
    if (rc) {
        core_free(e->s);
        return rc;
    }
    cfg->entries[cfg->n++] = *e;
    return AISLE_OK;
}

static int find_spec(option_tables tables, const char *key, const option_spec **out) {
    if (!key) return core_error(AISLE_EINVAL, "option name is NULL");
    const option_spec *s = option_find(tables, key);
    if (!s) return core_error(AISLE_ENOTFOUND, "unknown option '%s' (aisle help options lists them)", key);
    *out = s;
    return AISLE_OK;
}

/* Two kinds may give one option name different choices (loss of sasrec
 * and hybrid): text goes to the first spec of that name whose choices
 * accept it, else to the first (which reports the error). */
static int find_spec_for_text(option_tables tables, const char *key, const char *text, const option_spec **out) {
    int rc = find_spec(tables, key, out);
    if (rc || (*out)->type != AISLE_OPTION_STRING || !(*out)->choices || choice_ok((*out)->choices, text)) return rc;
    for (int t = 0; tables(t); t++) {
        const option_spec *o = option_find_in(tables(t), key);
        if (o && o->type == AISLE_OPTION_STRING && (!o->choices || choice_ok(o->choices, text))) {
            *out = o;
            break;
        }
    }
    return AISLE_OK;
}

int config_set_int(aisle_config *cfg, option_tables tables, const char *key, int64_t value) {
    if (!cfg) return core_error(AISLE_EINVAL, "aisle_config_set_int: cfg is NULL");
    const option_spec *s = NULL;
    int rc = find_spec(tables, key, &s);
    if (rc) return rc;
    config_entry e = {s, 0, 0, NULL};
    if (s->type == AISLE_OPTION_INT || s->type == AISLE_OPTION_BOOL)
        e.i = value;
    else if (s->type == AISLE_OPTION_FLOAT)
        e.f = (double)value;
    else
        return core_error(AISLE_EINVAL, "option '%s' expects %s, not an integer", key, type_name(s->type));
    rc = check_entry(s, &e, NULL);
    return rc ? rc : config_store(cfg, &e);
}

int config_set_float(aisle_config *cfg, option_tables tables, const char *key, double value) {
    if (!cfg) return core_error(AISLE_EINVAL, "aisle_config_set_float: cfg is NULL");
    const option_spec *s = NULL;
    int rc = find_spec(tables, key, &s);
    if (rc) return rc;
    if (s->type != AISLE_OPTION_FLOAT)
        return core_error(AISLE_EINVAL, "option '%s' expects %s, not a floating-point number", key,
                          type_name(s->type));
    config_entry e = {s, 0, value, NULL};
    rc = check_entry(s, &e, NULL);
    return rc ? rc : config_store(cfg, &e);
}

int config_set_string(aisle_config *cfg, option_tables tables, const char *key, const char *value) {
    if (!cfg || !value) return core_error(AISLE_EINVAL, "aisle_config_set_string: NULL argument");
    const option_spec *s = NULL;
    int rc = find_spec_for_text(tables, key, value, &s);
    if (rc) return rc;
    if (s->type != AISLE_OPTION_STRING)
        return core_error(AISLE_EINVAL, "option '%s' expects %s, not text (use aisle_config_set to parse text)",
                          key, type_name(s->type));
    config_entry e;
    rc = config_parse_value(s, value, &e);
    return rc ? rc : config_store(cfg, &e);
}

int config_set_text(aisle_config *cfg, const option_spec *spec, const char *value) {
    config_entry e;
    int rc = config_parse_value(spec, value, &e);
    return rc ? rc : config_store(cfg, &e);
}

int config_set(aisle_config *cfg, option_tables tables, const char *key, const char *value) {
    if (!cfg || !value) return core_error(AISLE_EINVAL, "aisle_config_set: NULL argument");
    const option_spec *s = NULL;
    int rc = find_spec_for_text(tables, key, value, &s);
    return rc ? rc : config_set_text(cfg, s, value);
}

int config_unset(aisle_config *cfg, option_tables tables, const char *key) {
    if (!cfg) return core_error(AISLE_EINVAL, "aisle_config_unset: cfg is NULL");
    const option_spec *s = NULL;
    int rc = find_spec(tables, key, &s);
    if (rc) return rc;
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->entries[i].spec->name, s->name) == 0) {
            core_free(cfg->entries[i].s);
            memmove(&cfg->entries[i], &cfg->entries[i + 1], (cfg->n - i - 1) * sizeof *cfg->entries);
            cfg->n--;
            break;
        }
    }
    return AISLE_OK;
}

/* Tokenizer for aisle_config_parse: pairs separated by whitespace, ',' or
 * ';'; values may be "quoted" (with \" and \\ escapes). */
typedef struct pair {
    char *key, *value;
} pair;

static bool is_sep(char c) { return isspace((unsigned char)c) || c == ',' || c == ';'; }

int config_parse(aisle_config *cfg, option_tables tables, const char *text) {
    if (!cfg || !text) return core_error(AISLE_EINVAL, "aisle_config_parse: NULL argument");
    /* Parse into a scratch copy first so a bad pair leaves cfg unchanged. */
    aisle_config *scratch;
    int rc = aisle_config_copy(cfg, &scratch);
    if (rc) return rc;
    const char *p = text;
    int pairno = 0;
    char *key = NULL, *val = NULL;
    while (!rc) {
        while (*p && is_sep(*p)) p++;
        if (!*p) break;
        pairno++;
        const char *k0 = p;
        while (*p && *p != '=' && !is_sep(*p)) p++;
        if (*p != '=' || p == k0) {
            rc = core_error(AISLE_EFORMAT, "config text, pair %d: expected key=value, found '%.*s'", pairno,
                            (int)strcspn(k0, " \t\r\n,;"), k0);
            break;
        }
        key = core_strndup(k0, (size_t)(p - k0));
        if (!key) { rc = core_oom("config text"); break; }
        p++; /* '=' */
        core_buf v;
        buf_init(&v);
        if (*p == '"') {
            p++;
            while (*p && *p != '"' && !rc) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
                rc = buf_append(&v, p, 1);
                p++;
            }
            if (!rc && *p != '"')
                rc = core_error(AISLE_EFORMAT, "config text, pair %d ('%s'): unterminated quoted value",
                                pairno, key);
            if (!rc) p++;
        } else {
            const char *v0 = p;
            while (*p && !is_sep(*p)) p++;
            rc = buf_append(&v, v0, (size_t)(p - v0));
        }
        if (!rc) rc = buf_append(&v, "", 0); /* ensure non-NULL data */
        val = v.data;
        if (!rc) {
            rc = config_set(scratch, tables, key, val);
            if (rc) core_error_prefix(rc, "config text, pair %d", pairno);
        }
        core_free(key);
        buf_free(&v);
        key = val = NULL;
    }
    if (rc) {
        aisle_config_free(scratch);
        return rc;
    }
    /* Commit: swap contents. */
    aisle_config tmp = *cfg;
    *cfg = *scratch;
    *scratch = tmp;
    aisle_config_free(scratch);
    return AISLE_OK;
}

static int default_entry(const option_spec *s, config_entry *e) {
    /* Defaults are declared as text and always valid; parse without
     * allocating for strings. */
    memset(e, 0, sizeof *e);
    e->spec = s;
    switch (s->type) {
    case AISLE_OPTION_INT:
    case AISLE_OPTION_BOOL:
        e->i = (s->type == AISLE_OPTION_BOOL)
                   ? (!strcasecmp(s->def, "true") || !strcmp(s->def, "1") || !strcasecmp(s->def, "yes"))
                   : strtoll(s->def, NULL, 10);
        break;
    case AISLE_OPTION_FLOAT: e->f = strtod(s->def, NULL); break;
    default: e->s = (char *)s->def; break;
    }
    return AISLE_OK;
}

/* The effective entry for key: the value set in cfg, else spec's default
 * (spec NULL: none). */
static const option_spec *effective(const aisle_config *cfg, const option_spec *spec, const char *key,
                                    config_entry *out) {
    const config_entry *set = config_lookup(cfg, key);
    if (set) {
        *out = *set;
        return set->spec;
    }
    if (!spec) return NULL;
    default_entry(spec, out);
    return spec;
}

/* The effective entry for (cfg, table, key): set value, else table's
 * default, else the generic default. */
static const option_spec *resolve(const aisle_config *cfg, const option_spec *table, const char *key,
                                  config_entry *out) {
    const option_spec *s = option_find_in(table, key);
    if (!s) s = option_find_in(core_options, key);
    return effective(cfg, s, key, out);
}

static int64_t entry_int(const option_spec *s, const config_entry *e) {
    if (!s) return 0;
    return s->type == AISLE_OPTION_FLOAT ? (int64_t)e->f : e->i;
}

static double entry_float(const option_spec *s, const config_entry *e) {
    if (!s) return 0.0;
    return s->type == AISLE_OPTION_FLOAT ? e->f : (double)e->i;
}

int64_t config_int(const aisle_config *cfg, const option_spec *table, const char *key) {
    config_entry e;
    const option_spec *s = resolve(cfg, table, key, &e);
    return entry_int(s, &e);
}

double config_float(const aisle_config *cfg, const option_spec *table, const char *key) {
    config_entry e;
    const option_spec *s = resolve(cfg, table, key, &e);
    return entry_float(s, &e);
}

bool config_bool(const aisle_config *cfg, const option_spec *table, const char *key) {
    return config_int(cfg, table, key) != 0;
}

const char *config_string(const aisle_config *cfg, const option_spec *table, const char *key) {
    config_entry e;
    const option_spec *s = resolve(cfg, table, key, &e);
    if (!s || s->type != AISLE_OPTION_STRING) return "";
    return e.s ? e.s : "";
}

int config_check(const aisle_config *cfg, const option_spec *table, const char *what) {
    if (!cfg || !table) return AISLE_OK;
    for (size_t i = 0; i < cfg->n; i++) {
        const option_spec *own = option_find_in(table, cfg->entries[i].spec->name);
        if (!own || own == cfg->entries[i].spec) continue;
        config_entry e = cfg->entries[i];
        if (own->type == AISLE_OPTION_FLOAT && e.spec->type == AISLE_OPTION_INT) e.f = (double)e.i;
        int rc = check_entry(own, &e, what);
        if (rc) return rc;
    }
    return AISLE_OK;
}

int config_get_int(const aisle_config *cfg, option_tables tables, const char *key, int64_t *out) {
    const option_spec *s = NULL;
    if (!out) return core_error(AISLE_EINVAL, "aisle_config_get_int: out is NULL");
    int rc = find_spec(tables, key, &s);
    if (rc) return rc;
    if (s->type != AISLE_OPTION_INT && s->type != AISLE_OPTION_BOOL)
        return core_error(AISLE_EINVAL, "option '%s' is %s, not an integer", key, type_name(s->type));
    config_entry e;
    *out = entry_int(effective(cfg, s, key, &e), &e);
    return AISLE_OK;
}

int config_get_float(const aisle_config *cfg, option_tables tables, const char *key, double *out) {
    const option_spec *s = NULL;
    if (!out) return core_error(AISLE_EINVAL, "aisle_config_get_float: out is NULL");
    int rc = find_spec(tables, key, &s);
    if (rc) return rc;
    if (s->type == AISLE_OPTION_STRING)
        return core_error(AISLE_EINVAL, "option '%s' is text, not a number", key);
    config_entry e;
    *out = entry_float(effective(cfg, s, key, &e), &e);
    return AISLE_OK;
}

static int entry_text(const config_entry *e, core_buf *b) {
    switch (e->spec->type) {
    case AISLE_OPTION_INT: return buf_printf(b, "%lld", (long long)e->i);
    case AISLE_OPTION_BOOL: return buf_printf(b, "%s", e->i ? "true" : "false");
    case AISLE_OPTION_FLOAT: {
        /* the shortest of %.15g / %.17g that reads back exactly: 0.05, not
         * 0.050000000000000003 */
        char t[40];
        snprintf(t, sizeof t, "%.15g", e->f);
        if (strtod(t, NULL) != e->f) snprintf(t, sizeof t, "%.17g", e->f);
        return buf_printf(b, "%s", t);
    }
    default: {
        const char *s = e->s ? e->s : "";
        /* quote whenever the parser would split or unescape the value */
        bool plain = s[0] != '\0' && s[0] != '"';
        for (const char *p = s; plain && *p; p++) plain = !is_sep(*p) && *p != '"' && *p != '\\';
        if (plain) return buf_printf(b, "%s", s);
        int rc = buf_append(b, "\"", 1);
        for (const char *p = s; !rc && *p; p++) {
            if (*p == '"' || *p == '\\') rc = buf_append(b, "\\", 1);
            if (!rc) rc = buf_append(b, p, 1);
        }
        return rc ? rc : buf_append(b, "\"", 1);
    }
    }
}

int config_get_string(const aisle_config *cfg, option_tables tables, const char *key, char *buf, size_t len) {
    const option_spec *s = NULL;
    if (!buf) return core_error(AISLE_EINVAL, "aisle_config_get_string: buf is NULL");
    int rc = find_spec(tables, key, &s);
    if (rc) return rc;
    config_entry e;
    effective(cfg, s, key, &e);
    if (s->type == AISLE_OPTION_STRING) return core_copy_string(e.s ? e.s : "", buf, len, NULL);
    core_buf b;
    buf_init(&b);
    rc = entry_text(&e, &b);
    if (!rc) rc = buf_export(&b, buf, len, NULL);
    buf_free(&b);
    return rc;
}

int config_is_set(const aisle_config *cfg, option_tables tables, const char *key, int *out) {
    const option_spec *s = NULL;
    if (!out) return core_error(AISLE_EINVAL, "aisle_config_is_set: out is NULL");
    int rc = find_spec(tables, key, &s);
    if (rc) return rc;
    *out = config_lookup(cfg, key) != NULL;
    return AISLE_OK;
}

AISLE_API int aisle_config_to_string(const aisle_config *cfg, char *out, size_t len, size_t *needed) {
    if (!cfg) return core_error(AISLE_EINVAL, "aisle_config_to_string: cfg is NULL");
    core_buf b;
    buf_init(&b);
    int rc = AISLE_OK;
    for (size_t i = 0; i < cfg->n && !rc; i++) {
        if (i) rc = buf_append(&b, " ", 1);
        if (!rc) rc = buf_printf(&b, "%s=", cfg->entries[i].spec->name);
        if (!rc) rc = entry_text(&cfg->entries[i], &b);
    }
    if (!rc) rc = buf_export(&b, out, len, needed);
    buf_free(&b);
    return rc;
}

AISLE_API int aisle_config_set_progress(aisle_config *cfg, aisle_progress_fn fn, void *user) {
    if (!cfg) return core_error(AISLE_EINVAL, "aisle_config_set_progress: cfg is NULL");
    cfg->progress = fn;
    cfg->progress_user = fn ? user : NULL;
    return AISLE_OK;
}
