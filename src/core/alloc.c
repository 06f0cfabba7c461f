/* alloc.c - the one allocator every aisle allocation goes through. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

static void *default_malloc(void *ctx, size_t size) { (void)ctx; return malloc(size); }
static void *default_realloc(void *ctx, void *p, size_t size) { (void)ctx; return realloc(p, size); }
static void default_free(void *ctx, void *p) { (void)ctx; free(p); }

/* The only process-wide mutable state of the library (see aisle.h). */
static struct {
    aisle_malloc_fn malloc_fn;
    aisle_realloc_fn realloc_fn;
    aisle_free_fn free_fn;
    void *ctx;
} allocator = {default_malloc, default_realloc, default_free, NULL};

AISLE_API int aisle_set_allocator(aisle_malloc_fn malloc_fn, aisle_realloc_fn realloc_fn,
                                  aisle_free_fn free_fn, void *ctx) {
    if (!malloc_fn && !realloc_fn && !free_fn) {
        allocator.malloc_fn = default_malloc;
        allocator.realloc_fn = default_realloc;
        allocator.free_fn = default_free;
        allocator.ctx = NULL;
        return AISLE_OK;
    }
    if (!malloc_fn || !realloc_fn || !free_fn)
        return core_error(AISLE_EINVAL, "aisle_set_allocator: give all three functions, or none");
    allocator.malloc_fn = malloc_fn;
    allocator.realloc_fn = realloc_fn;
    allocator.free_fn = free_fn;
    allocator.ctx = ctx;
    return AISLE_OK;
}

AISLE_API void aisle_free(void *ptr) { core_free(ptr); }

void *core_malloc(size_t size) {
    /* malloc(0) may legally return NULL; ask for one byte so NULL always
     * means failure. */
    return allocator.malloc_fn(allocator.ctx, size ? size : 1);
}

void *core_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = core_malloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void *core_realloc(void *ptr, size_t size) {
    if (!ptr) return core_malloc(size);
    return allocator.realloc_fn(allocator.ctx, ptr, size ? size : 1);
}

void *core_reallocarray(void *ptr, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    return core_realloc(ptr, n * size);
}

void core_free(void *ptr) {
    if (ptr) allocator.free_fn(allocator.ctx, ptr);
}

char *core_strndup(const char *s, size_t n) {
    char *d = core_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *core_strdup(const char *s) { return core_strndup(s, strlen(s)); }

int core_grow(void **ptr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return AISLE_OK;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) { ncap = need; break; }
        ncap *= 2;
    }
    void *p = core_reallocarray(*ptr, ncap, elem);
    if (!p) return core_oom("growing an array");
    *ptr = p;
    *cap = ncap;
    return AISLE_OK;
}
