/*
 * cli.h - the `aisle` command-line tool.  It uses only the public header,
 * proving the API is enough.  Each subcommand is one function in a file of
 * its own, listed in main.c's command table.
 */
#ifndef AISLE_CLI_H
#define AISLE_CLI_H

#include "aisle.h"

/* Exit codes. */
enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2 };

typedef struct cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* full help text: options with their defaults */
    int (*run)(int argc, char **argv);
} cli_command;

/* Prints "aisle: error: ..." to stderr and returns `code`. */
int cli_error(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Reports a failed library call: "aisle: error: <what>: <last error>". */
int cli_fail(int rc, const char *what);

#endif
