/* load.c - loading the event file named by --data, with the load report. */
#include "cli.h"

int cli_load_data(const cli_opts *o, aisle_dataset **out) {
    if (!o->data) return cli_error(CLI_USAGE, "--data FILE is required (an event file, e.g. events.csv)");
    aisle_dataset *ds;
    int rc = aisle_dataset_new(&ds);
    if (rc) return cli_fail(rc, "dataset");
    double t0 = cli_now();
    rc = aisle_dataset_load(ds, o->data, o->cfg);
    if (rc) {
        aisle_dataset_free(ds);
        /* an option the file cannot be read with (--columns usr=..., a bad
         * time_format) is a usage error, not a runtime one */
        if (rc == AISLE_EINVAL)
            return cli_error(CLI_USAGE, "cannot load events: %s (see `aisle help options`)", aisle_last_error());
        return cli_error(CLI_RUNTIME, "cannot load events: %s%s", aisle_last_error(),
                         rc == AISLE_EFORMAT ? " (check --columns, --delimiter, --header; --lenient skips bad rows)"
                                             : "");
    }
    size_t read = 0, loaded = 0, skipped = 0, filtered = 0, users = 0, items = 0;
    aisle_dataset_load_report(ds, &read, &loaded, &skipped, &filtered);
    aisle_dataset_user_count(ds, &users);
    aisle_dataset_item_count(ds, &items);
    if (loaded == 0) {
        aisle_dataset_free(ds);
        return cli_error(CLI_RUNTIME, "%s: no events loaded (%zu rows read, %zu skipped)", o->data, read, skipped);
    }
    if (o->verbose || (skipped && !o->quiet)) {
        fprintf(stderr, "aisle: %s: %zu rows read, %zu loaded, %zu skipped, %zu filtered; %zu users, %zu items (%.2fs)\n",
                o->data, read, loaded, skipped, filtered, users, items, cli_now() - t0);
        for (size_t i = 0; o->verbose; i++) {
            const char *msg;
            if (aisle_dataset_load_message(ds, i, &msg) != AISLE_OK) break;
            fprintf(stderr, "aisle:   skipped: %s\n", msg);
        }
    }
    *out = ds;
    return CLI_OK;
}
