/*
 * io.h - internal interface of the model container (docs/FORMAT.md):
 * a header, then sections of typed, zlib-compressed, CRC-checked payloads.
 *
 * Writers build each section's payload in a core_buf with the io_put_*
 * helpers and hand it to io_writer_add_section.  Readers get a bounds-
 * checked cursor over a section's verified, decompressed payload; every
 * io_get_* fails with AISLE_EFORMAT (message naming the section) instead of
 * reading past the end, and never allocates more than the bytes present
 * can justify.
 */
#ifndef AISLE_IO_H
#define AISLE_IO_H

#include "core/core.h"

/* Options of saving and loading (options.c). */
extern const option_spec io_options[];

/* Section types 1..255 are the generic sections every model has (written
 * by src/models/model_file.c); model kinds use 256 and up for their own.
 * The container only numbers and names them. */
enum {
    IO_SECTION_META = 1,      /* kind name, writer version, options used, metrics */
    IO_SECTION_USERS = 2,     /* user key dictionary */
    IO_SECTION_ITEMS = 3,     /* item key dictionary */
    IO_SECTION_HISTORY = 4,   /* training interactions by user (CSR) */
    IO_SECTION_POPULARITY = 5,/* per-item popularity (fallback, novelty) */
    /* Optional copies of 2..4 laid out to be served in place from a mapped
     * file (save option store_mappable; src/models/model_map.c) */
    IO_SECTION_USERS_TABLE = 6,    /* user keys, offsets and hash table */
    IO_SECTION_ITEMS_TABLE = 7,    /* item keys, offsets and hash table */
    IO_SECTION_HISTORY_ARRAYS = 8, /* the history's CSR arrays, 64-byte aligned */
    IO_SECTION_KIND = 256     /* first type free for model kinds */
};
/* Padding sections: optional, zero bytes, types IO_SECTION_PAD + n. */
#define IO_SECTION_PAD 0xFFFF0000u

/* Section flags. */
enum {
    IO_FLAG_REQUIRED = 1u << 0,  /* a reader that does not know the type must refuse the file */
    IO_FLAG_COMPRESSED = 1u << 1 /* payload stored zlib-compressed (set by the writer) */
};

/* Tensor encodings (option `quantize` at save time). */
enum { IO_QUANT_NONE = 0, IO_QUANT_FP16 = 1, IO_QUANT_INT8 = 2 };

typedef struct io_writer io_writer;
typedef struct io_reader io_reader;

/* ---- payload building ---- */
int io_put_u8(core_buf *b, uint8_t v);
int io_put_u32(core_buf *b, uint32_t v);
int io_put_u64(core_buf *b, uint64_t v);
int io_put_i64(core_buf *b, int64_t v);
int io_put_f32(core_buf *b, float v);
int io_put_f64(core_buf *b, double v);
int io_put_bytes(core_buf *b, const void *data, size_t len);
/* u32 length then the bytes (no NUL). */
int io_put_str(core_buf *b, const char *s);
/* A float32 rows x cols row-major tensor in the given encoding
 * (IO_QUANT_*; int8 uses one scale per row). */
int io_put_tensor(core_buf *b, const float *data, uint64_t rows, uint64_t cols, int quant);
/* Arrays of fixed-width integers: u64 count then the values. */
int io_put_u32_array(core_buf *b, const uint32_t *v, uint64_t n);
int io_put_u64_array(core_buf *b, const uint64_t *v, uint64_t n);
int io_put_f32_array(core_buf *b, const float *v, uint64_t n);

/* ---- writing a file ---- */
/* The writer's tensor encoding chosen by the save options (quantize). */
int io_writer_quant(const io_writer *w);
/* Save option store_int8: whether factor kinds add their int8 item copy. */
bool io_writer_store_int8(const io_writer *w);
/* Save option store_mappable: whether the generic sections are also
 * written in the layout a mapped open serves in place (sections 6..8). */
bool io_writer_store_mappable(const io_writer *w);
/* The writer's zlib level (option compression; 0: sections stored raw). */
int io_writer_level(const io_writer *w);
/* Adds a section; the payload is copied (and compressed per the save
 * options).  flags: IO_FLAG_REQUIRED or 0. */
int io_writer_add_section(io_writer *w, uint32_t type, uint32_t flags, const core_buf *payload);
/* The same for a section a reader may serve in place from a mapped file:
 * when it is stored raw, the writer puts zero padding before it (in an
 * optional section of a type from IO_SECTION_PAD, which every reader
 * skips) so that payload byte data_off starts IO_ALIGN-aligned in the file
 * (docs/FORMAT.md, format 1.1). */
int io_writer_add_section_aligned(io_writer *w, uint32_t type, uint32_t flags, const core_buf *payload,
                                  size_t data_off);

/* ---- reading a file ---- */
typedef struct io_cursor {
    const uint8_t *p;
    size_t len, pos;
    char section[32]; /* for messages: "section 258 (als factors)" */
} io_cursor;

/* Cursor over a section's verified payload; AISLE_EFORMAT if absent. */
int io_reader_section(io_reader *r, uint32_t type, io_cursor *out);
/* 1 if the file has a section of this type, else 0. */
int io_reader_has_section(const io_reader *r, uint32_t type);
/* The uncompressed length a section declares (0 if absent), known before
 * it is inflated: a loader compares it with the sizes a header asks for
 * before allocating them. */
uint64_t io_reader_section_bytes(const io_reader *r, uint32_t type);

int io_get_u8(io_cursor *c, uint8_t *v);
int io_get_u32(io_cursor *c, uint32_t *v);
int io_get_u64(io_cursor *c, uint64_t *v);
int io_get_i64(io_cursor *c, int64_t *v);
int io_get_f32(io_cursor *c, float *v);
int io_get_f64(io_cursor *c, double *v);
int io_get_bytes(io_cursor *c, void *out, size_t len);
/* Allocated, NUL-terminated copy (free with core_free). */
int io_get_str(io_cursor *c, char **out);
/* Allocates and decodes a tensor (any stored encoding -> float32).
 * expect_rows/expect_cols: if non-zero, the stored shape must match. */
int io_get_tensor(io_cursor *c, float **out, uint64_t *rows, uint64_t *cols, uint64_t expect_rows,
                  uint64_t expect_cols);
/* Views for mapped files: a pointer into the payload instead of a copy.
 * The tensor must be fp32 or fp16 (served as stored: *enc is
 * IO_QUANT_NONE, *out floats, or IO_QUANT_FP16, *out binary16 values) and
 * start IO_ALIGN-aligned, an f32 array 4-byte aligned, io_get_view's len
 * bytes `align`-aligned; otherwise (an int8 tensor too)
 * AISLE_EUNSUPPORTED (the message says how to save a mappable file). */
int io_get_tensor_view_enc(io_cursor *c, const void **out, uint8_t *enc, uint64_t *rows, uint64_t *cols,
                           uint64_t expect_rows, uint64_t expect_cols);
int io_get_f32_array_view(io_cursor *c, const float **out, uint64_t *n, uint64_t max_n);
int io_get_view(io_cursor *c, const void **out, size_t len, size_t align);
/* Allocated arrays; max_n bounds the count (besides the bytes present). */
int io_get_u32_array(io_cursor *c, uint32_t **out, uint64_t *n, uint64_t max_n);
int io_get_u64_array(io_cursor *c, uint64_t **out, uint64_t *n, uint64_t max_n);
int io_get_f32_array(io_cursor *c, float **out, uint64_t *n, uint64_t max_n);
/* AISLE_EFORMAT unless the cursor consumed its whole section. */
int io_cursor_done(const io_cursor *c);

/* ---- container lifecycle (src/io/container.c; docs/FORMAT.md) ---- */
#define IO_FORMAT_MAJOR 1
#define IO_FORMAT_MINOR 1 /* 1.1: raw tensor sections padded to IO_ALIGN (readable by 1.0 readers) */
enum {
    IO_ALIGN = 64,          /* alignment of mappable payload bytes in the file (a cache line) */
    IO_HEADER_FIXED = 88,   /* bytes before the section table in format 1.0 */
    IO_ENTRY_SIZE = 32,     /* bytes per section table entry in format 1.0 */
    IO_MAX_SECTIONS = 4096  /* sanity limit on the section count */
};

/* A writer for a model of kind `kind`; cfg gives the save options
 * (compression, quantize; NULL = defaults). */
int io_writer_new(io_writer **out, const char *kind, const aisle_config *cfg);
void io_writer_free(io_writer *w);
/* The whole file in one allocation (free with core_free). */
int io_writer_to_buffer(const io_writer *w, void **out, size_t *len);
/* Atomic save: temporary file in path's directory, fsync, rename, fsync of
 * the directory.  fail_after simulates a write error once that many bytes
 * were written (tests only); UINT64_MAX never fails. */
int io_writer_to_file(const io_writer *w, const char *path, uint64_t fail_after);

/* Parses and verifies header, section table and every section's stored
 * bytes (CRC) of a file image.  data must outlive the reader.  max_bytes
 * bounds the sum of the sections' uncompressed lengths (AISLE_ERANGE). */
int io_reader_open(io_reader **out, const void *data, size_t len, uint64_t max_bytes);
/* The same with flags: IO_OPEN_MAPPED says data is a file mapping that
 * outlives the model (loaders may keep views into it, io_reader_mapped);
 * IO_OPEN_LAZY_CRC defers each section's CRC to the moment it is read;
 * IO_OPEN_NO_VIEW_CRC skips the CRC of sections read with
 * io_reader_section_view (option mmap_verify=none). */
enum { IO_OPEN_MAPPED = 1, IO_OPEN_LAZY_CRC = 2, IO_OPEN_NO_VIEW_CRC = 4 };
int io_reader_open_flags(io_reader **out, const void *data, size_t len, uint64_t max_bytes, unsigned flags);
bool io_reader_mapped(const io_reader *r);
/* Cursor over a raw (uncompressed) section read in place from a mapping;
 * AISLE_EUNSUPPORTED for a compressed one (the message names it). */
int io_reader_section_view(io_reader *r, uint32_t type, io_cursor *out);
void io_reader_free(io_reader *r);
/* false when the file was opened with IO_OPEN_NO_VIEW_CRC (mmap_verify=
 * none): views are bounds-checked, their bytes trusted. */
bool io_reader_verifies_views(const io_reader *r);
/* Marks a section as read without reading it (a mapped open that serves
 * an equivalent section instead), for io_reader_check_required. */
void io_reader_skip(io_reader *r, uint32_t type);
const char *io_reader_kind(const io_reader *r);
const char *io_reader_writer_version(const io_reader *r);
/* After a model was read: AISLE_EVERSION if a REQUIRED section was never
 * asked for (a section type this library does not know). */
int io_reader_check_required(const io_reader *r);
/* Reads a whole file into a new buffer (free with core_free); files larger
 * than max_bytes fail with AISLE_ERANGE before anything is allocated. */
int io_read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *len);

/* A regular file mapped read-only and private (src/io/map.c): N processes
 * mapping one file share its page-cache pages.  Files larger than
 * max_bytes (plus the largest header) fail with AISLE_ERANGE. */
typedef struct io_map io_map;
int io_map_file(const char *path, uint64_t max_bytes, io_map **out);
const uint8_t *io_map_data(const io_map *m);
size_t io_map_len(const io_map *m);
/* Lets the process write [p, p + len) of the mapping: the kernel copies
 * each touched page privately (copy-on-write), the file never changes. */
int io_map_make_writable(io_map *m, const void *p, size_t len);
void io_map_free(io_map *m);

/* ---- CRC / fp16 helpers shared with other modules ---- */
uint32_t io_crc32(const void *data, size_t len);
uint16_t io_f32_to_f16(float f);
float io_f16_to_f32(uint16_t h);

#endif /* AISLE_IO_H */
