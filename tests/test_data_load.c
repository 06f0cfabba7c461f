/* test_data_load.c - event loader: formats, options, exact error messages,
 * strict rollback and lenient reports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/data.h"
#include "util/test_util.h"

static aisle_config *cfg_of(const char *text) {
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    if (text) assert_ok(aisle_config_parse(cfg, text));
    return cfg;
}

/* Loads text from a buffer named name with options; returns the status. */
static int load_text(aisle_dataset *ds, const char *name, const char *text, const char *opts) {
    aisle_config *cfg = cfg_of(opts);
    int rc = aisle_dataset_load_buffer(ds, text, strlen(text), name, cfg);
    aisle_config_free(cfg);
    return rc;
}

static size_t n_users(const aisle_dataset *ds) { size_t n; assert_ok(aisle_dataset_user_count(ds, &n)); return n; }
static size_t n_items(const aisle_dataset *ds) { size_t n; assert_ok(aisle_dataset_item_count(ds, &n)); return n; }
static size_t n_events(const aisle_dataset *ds) { size_t n; assert_ok(aisle_dataset_event_count(ds, &n)); return n; }

static void test_load_tsv_without_header_positional_defaults(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n",
                        "event=rating"));
    assert_int_equal(n_users(ds), 2);
    assert_int_equal(n_items(ds), 3);
    assert_int_equal(n_events(ds), 3);
    assert_true(data_is_explicit(ds));
    assert_int_equal(ds->events[1].time, 891717742);
    assert_true(ds->events[2].value == 1.0f);
    const char *k;
    assert_ok(aisle_dataset_item_key(ds, 2, &k));
    assert_string_equal(k, "377");
    size_t read, loaded, skipped, filtered;
    assert_ok(aisle_dataset_load_report(ds, &read, &loaded, &skipped, &filtered));
    assert_int_equal(read, 3);
    assert_int_equal(loaded, 3);
    assert_int_equal(skipped + filtered, 0);
    aisle_dataset_free(ds);
}

static void test_load_double_colon_delimiter_is_sniffed(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "ratings.dat", "1::1193::5::978300760\r\n1::661::3::978302109\r\n2::1193::4::978298413",
                        NULL));
    assert_int_equal(n_users(ds), 2);
    assert_int_equal(n_items(ds), 2);
    assert_int_equal(n_events(ds), 3);
    assert_int_equal(ds->events[2].time, 978298413);
    assert_true(ds->events[2].value == 4.0f);
    aisle_dataset_free(ds);
}

static void test_load_csv_header_aliases_quotes_bom_crlf(void **state) {
    (void)state;
    const char *text = "\xEF\xBB\xBFInvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\r\n"
                       "1,85123A,\"WHITE, HANGING \"\"HEART\"\"\",6,2010-12-01 08:26:00,2.55,17850\r\n"
                       "\r\n"
                       "2,\"71053\",\"two\nlines\",-2,2010-12-01 09:00:00,3.39,17850\r\n"
                       "3,71053,plain,1,2010-12-02,1,\"13047\"\r\n";
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "retail.csv", text, NULL));
    assert_int_equal(n_users(ds), 2);
    assert_int_equal(n_items(ds), 2);
    assert_int_equal(n_events(ds), 3);
    assert_true(ds->events[0].value == 6.0f);
    assert_int_equal(ds->events[0].time, 1291191960); /* 2010-12-01 08:26:00 UTC */
    assert_true(ds->events[1].value == -2.0f);        /* negative=subtract: as given */
    assert_int_equal(ds->events[2].time, 1291248000);
    size_t idx;
    assert_ok(aisle_dataset_user_index(ds, "13047", &idx));
    assert_int_equal(idx, 1);
    aisle_dataset_free(ds);
}

static void test_load_columns_by_name_and_position_with_time_format(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "x.csv", "when;who;what;kind\n12/1/10 8:26;alice;book;purchase\n1/2/11 23:05;bob;pen;\n",
                        "delimiter=semicolon columns=\"user=who;item=what;time=when;event=kind\" time_format=\"%m/%d/%y %H:%M\""));
    assert_int_equal(n_events(ds), 2);
    assert_int_equal(ds->events[0].time, 1291191960);
    assert_int_equal(ds->events[0].type, DATA_EVENT_PURCHASE);
    assert_int_equal(ds->events[1].type, DATA_EVENT_VIEW); /* empty event field: option event */
    assert_int_equal(ds->events[1].time, 1294009500);      /* 2011-01-02 23:05 UTC */
    aisle_dataset_free(ds);

    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "x.txt", "a|x|2|wish\nb|y|3|wish\n", "delimiter=| columns=\"item=1,user=2,event=4\""));
    assert_int_equal(n_events(ds), 2);
    const char *k;
    assert_ok(aisle_dataset_user_key(ds, 0, &k));
    assert_string_equal(k, "x");
    assert_true(ds->events[0].value == 1.0f); /* no value column */
    assert_int_equal(ds->events[0].type, DATA_EVENT_CUSTOM);
    aisle_dataset_free(ds);
}

static void test_load_iso_times_and_offsets(void **state) {
    (void)state;
    int64_t t;
    assert_int_equal(data_parse_time("2010-12-01T08:26:00Z", 20, NULL, &t), 0);
    assert_int_equal(t, 1291191960);
    assert_int_equal(data_parse_time("2010-12-01T08:26:00+01:00", 25, NULL, &t), 0);
    assert_int_equal(t, 1291188360);
    assert_int_equal(data_parse_time(" 2000-02-29 ", 12, NULL, &t), 0);
    assert_int_equal(t, 951782400);
    assert_int_equal(data_parse_time("-5", 2, NULL, &t), 0);
    assert_int_equal(t, -5);
    assert_int_equal(data_parse_time("1.5", 3, NULL, &t), 0);
    assert_int_equal(t, 1);
    assert_int_equal(data_parse_time("2001-02-29", 10, NULL, &t), -1);
    assert_int_equal(data_parse_time("2010-13-01", 10, NULL, &t), -1);
    assert_int_equal(data_parse_time("yesterday", 9, NULL, &t), -1);
    assert_int_equal(data_parse_time("01/Dec/2010:08:26:00 +0000", 26, "%d/%b/%Y:%T %z", &t), 0);
    assert_int_equal(t, 1291191960);
    assert_int_equal(data_parse_time("12/1/10 8:26 PM", 15, "%m/%d/%y %I:%M %p", &t), 0);
    assert_int_equal(t, 1291191960 + 12 * 3600);
    double v;
    assert_int_equal(data_parse_number(" 2.55 ", 6, &v), 0);
    assert_true(v == 2.55);
    assert_int_equal(data_parse_number("-1e3", 4, &v), 0);
    assert_true(v == -1000.0);
    assert_int_equal(data_parse_number("nan", 3, &v), -1);
    assert_int_equal(data_parse_number("inf", 3, &v), -1);
    assert_int_equal(data_parse_number("0x10", 4, &v), -1);
    assert_int_equal(data_parse_number("1.", 2, &v), 0);
    assert_int_equal(data_parse_number(".", 1, &v), -1);
}

static void test_load_negative_values_skip_subtract_keep(void **state) {
    (void)state;
    const char *text = "u,i,3\nu,i,-1\nv,j,-2\n";
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "n.csv", text, "negative=skip"));
    assert_int_equal(n_events(ds), 1);
    assert_int_equal(n_users(ds), 1); /* a filtered row interns nothing */
    size_t read, loaded, skipped, filtered;
    assert_ok(aisle_dataset_load_report(ds, &read, &loaded, &skipped, &filtered));
    assert_int_equal(read, 3);
    assert_int_equal(loaded, 1);
    assert_int_equal(filtered, 2);
    aisle_dataset_free(ds);
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "n.csv", text, "negative=keep"));
    assert_true(ds->events[1].value == 1.0f && ds->events[2].value == 2.0f);
    aisle_dataset_free(ds);
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "n.csv", text, NULL));
    const data_csr *m;
    assert_ok(data_by_user(ds, &m));
    assert_true(m->values[0] == 2.0f); /* 3 - 1 with view weight 1 */
    aisle_dataset_free(ds);
}

static void gzip_bytes(const char *text, unsigned char *out, size_t cap, size_t *len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *len = cap - zs.avail_out;
    deflateEnd(&zs);
}

static void test_load_gzip_file_and_buffer_by_magic(void **state) {
    (void)state;
    char text[4096] = "";
    for (int i = 0; i < 100; i++) snprintf(text + strlen(text), sizeof text - strlen(text), "u%d\ti%d\t1\t%d\n", i % 7, i % 13, i);
    unsigned char gz[4096];
    size_t gzlen;
    gzip_bytes(text, gz, sizeof gz, &gzlen);
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_load_buffer(ds, gz, gzlen, "events.tsv", NULL));
    assert_int_equal(n_events(ds), 100);
    assert_int_equal(n_users(ds), 7);
    /* a file named .csv that is really gzip'd TSV: magic bytes decide compression */
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "data_load_gz");
    snprintf(path, sizeof path, "%s/events.csv", dir);
    tu_write_file(path, gz, gzlen);
    aisle_config *cfg = cfg_of("delimiter=tab");
    assert_ok(aisle_dataset_load(ds, path, cfg));
    assert_int_equal(n_events(ds), 200);
    assert_int_equal(n_items(ds), 13);
    /* a truncated gzip buffer is a format error */
    assert_status_msg(aisle_dataset_load_buffer(ds, gz, gzlen / 2, "cut.tsv", NULL), AISLE_EFORMAT, "cut.tsv");
    assert_int_equal(n_events(ds), 200);
    snprintf(path, sizeof path, "%s/missing.csv", dir);
    assert_status_msg(aisle_dataset_load(ds, path, cfg), AISLE_ENOTFOUND, "missing.csv: no such file");
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

/* Snapshot of a dataset's observable state. */
typedef struct snap {
    size_t users, items, events, names;
    char last_user[32];
} snap;

static snap take(const aisle_dataset *ds) {
    snap s = {n_users(ds), n_items(ds), n_events(ds), ds->event_names.n, ""};
    const char *k;
    if (s.users && aisle_dataset_user_key(ds, s.users - 1, &k) == AISLE_OK) snprintf(s.last_user, sizeof s.last_user, "%s", k);
    return s;
}

static void assert_unchanged(const aisle_dataset *ds, snap s) {
    snap t = take(ds);
    assert_int_equal(t.users, s.users);
    assert_int_equal(t.items, s.items);
    assert_int_equal(t.events, s.events);
    assert_int_equal(t.names, s.names);
    assert_string_equal(t.last_user, s.last_user);
    size_t idx;
    assert_int_equal(aisle_dataset_user_index(ds, "new1", &idx), AISLE_ENOTFOUND);
}

/* Each bad input fails with this exact message and changes nothing. */
static void test_load_strict_errors_exact_messages_and_rollback(void **state) {
    (void)state;
    static const struct {
        const char *name, *text, *opts, *msg;
    } cases[] = {
        {"e.csv", "", NULL, "e.csv:1:1: expected a header or data row, found an empty file"},
        {"e.csv", "\r\n\n", NULL, "e.csv:1:1: expected a header or data row, found an empty file"},
        {"t.tsv", "new1\tx\t1\t5\nnew2\ty\t2\n", NULL,
         "t.tsv:2:9: expected column 'time' (field 4), found the end of the line after 3 fields"},
        {"t.tsv", "new1\tx\t1\nnew2\ty\tabc\n", NULL, "t.tsv:2:8: expected a number in column 'value', found 'abc'"},
        {"t.tsv", "new1\tx\t1\nnew2\ty\t\n", NULL, "t.tsv:2:8: expected a number in column 'value', found an empty field"},
        {"t.tsv", "new1\tx\nnew2\tyyyyyyyyy\n", "max_field=8",
         "t.tsv:2:6: expected a field of at most 8 bytes (option max_field), found a longer one"},
        {"t.tsv", "new1\tx\nn\xff\tz\n", NULL,
         "t.tsv:2:1: expected UTF-8 text in column 'user', found byte 0xff at byte 2 of the field (option encoding=latin1?)"},
        {"t.tsv", "new1\tx\nn\xc0\x80\tz\n", NULL, "found byte 0xc0 at byte 2"},
        {"t.tsv", "new1\tx\nn\0x\tz\n", NULL, "t.tsv:2:1: expected text in column 'user', found a NUL byte"},
        {"t.tsv", "new1\tx\n\ty\n", NULL, "t.tsv:2:1: expected a user key in column 'user', found an empty field"},
        {"t.tsv", "new1\tx\nz\t\n", NULL, "t.tsv:2:3: expected an item key in column 'item', found an empty field"},
        {"q.csv", "new1,x\nnew2,\"open\n", NULL,
         "q.csv:2:6: expected a closing quote for the quoted field, found the end of the input"},
        {"q.csv", "new1,x\nnew2,\"a\"b\n", NULL,
         "q.csv:2:9: expected a delimiter or end of line after the closing quote, found 'b'"},
        {"h.csv", "a,b\n1,2\n", "columns=\"user=CustomerID,item=b\"",
         "h.csv:1:1: expected a column named 'CustomerID' in the header (role user), found 'a', 'b'"},
        {"t.csv", "user,item,time\nnew1,x,2010-12-01\nnew2,y,12/1/10\n", NULL,
         "t.csv:3:8: expected a time (epoch seconds or ISO 8601 like 2010-12-01 08:26:00) in column 'time', found '12/1/10'"},
        {"t.csv", "new1,x,1,12/1/10\nnew2,y,1,13/1/10\n", "time_format=%m/%d/%y",
         "t.csv:2:10: expected a time in format '%m/%d/%y' (option time_format) in column 'time', found '13/1/10'"},
    };
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_add_event(ds, "old", "x", "view", 1, 1));
    const data_csr *m;
    assert_ok(data_by_user(ds, &m));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snap s = take(ds);
        aisle_config *cfg = cfg_of(cases[c].opts);
        size_t len = strlen(cases[c].text);
        if (strchr(cases[c].msg, '\0') && strstr(cases[c].msg, "NUL")) len = 13; /* "new1\tx\nn\0x\tz\n" */
        int rc = aisle_dataset_load_buffer(ds, cases[c].text, len, cases[c].name, cfg);
        aisle_config_free(cfg);
        if (rc != AISLE_EFORMAT) fail_msg("case %zu: rc %d (%s)", c, rc, aisle_last_error());
        if (strstr(cases[c].msg, ":1:") || strstr(cases[c].msg, ":2:") || strstr(cases[c].msg, ":3:"))
            assert_string_equal(aisle_last_error(), cases[c].msg);
        else if (!strstr(aisle_last_error(), cases[c].msg))
            fail_msg("case %zu: '%s' lacks '%s'", c, aisle_last_error(), cases[c].msg);
        assert_unchanged(ds, s);
    }
    /* option errors */
    assert_status_msg(load_text(ds, "x.csv", "a,b\n", "columns=\"user=1,thing=2\""), AISLE_EINVAL,
                      "option columns: unknown role 'thing' (roles: user, item, value, time, event)");
    assert_status_msg(load_text(ds, "x.csv", "a,b\n", "columns=user=1"), AISLE_EINVAL, "must map the item role");
    assert_status_msg(load_text(ds, "x.csv", "a,b\n", "time_format=%Q"), AISLE_EINVAL, "unknown conversion '%Q'");
    assert_status_msg(load_text(ds, "x.csv", "a,b\n", "delimiter=ab"), AISLE_EINVAL, "option delimiter");
    assert_status_msg(load_text(ds, "x.csv", "a,b\n", "header=no columns=\"user=a,item=b\""), AISLE_EINVAL, "header=no");
    assert_int_equal(n_events(ds), 1);
    aisle_dataset_free(ds);
}

static void test_load_lenient_skips_and_reports(void **state) {
    (void)state;
    const char *text = "user,item,value\n"
                       "a,x,1\n"
                       ",x,2\n"           /* line 3: empty user */
                       "b,y,zz\n"         /* line 4: bad number */
                       "c,\"unterminated\n"
                       "d,z,4\n";         /* the reader resumes on the line after the bad record's start */
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "l.csv", text, "lenient=true"));
    size_t read, loaded, skipped, filtered;
    assert_ok(aisle_dataset_load_report(ds, &read, &loaded, &skipped, &filtered));
    assert_int_equal(loaded, 2);
    assert_int_equal(skipped, 3);
    assert_int_equal(read, 5);
    assert_int_equal(n_users(ds), 2); /* skipped rows intern nothing */
    assert_int_equal(n_items(ds), 2);
    const char *msg;
    assert_ok(aisle_dataset_load_message(ds, 0, &msg));
    assert_string_equal(msg, "l.csv:3:1: expected a user key in column 'user', found an empty field");
    assert_ok(aisle_dataset_load_message(ds, 1, &msg));
    assert_string_equal(msg, "l.csv:4:5: expected a number in column 'value', found 'zz'");
    assert_ok(aisle_dataset_load_message(ds, 2, &msg));
    assert_string_equal(msg, "l.csv:5:3: expected a closing quote for the quoted field, found the end of the input");
    assert_status_msg(aisle_dataset_load_message(ds, 3, &msg), AISLE_ERANGE, "out of range");
    /* lenient but quote error mid-file: the reader resumes at the next line */
    assert_ok(load_text(ds, "m.csv", "a,\"x\"y,1\nb,q,2\n", "lenient=true"));
    assert_ok(aisle_dataset_load_report(ds, &read, &loaded, &skipped, NULL));
    assert_int_equal(loaded, 1);
    assert_int_equal(skipped, 1);
    aisle_dataset_free(ds);
}

static void test_load_latin1_encoding(void **state) {
    (void)state;
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_status_msg(load_text(ds, "l.tsv", "Jos\xe9\tcaf\xe9\n", NULL), AISLE_EFORMAT, "byte 0xe9");
    assert_ok(load_text(ds, "l.tsv", "Jos\xe9\tcaf\xe9\n", "encoding=latin1"));
    size_t idx;
    assert_ok(aisle_dataset_user_index(ds, "Jos\xc3\xa9", &idx));
    assert_ok(aisle_dataset_item_index(ds, "caf\xc3\xa9", &idx));
    aisle_dataset_free(ds);
}

static void test_load_block_boundaries_large_input(void **state) {
    (void)state;
    /* more than one 4 MiB block, with quoted fields crossing block ends */
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir, "data_load_big");
    snprintf(path, sizeof path, "%s/big.csv", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t rows = 160000;
    for (size_t i = 0; i < rows; i++)
        fprintf(f, "user%zu,\"item,%zu\",%zu,\"note \"\"%zu\"\"\nsecond line\"\n", i % 1000, i % 777, i % 5, i);
    fclose(f);
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    aisle_config *cfg = cfg_of("columns=\"user=1,item=2,value=3\"");
    assert_ok(aisle_dataset_load(ds, path, cfg));
    assert_int_equal(n_events(ds), rows);
    assert_int_equal(n_users(ds), 1000);
    assert_int_equal(n_items(ds), 777);
    size_t idx;
    assert_ok(aisle_dataset_item_index(ds, "item,776", &idx));
    for (size_t i = 0; i < rows; i += 9973) assert_true(ds->events[i].value == (float)(i % 5));
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
}

static void test_load_survives_allocation_failures(void **state) {
    (void)state;
    const char *text = "user,item,event\na,x,view\nb,y,wish\nc,x,rating\n";
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_add_event(ds, "old", "x", "view", 1, 1));
    int ok = 0;
    for (uint64_t n = 1; n < 400 && !ok; n++) {
        snap s = take(ds);
        tu_failalloc_install(n, 0);
        int rc = aisle_dataset_load_buffer(ds, text, strlen(text), "a.csv", NULL);
        tu_failalloc_remove();
        if (rc == AISLE_OK) {
            ok = 1;
            break;
        }
        assert_int_equal(rc, AISLE_ENOMEM);
        assert_unchanged(ds, s);
    }
    assert_true(ok);
    assert_int_equal(n_events(ds), 4);
    assert_true(data_is_explicit(ds));
    aisle_dataset_free(ds);
}

static void test_load_keeps_row_order_with_short_and_long_keys(void **state) {
    (void)state;
    /* keys of 1..70 bytes: short ones wait in the prefetch queue, long ones
     * (over 40 bytes) bypass it; events must still come out in file order */
    char *text = malloc(200000);
    assert_non_null(text);
    size_t o = 0;
    char keys[500][80];
    for (int i = 0; i < 500; i++) {
        int len = 1 + (i * 37) % 70;
        for (int k = 0; k < len; k++) keys[i][k] = (char)('a' + (i + k) % 26);
        keys[i][len] = '\0';
        o += (size_t)sprintf(text + o, "%s\titem%d\t%d\n", keys[i], i % 17, i);
    }
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(aisle_dataset_load_buffer(ds, text, o, "k.tsv", NULL));
    assert_int_equal(n_events(ds), 500);
    for (int i = 0; i < 500; i++) {
        const char *k;
        assert_ok(aisle_dataset_user_key(ds, ds->events[i].user, &k));
        assert_string_equal(k, keys[i]);
        assert_true(ds->events[i].value == (float)i);
        size_t idx;
        assert_ok(aisle_dataset_user_index(ds, keys[i], &idx));
        assert_int_equal(idx, ds->events[i].user);
    }
    free(text);
    aisle_dataset_free(ds);
}

static void test_load_header_detection_auto_yes_no(void **state) {
    (void)state;
    aisle_dataset *ds;
    /* unknown names, but 'rating' in the value column is not a number: a header */
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "h.csv", "u,i,rating\na,x,4\nb,y,5\n", NULL));
    assert_int_equal(n_events(ds), 2);
    size_t idx;
    assert_int_equal(aisle_dataset_user_index(ds, "u", &idx), AISLE_ENOTFOUND);
    aisle_dataset_free(ds);
    /* no value column to tell: the first row is data unless header=yes */
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "h.csv", "u,i\na,x\n", NULL));
    assert_int_equal(n_events(ds), 2);
    aisle_dataset_free(ds);
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "h.csv", "u,i\na,x\n", "header=yes columns=\"user=1,item=2\""));
    assert_int_equal(n_events(ds), 1);
    aisle_dataset_free(ds);
    /* known names with header=no are data (and then 'rating' is a bad value) */
    assert_ok(aisle_dataset_new(&ds));
    assert_status_msg(load_text(ds, "h.csv", "user_id,item_id,rating\na,x,4\n", "header=no"), AISLE_EFORMAT,
                      "h.csv:1:17: expected a number in column 'value', found 'rating'");
    /* header=yes without known names or columns */
    assert_status_msg(load_text(ds, "h.csv", "p,q\na,x\n", "header=yes"), AISLE_EFORMAT,
                      "h.csv:1:1: expected a header with known column names (or set the columns option), found 'p', 'q'");
    aisle_dataset_free(ds);
}

/* Rows with at least 32 bytes after them take the block scanner's fast
 * path; these checks put every kind of row there (20 rows before, 5
 * after) and expect the same values and the same exact messages as the
 * full RFC 4180 path gives for short inputs. */
static void test_load_fast_path_rows_match_full_path(void **state) {
    (void)state;
    char text[4096];
    size_t o = 0;
    for (int i = 0; i < 20; i++) o += (size_t)snprintf(text + o, sizeof text - o, "u%d\ti%d\t%d\t%d\n", i, i, 1 + i % 5, 1000 + i);
    const char *mid = "quoted\t\"it\"\"em\"\t2\t7\r\n"       /* quote at a field start, CRLF */
                      "12345678\t123456789\t3\t8\r\n"       /* 8- and 9-byte keys */
                      "caf\xc3\xa9\tit\"em\t4\t9\n"          /* UTF-8 key, quote inside a field */
                      "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\ti1\t 5 \t 10 \n"; /* long key, spaces */
    o += (size_t)snprintf(text + o, sizeof text - o, "%s", mid);
    for (int i = 0; i < 5; i++) o += (size_t)snprintf(text + o, sizeof text - o, "u%d\tz%d\t1\t%d\n", i, i, 2000 + i);
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    assert_ok(load_text(ds, "f.tsv", text, "event=rating"));
    assert_int_equal(n_events(ds), 29);
    const char *k;
    assert_ok(aisle_dataset_item_key(ds, 20, &k));
    assert_string_equal(k, "it\"em");
    assert_ok(aisle_dataset_user_key(ds, 21, &k));
    assert_string_equal(k, "12345678");
    assert_ok(aisle_dataset_item_key(ds, 21, &k));
    assert_string_equal(k, "123456789");
    assert_ok(aisle_dataset_user_key(ds, 22, &k));
    assert_string_equal(k, "caf\xc3\xa9");
    assert_ok(aisle_dataset_item_key(ds, 22, &k));
    assert_string_equal(k, "z0"); /* it"em and i1 were known */
    assert_int_equal(ds->events[20].item, ds->events[22].item);
    assert_int_equal(ds->events[21].time, 8);
    assert_true(ds->events[23].value == 5.0f);
    assert_int_equal(ds->events[23].time, 10);
    assert_int_equal(ds->events[24].user, 0); /* u0 again */
    assert_int_equal(ds->events[24].time, 2000);
    aisle_dataset_free(ds);

    static const struct {
        const char *row, *msg;
    } bad[] = {
        {"ab\tcd\tx1\t5\n", "b.tsv:21:7: expected a number in column 'value', found 'x1'"},
        {"ab\tcd\t1\t5x\n", "b.tsv:21:9: expected a time (epoch seconds or ISO 8601 like 2010-12-01 08:26:00) in column "
                            "'time', found '5x'"},
        {"ab\tcd\t1\n", "b.tsv:21:8: expected column 'time' (field 4), found the end of the line after 3 fields"},
        {"a\xff\tcd\t1\t5\n", "b.tsv:21:1: expected UTF-8 text in column 'user', found byte 0xff at byte 2 of the field"},
        {"ab\t\t1\t5\r\n", "b.tsv:21:4: expected an item key in column 'item', found an empty field"},
        {"ab\t\"c\"d\t1\t5\n", "b.tsv:21:7: expected a delimiter or end of line after the closing quote, found 'd'"},
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        o = 0;
        for (int i = 0; i < 20; i++) o += (size_t)snprintf(text + o, sizeof text - o, "u%d\ti%d\t1\t5\n", i, i);
        o += (size_t)snprintf(text + o, sizeof text - o, "%s", bad[c].row);
        for (int i = 0; i < 5; i++) o += (size_t)snprintf(text + o, sizeof text - o, "v%d\tj%d\t1\t5\n", i, i);
        assert_ok(aisle_dataset_new(&ds));
        assert_status_msg(load_text(ds, "b.tsv", text, NULL), AISLE_EFORMAT, bad[c].msg);
        assert_int_equal(n_events(ds), 0);
        assert_int_equal(n_users(ds), 0);
        aisle_dataset_free(ds);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_tsv_without_header_positional_defaults),
        cmocka_unit_test(test_load_double_colon_delimiter_is_sniffed),
        cmocka_unit_test(test_load_csv_header_aliases_quotes_bom_crlf),
        cmocka_unit_test(test_load_columns_by_name_and_position_with_time_format),
        cmocka_unit_test(test_load_iso_times_and_offsets),
        cmocka_unit_test(test_load_negative_values_skip_subtract_keep),
        cmocka_unit_test(test_load_gzip_file_and_buffer_by_magic),
        cmocka_unit_test(test_load_strict_errors_exact_messages_and_rollback),
        cmocka_unit_test(test_load_lenient_skips_and_reports),
        cmocka_unit_test(test_load_latin1_encoding),
        cmocka_unit_test(test_load_block_boundaries_large_input),
        cmocka_unit_test(test_load_survives_allocation_failures),
        cmocka_unit_test(test_load_keeps_row_order_with_short_and_long_keys),
        cmocka_unit_test(test_load_header_detection_auto_yes_no),
        cmocka_unit_test(test_load_fast_path_rows_match_full_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
