/* map.c - a model file mapped into memory (option mmap; docs/FORMAT.md).
 *
 * The mapping is MAP_PRIVATE and read-only: processes mapping one file
 * share its page-cache pages, and nothing this process does can change
 * the file.  Where a model must write (a user row re-fitted by
 * aisle_update_user), io_map_make_writable turns the pages of that range
 * writable; the kernel then copies each page on its first write, so a
 * process pays memory only for the pages it changed.  A file truncated by
 * someone else while mapped makes reads of the lost pages fault (SIGBUS):
 * model files are replaced by rename (atomic save), never rewritten in
 * place, so a mapped file keeps its pages until it is unmapped. */
#include "io.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct io_map {
    uint8_t *data;
    size_t len;
};

int io_map_file(const char *path, uint64_t max_bytes, io_map **out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return core_io_error(path, "open");
    struct stat st;
    int rc = AISLE_OK;
    if (fstat(fd, &st) != 0) rc = core_io_error(path, "stat");
    else if (!S_ISREG(st.st_mode)) rc = core_error(AISLE_EIO, "%s: not a regular file", path);
    uint64_t limit = max_bytes + IO_HEADER_FIXED + (uint64_t)IO_MAX_SECTIONS * 256 + 4;
    if (!rc && ((uint64_t)st.st_size > limit || (uint64_t)st.st_size > SIZE_MAX / 2))
        rc = core_error(AISLE_ERANGE, "%s: file of %lld bytes is larger than max_model_bytes=%llu", path,
                        (long long)st.st_size, (unsigned long long)max_bytes);
    if (!rc && st.st_size == 0) rc = core_error(AISLE_EFORMAT, "%s: header: truncated: the file is empty", path);
    io_map *m = rc ? NULL : core_calloc(1, sizeof *m);
    if (!rc && !m) rc = core_oom("model file mapping");
    if (!rc) {
        m->len = (size_t)st.st_size;
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) rc = errno == ENOMEM ? core_oom("model file mapping") : core_io_error(path, "mmap");
        else m->data = p;
    }
    close(fd); /* the mapping keeps the file */
    if (rc) {
        core_free(m);
        return rc;
    }
    *out = m;
    return AISLE_OK;
}

const uint8_t *io_map_data(const io_map *m) { return m->data; }
size_t io_map_len(const io_map *m) { return m->len; }

int io_map_make_writable(io_map *m, const void *p, size_t len) {
    const uint8_t *b = p;
    if (len == 0) return AISLE_OK;
    if (b < m->data || len > m->len || (size_t)(b - m->data) > m->len - len)
        return core_error(AISLE_EINTERNAL, "io_map_make_writable: range outside the mapping");
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;
    size_t lo = (size_t)(b - m->data) / pg * pg, hi = (size_t)(b - m->data) + len;
    if (mprotect(m->data + lo, hi - lo, PROT_READ | PROT_WRITE) != 0)
        return errno == ENOMEM ? core_oom("copy-on-write of mapped factors")
                               : core_error(AISLE_EIO, "mprotect of the mapped model failed: %s", strerror(errno));
    return AISLE_OK;
}

void io_map_free(io_map *m) {
    if (!m) return;
    munmap(m->data, m->len);
    core_free(m);
}
