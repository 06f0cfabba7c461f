/* cli_util.h - the harness of the CLI suites (tests/test_cli*.c): run the
 * `aisle` program (path in AISLE_CLI, set by `make test`) in a scratch
 * directory, capture its output, check JSON strictly. */
#ifndef AISLE_TEST_CLI_UTIL_H
#define AISLE_TEST_CLI_UTIL_H

#include <string.h>

#include "util/test_util.h"

/* Working directory of the commands (absolute; the suite's setup fills
 * it), and the last command's stdout and stderr. */
extern char tu_cli_dir[4096];
extern char tu_cli_out[1 << 20], tu_cli_err[1 << 16];

/* Runs `aisle ARGS` (args are a printf-formatted shell fragment) in
 * tu_cli_dir with stdin from /dev/null and returns its exit status; fails
 * the test when AISLE_CLI is unset or the program did not exit normally. */
int tu_cli_run(const char *fmt, ...);

/* Reads the file at path into buf (at most len - 1 bytes, NUL-terminated;
 * empty when the file cannot be opened). */
void tu_slurp(const char *path, char *buf, size_t len);

/* 1 if text is exactly one JSON document (RFC 8259 grammar, surrounding
 * whitespace allowed; UTF-8 not re-validated), else 0. */
int tu_json_valid(const char *text);

/* The short names the CLI suites use. */
#define dir tu_cli_dir
#define out_text tu_cli_out
#define err_text tu_cli_err
#define run(...) tu_cli_run(__VA_ARGS__)
#define json_valid(text) tu_json_valid(text)
#define slurp(path, buf, len) tu_slurp(path, buf, len)

#define assert_run(code, ...)                                                                      \
    do {                                                                                           \
        int st_ = tu_cli_run(__VA_ARGS__);                                                         \
        if (st_ != (code))                                                                         \
            fail_msg("exit %d, expected %d\nstdout: %.2000s\nstderr: %.2000s", st_, (code), tu_cli_out, \
                     tu_cli_err);                                                                  \
    } while (0)

#define assert_contains(text, needle)                                                              \
    do {                                                                                           \
        if (!strstr((text), (needle))) fail_msg("'%s' not in output:\n%.3000s", (needle), (text)); \
    } while (0)

#endif
