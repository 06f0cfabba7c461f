/* cli_util.c - running the `aisle` program from the CLI suites and checking
 * its JSON output (declarations in cli_util.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util/cli_util.h"

char tu_cli_dir[4096];
char tu_cli_out[1 << 20], tu_cli_err[1 << 16];

/* ---- a strict JSON checker (RFC 8259 grammar; UTF-8 not re-validated) ---- */

typedef struct jp {
    const char *p;
    int depth;
} jp;

static void ws(jp *j) {
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r') j->p++;
}

static int value(jp *j);

static int string(jp *j) {
    if (*j->p != '"') return 0;
    j->p++;
    while (*j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c == '\0' || c < 0x20) return 0;
        if (c == '\\') {
            j->p++;
            if (*j->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)j->p[i])) return 0;
                j->p += 4;
            } else if (!strchr("\"\\/bfnrt", *j->p) || !*j->p) {
                return 0;
            }
        }
        j->p++;
    }
    j->p++;
    return 1;
}

static int number(jp *j) {
    const char *s = j->p;
    if (*j->p == '-') j->p++;
    if (*j->p == '0') {
        j->p++;
    } else if (isdigit((unsigned char)*j->p)) {
        while (isdigit((unsigned char)*j->p)) j->p++;
    } else {
        return 0;
    }
    if (*j->p == '.') {
        j->p++;
        if (!isdigit((unsigned char)*j->p)) return 0;
        while (isdigit((unsigned char)*j->p)) j->p++;
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-') j->p++;
        if (!isdigit((unsigned char)*j->p)) return 0;
        while (isdigit((unsigned char)*j->p)) j->p++;
    }
    return j->p > s;
}

static int composite(jp *j, char open, char close, int object) {
    if (*j->p != open || ++j->depth > 64) return 0;
    j->p++;
    ws(j);
    if (*j->p == close) {
        j->p++;
        j->depth--;
        return 1;
    }
    for (;;) {
        ws(j);
        if (object) {
            if (!string(j)) return 0;
            ws(j);
            if (*j->p++ != ':') return 0;
        }
        if (!value(j)) return 0;
        ws(j);
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p++ != close) return 0;
        j->depth--;
        return 1;
    }
}

static int value(jp *j) {
    ws(j);
    switch (*j->p) {
    case '{': return composite(j, '{', '}', 1);
    case '[': return composite(j, '[', ']', 0);
    case '"': return string(j);
    case 't': return strncmp(j->p, "true", 4) == 0 ? (j->p += 4, 1) : 0;
    case 'f': return strncmp(j->p, "false", 5) == 0 ? (j->p += 5, 1) : 0;
    case 'n': return strncmp(j->p, "null", 4) == 0 ? (j->p += 4, 1) : 0;
    default: return number(j);
    }
}

/* 1 if text is exactly one JSON document (surrounding whitespace allowed). */
int tu_json_valid(const char *text) {
    jp j = {text, 0};
    if (!value(&j)) return 0;
    ws(&j);
    return *j.p == '\0';
}

/* ---- running the tool ---- */

void tu_slurp(const char *path, char *buf, size_t len) {
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs `aisle ARGS` (args are a shell fragment) and returns its exit
 * status; stdout and stderr land in tu_cli_out and tu_cli_err. */
int tu_cli_run(const char *fmt, ...) {
    const char *cli = getenv("AISLE_CLI");
    if (!cli || !*cli) fail_msg("AISLE_CLI is not set (run through `make test`)");
    char args[4096], cmd[20000], o[4200], e[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/stdout", tu_cli_dir);
    snprintf(e, sizeof e, "%s/stderr", tu_cli_dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >'%s' 2>'%s' </dev/null", tu_cli_dir, cli, args, o, e);
    int st = system(cmd);
    tu_slurp(o, tu_cli_out, sizeof tu_cli_out);
    tu_slurp(e, tu_cli_err, sizeof tu_cli_err);
    if (!WIFEXITED(st)) fail_msg("aisle %s: did not exit normally", args);
    return WEXITSTATUS(st);
}

