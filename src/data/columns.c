/* columns.c - which field of a data file holds which role (user, item,
 * value, ... or key, title, ...): the `columns` / `catalog_columns`
 * options, known header names, and header detection. */
#include "data.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int data_field_error(const data_reader *r, const data_field *f, const char *expected, const char *found) {
    return core_error(AISLE_EFORMAT, "%s:%zu:%zu: expected %s, found %s", r->name, f->line, f->col, expected, found);
}

static size_t role_index(const data_columns *c, const char *p, size_t len) {
    for (size_t i = 0; i < c->n_roles; i++)
        if (strlen(c->roles[i]) == len && strncasecmp(c->roles[i], p, len) == 0) return i;
    return SIZE_MAX;
}

int data_columns_parse(data_columns *c, const char *const *roles, size_t n_roles, const char *spec,
                       const char *option) {
    memset(c, 0, sizeof *c);
    c->roles = roles;
    c->n_roles = n_roles;
    for (size_t i = 0; i < DATA_MAX_ROLES; i++) c->field[i] = SIZE_MAX;
    const char *s = spec ? spec : "";
    size_t pair = 0;
    while (*s) {
        size_t len = strcspn(s, ",;");
        const char *eq = memchr(s, '=', len);
        pair++;
        if (len == 0) {
            s++;
            continue;
        }
        if (!eq || eq == s || eq + 1 == s + len)
            return core_error(AISLE_EINVAL, "option %s: pair %zu '%.*s': expected role=column", option, pair, (int)len,
                              s);
        size_t role = role_index(c, s, (size_t)(eq - s));
        if (role == SIZE_MAX) {
            char list[128] = "";
            for (size_t i = 0; i < n_roles; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", roles[i]);
            return core_error(AISLE_EINVAL, "option %s: unknown role '%.*s' (roles: %s)", option, (int)(eq - s), s,
                              list);
        }
        if (c->name[role] || c->field[role] != SIZE_MAX)
            return core_error(AISLE_EINVAL, "option %s: role '%s' given twice", option, roles[role]);
        const char *col = eq + 1;
        size_t clen = (size_t)(s + len - col);
        bool digits = true;
        for (size_t i = 0; i < clen; i++) digits &= col[i] >= '0' && col[i] <= '9';
        if (digits) {
            size_t pos = 0;
            for (size_t i = 0; i < clen && pos < 100000000; i++) pos = pos * 10 + (size_t)(col[i] - '0');
            if (pos == 0 || pos > 1000000)
                return core_error(AISLE_EINVAL, "option %s: column position %.*s for role '%s' must be in [1, 1000000]",
                                  option, (int)clen, col, roles[role]);
            c->field[role] = pos - 1;
        } else {
            c->name[role] = col;
            c->name_len[role] = clen;
            c->by_name = true;
        }
        c->any = true;
        s += len;
        if (*s) s++;
    }
    return AISLE_OK;
}

static bool field_is(const data_field *f, const char *name, size_t len) {
    /* header names compare case-insensitively, ignoring surrounding spaces */
    const char *p = f->p;
    size_t n = f->len;
    while (n && *p == ' ') p++, n--;
    while (n && p[n - 1] == ' ') n--;
    return n == len && strncasecmp(p, name, len) == 0;
}

static void header_list(const data_reader *r, char *out, size_t len) {
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->nf && o + 60 < len; i++) {
        if (i) o += (size_t)snprintf(out + o, len - o, ", ");
        data_quote(r->fields[i].p, r->fields[i].len, out + o, len - o);
        o += strlen(out + o);
    }
}

int data_columns_resolve(data_columns *c, const data_reader *r, const char *header_opt,
                         const char *const *const *aliases, size_t n_default, size_t numeric_role,
                         size_t time_role, const char *time_format, bool *is_header) {
    bool header;
    if (c->by_name) {
        if (strcmp(header_opt, "no") == 0)
            return core_error(AISLE_EINVAL, "%s: the columns option names columns, but option header=no", r->name);
        header = true;
        for (size_t role = 0; role < c->n_roles; role++) {
            if (!c->name[role]) continue;
            size_t k = 0;
            while (k < r->nf && !field_is(&r->fields[k], c->name[role], c->name_len[role])) k++;
            if (k == r->nf) {
                char exp[160], found[400];
                snprintf(exp, sizeof exp, "a column named '%.*s' in the header (role %s)", (int)c->name_len[role],
                         c->name[role], c->roles[role]);
                header_list(r, found, sizeof found);
                return data_field_error(r, &r->fields[0], exp, found);
            }
            c->field[role] = k;
        }
    } else if (c->any) {
        header = strcmp(header_opt, "yes") == 0;
    } else {
        bool found_all = false;
        if (strcmp(header_opt, "no") != 0 && aliases) {
            size_t f[DATA_MAX_ROLES];
            for (size_t role = 0; role < DATA_MAX_ROLES; role++) f[role] = SIZE_MAX;
            for (size_t role = 0; role < c->n_roles; role++) {
                for (size_t k = 0; k < r->nf && f[role] == SIZE_MAX && aliases[role]; k++)
                    for (const char *const *a = aliases[role]; *a; a++)
                        if (field_is(&r->fields[k], *a, strlen(*a))) {
                            f[role] = k;
                            break;
                        }
            }
            /* known names for the key roles (user and item, or key) identify a header */
            found_all = f[0] != SIZE_MAX && (c->n_roles < 2 || strcmp(c->roles[1], "item") != 0 || f[1] != SIZE_MAX);
            if (found_all) memcpy(c->field, f, c->n_roles * sizeof *f);
        }
        if (found_all) {
            header = true;
        } else {
            if (strcmp(header_opt, "yes") == 0) {
                char found[400];
                header_list(r, found, sizeof found);
                return data_field_error(r, &r->fields[0],
                                        "a header with known column names (or set the columns option)", found);
            }
            for (size_t role = 0; role < n_default && role < c->n_roles; role++)
                if (role < r->nf || role < 2) c->field[role] = role;
            header = false;
        }
    }
    if (!header && !c->by_name && strcmp(header_opt, "auto") == 0) {
        /* auto: a first row whose numeric or time field does not parse is a header */
        double v;
        int64_t t;
        if (numeric_role != SIZE_MAX && c->field[numeric_role] < r->nf) {
            const data_field *f = &r->fields[c->field[numeric_role]];
            if (f->len && data_parse_number(f->p, f->len, &v) != 0) header = true;
        }
        if (time_role != SIZE_MAX && c->field[time_role] < r->nf) {
            const data_field *f = &r->fields[c->field[time_role]];
            if (f->len && data_parse_time(f->p, f->len, time_format, &t) != 0) header = true;
        }
    }
    for (size_t role = 0; role < c->n_roles; role++) {
        if (header && c->field[role] < r->nf) {
            const data_field *f = &r->fields[c->field[role]];
            data_quote(f->p, f->len, c->label[role], sizeof c->label[role]);
        } else {
            snprintf(c->label[role], sizeof c->label[role], "'%s'", c->roles[role]);
        }
    }
    *is_header = header;
    return AISLE_OK;
}
