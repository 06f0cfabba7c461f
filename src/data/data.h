/*
 * data.h - internal interface of the data module: behaviour datasets (key
 * dictionaries, the event log, aggregated sparse views, per-user
 * sequences), catalogs, loaders and splits.
 *
 * Models read datasets only through the functions below; the struct layout
 * is private to src/data.
 */
#ifndef AISLE_DATA_H
#define AISLE_DATA_H

#include "core/core.h"

#include <pthread.h>
#include <stdio.h>

/* The module's option tables: loaders and splits (options.c), the demo
 * store (generate.c). */
extern const option_spec data_options[];
extern const option_spec demo_options[];

/* Built-in event types; custom event names get ids from DATA_EVENT_CUSTOM
 * on.  A dataset keeps one weight per event type. */
enum {
    DATA_EVENT_VIEW = 0,
    DATA_EVENT_CART = 1,
    DATA_EVENT_PURCHASE = 2,
    DATA_EVENT_RATING = 3,
    DATA_EVENT_CUSTOM = 4
};

/* One raw event as added (indices into the dataset's dictionaries). */
typedef struct data_event {
    uint32_t user, item;
    uint32_t type;   /* DATA_EVENT_* or custom id */
    float value;     /* the value given (quantity, rating, ...) */
    int64_t time;    /* seconds since the epoch; 0 when unknown */
} data_event;

/* Compressed sparse rows of the aggregated (user, item) interactions.  In
 * the by-user view rows are users and indices are items; in the by-item
 * view the reverse.  Indices within a row are sorted ascending. */
typedef struct data_csr {
    uint32_t rows, cols;
    size_t nnz;
    size_t *indptr;      /* rows + 1 */
    uint32_t *indices;   /* nnz */
    float *values;       /* nnz: aggregated weight (or the rating for rating data) */
    int64_t *last_time;  /* nnz: latest timestamp of the pair */
    uint32_t *count;     /* nnz: number of events aggregated into the pair */
} data_csr;

/* Each user's events in time order (ties keep insertion order): items and
 * times of user u are at [indptr[u], indptr[u+1]). */
typedef struct data_seq {
    uint32_t users;
    size_t n;
    size_t *indptr;   /* users + 1 */
    uint32_t *items;  /* n */
    int64_t *times;   /* n */
    uint32_t *types;  /* n: event type of each step */
} data_seq;

/* Outcome of the last successful load into a dataset or catalog
 * (report.c, read by aisle_dataset_load_report and
 * aisle_catalog_load_report): counts and the first messages about skipped
 * rows (lenient mode). */
enum { DATA_REPORT_MESSAGES = 10 };
typedef struct data_report {
    size_t read, loaded, skipped, filtered;
    char *messages[DATA_REPORT_MESSAGES]; /* owned; n_messages used */
    size_t n_messages;
} data_report;
void data_report_clear(data_report *r);
/* Keeps a copy of the thread's last error message while fewer than
 * DATA_REPORT_MESSAGES are kept; AISLE_ENOMEM if the copy fails. */
int data_report_keep_message(data_report *r);

struct aisle_dataset {
    core_keys users, items, event_names; /* event_names: id -> name */
    float *event_weights;                /* per event type id */
    size_t event_weights_cap;
    data_event *events;
    size_t n_events, events_cap;
    bool has_explicit;                   /* any rating events */

    /* Derived views, built once on demand and reused until the next change.
     * The lock makes lazy building safe when a finished dataset is shared
     * by threads (e.g. parallel training). */
    pthread_mutex_t lock;
    bool views_valid;
    data_csr by_user, by_item;
    data_seq seq;

    data_report report;                  /* of the last successful load */
};

/* Accessors for models and eval (all thread-safe on a dataset that is not
 * being changed). */
static inline uint32_t data_n_users(const aisle_dataset *ds) { return (uint32_t)ds->users.n; }
static inline uint32_t data_n_items(const aisle_dataset *ds) { return (uint32_t)ds->items.n; }
int data_by_user(const aisle_dataset *ds, const data_csr **out);
int data_by_item(const aisle_dataset *ds, const data_csr **out);
int data_sequences(const aisle_dataset *ds, const data_seq **out);
/* Whether the data carries explicit ratings (any 'rating' event). */
static inline bool data_is_explicit(const aisle_dataset *ds) { return ds->has_explicit; }

/* Event type id for a name (interning custom names).  */
int data_event_type(aisle_dataset *ds, const char *name, uint32_t *type);
/* Appends one event by indices (keys already interned); used by loaders
 * and splits. */
int data_append_event(aisle_dataset *ds, const data_event *ev);
/* Drops views after a change. */
void data_invalidate(aisle_dataset *ds);
/* Creates an empty dataset sharing the key dictionaries, event names and
 * weights of src (copies), so indices mean the same in both: used by splits
 * to produce train/test parts. */
int data_new_like(const aisle_dataset *src, aisle_dataset **out);

/* ---- catalog access for models and the CLI (implemented in catalog.c) ---- */
enum { DATA_FIELD_TITLE = 0, DATA_FIELD_DESCRIPTION = 1, DATA_FIELD_CATEGORY = 2, DATA_FIELD_BRAND = 3 };
enum { DATA_N_FIELDS = 4 };

/* A product's attribute: entries chain per product in insertion order. */
typedef struct data_attr {
    uint32_t name;      /* index in attr_names */
    uint32_t next;      /* next entry of the same product, +1; 0 ends */
    uint64_t value;     /* offset in text */
} data_attr;

/* Index of attribute entries by (product, name): open addressing, so
 * setting or reading one of a product's thousands of attributes does not
 * walk its chain. */
typedef struct data_attr_slot {
    uint32_t item, name;
    uint32_t entry1;    /* entry index + 1; 0 = empty slot */
} data_attr_slot;

struct aisle_catalog {
    core_keys keys;                 /* product keys -> dense index */
    core_buf text;                  /* NUL-terminated strings; offset 0 is "" */
    uint64_t *fields;               /* n x DATA_N_FIELDS offsets into text */
    double *price;                  /* n; NaN = unknown */
    uint32_t *attr_head, *attr_tail;/* n; entry index + 1, 0 = none */
    size_t cap;                     /* capacity of the per-product arrays */
    core_keys attr_names;
    data_attr *attrs;
    size_t n_attrs, attrs_cap;
    data_attr_slot *attr_slots;     /* power-of-two table, at most 3/4 full */
    size_t attr_nslots;
    data_report report;             /* of the last successful load */
};

/* Adds or updates a product from (ptr, len) texts (NULL ptr = leave an
 * existing field as is / "" for a new product); texts are valid UTF-8. */
int data_catalog_upsert(aisle_catalog *c, const char *key, size_t key_len, const char *const *text,
                        const size_t *text_len, double price, bool set_price, uint32_t *index);
int data_catalog_set_attr(aisle_catalog *c, uint32_t index, const char *name, size_t name_len, const char *value,
                          size_t value_len);
/* Deep copy (for all-or-nothing loads) and release of contents. */
int data_catalog_copy(aisle_catalog *dst, const aisle_catalog *src);
void data_catalog_release(aisle_catalog *c);
/* Number of products in the catalog. */
size_t data_catalog_size(const aisle_catalog *c);
/* Index of the product with this key, or -1. */
int64_t data_catalog_find(const aisle_catalog *c, const char *key, size_t len);
/* Key and text fields of product idx ("" when absent; never NULL). */
const char *data_catalog_key(const aisle_catalog *c, size_t idx);
const char *data_catalog_field(const aisle_catalog *c, size_t idx, int field);
/* Price of product idx, NaN when unknown. */
double data_catalog_price(const aisle_catalog *c, size_t idx);

/* ---- delimited text reading (csv.c), shared by the loaders ----
 *
 * A reader scans records of a CSV/TSV-like text: one- or two-byte
 * delimiter ("::"), RFC 4180 quoting, CRLF or LF line ends, UTF-8 BOM,
 * blank lines skipped.  Input is a file (plain or gzip, detected by magic
 * bytes) read in large blocks, or a caller buffer (used in place unless
 * gzip-compressed).  Fields point into the reader's memory and stay valid
 * until the next data_reader_next call. */
typedef struct data_field {
    const char *p;
    size_t len;
    size_t line, col; /* 1-based position of the field's first byte */
    size_t soff;      /* offset in scratch when the field was unescaped (p NULL until resolved) */
} data_field;

typedef struct data_reader {
    const char *name;          /* file name for messages */
    int fd;                    /* file source (plain or gzip), -1 when none */
    void *zs;                  /* z_stream of gzip input (from fd or mem) */
    unsigned char *zin;        /* gzip input read from fd */
    size_t zin_cap;
    const unsigned char *mem;  /* gzip buffer input */
    size_t mem_len;
    bool src_eof;              /* the compressed source is exhausted */
    bool gz_member_end;        /* a gzip member ended: another may follow */
    char *buf;                 /* owned block buffer (NULL when reading a plain buffer in place) */
    const char *data;          /* buf or the caller's buffer */
    size_t cap, len, pos;
    bool eof;
    size_t line, line_start;   /* line number at data[pos]; offset of that line's start */
    char d0, d1;               /* delimiter bytes; d1 != 0 for two-byte delimiters */
    bool quoting;
    size_t max_field, max_fields, max_record;
    bool skip_line;            /* after a bad record: drop the rest of its line */
    data_field *fields;
    size_t nf, fcap;
    core_buf scratch;          /* fields with doubled quotes, unescaped */
    size_t rec_line, rec_end_col; /* first line of the current record; column after its last field */
    int fatal;                 /* a stream error (I/O, corrupt gzip): not a bad row; ends even a lenient load */
} data_reader;

/* What a reader is opened with (options delimiter, quoting, max_field,
 * max_fields, max_record, fifo_timeout; data_reader_options fills it from
 * a config). */
typedef struct data_reader_opts {
    const char *delimiter;
    bool quoting;
    size_t max_field, max_fields, max_record;
    double fifo_timeout;       /* seconds to wait for a FIFO's writer */
} data_reader_opts;
void data_reader_options(const aisle_config *cfg, data_reader_opts *o);

/* Opens a reader; delimiter is the option text ("" = by extension of name
 * (.tsv/.data/.txt tab, .csv comma; .gz stripped), else sniffed from the
 * first line: "::", tab, ',', '|', ';').  Files are read sequentially
 * (pipes, FIFOs and /dev/stdin work; gzip is recognised by its magic bytes
 * without seeking back). */
int data_reader_open_file(data_reader *r, const char *path, const data_reader_opts *o);
int data_reader_open_buffer(data_reader *r, const void *data, size_t len, const char *name,
                            const data_reader_opts *o);
/* Next record: 1 = a record in r->fields[0..nf), 0 = end of input, else a
 * status (AISLE_EFORMAT with "name:line:col: expected X, found Y"; the
 * reader then resumes at the next line, so lenient callers may go on). */
int data_reader_next(data_reader *r);
void data_reader_close(data_reader *r);

/* Text helpers.  data_quote writes a short printable rendering of a field
 * ('abc', with \xNN escapes, truncated with ...) for messages. */
void data_quote(const char *p, size_t len, char *out, size_t outlen);
/* Offset of the first byte that is not valid UTF-8, or len if all is. */
size_t data_utf8_check(const char *p, size_t len);
/* Offset of the first UTF-8 byte order mark (EF BB BF) in p, or len:
 * one inside a key means files were concatenated with their BOMs. */
size_t data_bom_find(const char *p, size_t len);
/* Appends latin-1 bytes as UTF-8. */
int data_latin1_to_utf8(core_buf *out, const char *p, size_t len);
/* Decimal number (surrounding spaces allowed, no NaN/Inf): 0 or -1. */
int data_parse_number(const char *p, size_t len, double *out);
/* Time: fmt NULL/"" = epoch seconds or ISO 8601 (UTC unless an offset is
 * given); else a strftime-style format (%Y %y %m %d %e %H %I %M %S %p %b
 * %B %j %s %z %T %F %D %%).  0 or -1. */
int data_parse_time(const char *p, size_t len, const char *fmt, int64_t *out);

/* ---- column mapping shared by the loaders (load.c) ---- */
enum { DATA_MAX_ROLES = 8 };
typedef struct data_columns {
    const char *const *roles;             /* role names, roles[0..n_roles) */
    size_t n_roles;
    size_t field[DATA_MAX_ROLES];         /* resolved 0-based field index; SIZE_MAX unmapped */
    const char *name[DATA_MAX_ROLES];     /* header name from the option (not NUL-terminated) */
    size_t name_len[DATA_MAX_ROLES];
    bool by_name, any;                    /* some role named by header name; option non-empty */
    char label[DATA_MAX_ROLES][48];       /* "'CustomerID'" or "'user'" for messages */
} data_columns;

/* Parses an option such as "user=CustomerID,item=2".  required: bit mask
 * of roles that must be mapped (checked at resolve time). */
int data_columns_parse(data_columns *c, const char *const *roles, size_t n_roles, const char *spec,
                       const char *option);
/* Decides on the header and resolves the mapping given the first record
 * (in r->fields).  aliases[role] is a NULL-terminated list of known
 * header names (lower case) or NULL.  numeric_role / time_role (or
 * SIZE_MAX) name roles whose text tells a header apart in auto mode.
 * Without option or header, roles 0..n_default-1 take fields 1..n_default
 * (as far as the first record has them).
 * *is_header receives whether the first record is a header. */
int data_columns_resolve(data_columns *c, const data_reader *r, const char *header_opt,
                         const char *const *const *aliases, size_t n_default, size_t numeric_role,
                         size_t time_role, const char *time_format, bool *is_header);
/* Appends "name:line:col: expected ..., found ..." for a bad field. */
int data_field_error(const data_reader *r, const data_field *f, const char *expected, const char *found);

void data_csr_free(data_csr *m);
void data_seq_free(data_seq *s);

#endif /* AISLE_DATA_H */
