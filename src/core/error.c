/* error.c - status codes and the thread-local last-error message. */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Thread-local so that one thread's failure never overwrites another's. */
static _Thread_local char last_error[1024];

AISLE_API const char *aisle_strerror(int code) {
    switch (code) {
    case AISLE_OK: return "success";
    case AISLE_EINVAL: return "invalid argument";
    case AISLE_ENOMEM: return "out of memory";
    case AISLE_EIO: return "input/output error";
    case AISLE_EFORMAT: return "bad format";
    case AISLE_ENOTFOUND: return "not found";
    case AISLE_ERANGE: return "out of range";
    case AISLE_EUNSUPPORTED: return "operation not supported";
    case AISLE_ECANCELLED: return "cancelled";
    case AISLE_ESTATE: return "wrong state for this call";
    case AISLE_EVERSION: return "incompatible version";
    case AISLE_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

AISLE_API const char *aisle_last_error(void) { return last_error; }

AISLE_API void aisle_clear_error(void) { last_error[0] = '\0'; }

int core_verror(int code, const char *fmt, va_list ap) {
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    return code;
}

int core_error(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    core_verror(code, fmt, ap);
    va_end(ap);
    return code;
}

int core_oom(const char *what) {
    return core_error(AISLE_ENOMEM, "out of memory (%s)", what);
}

int core_io_error(const char *path, const char *action) {
    int e = errno;
    return core_error(AISLE_EIO, "%s: %s: %s", path, action, strerror(e));
}

int core_error_prefix(int code, const char *fmt, ...) {
    char old[sizeof last_error];
    char prefix[256];
    memcpy(old, last_error, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* prefix + ": " + old message, truncated to the slot */
    size_t pl = strlen(prefix), ol = strlen(old), cap = sizeof last_error - 1;
    if (pl > cap) pl = cap;
    memcpy(last_error, prefix, pl);
    size_t at = pl;
    for (const char *sep = ": "; *sep && at < cap; sep++) last_error[at++] = *sep;
    if (ol > cap - at) ol = cap - at;
    memcpy(last_error + at, old, ol);
    last_error[at + ol] = '\0';
    return code;
}
