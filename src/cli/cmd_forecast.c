/* cmd_forecast.c - `aisle forecast`: demand forecasts per product as CSV
 * (item,period_start,p10,p50,p90) or JSON, or a rolling-origin backtest
 * with --holdout (docs/FORECAST.md). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void format_day(int64_t t, char *out, size_t len) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, len, "%Y-%m-%d", &tm);
}

/* RFC 4180: quote a field holding a delimiter, quote or line break. */
static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int backtest(const cli_opts *o, aisle_dataset *ds, aisle_catalog *cat) {
    aisle_forecast_report *rep;
    double t0 = cli_now();
    int rc = aisle_forecast_backtest(ds, cat, o->cfg, (size_t)o->holdout, &rep);
    if (rc) return cli_fail(rc, "backtest");
    size_t n = 0;
    aisle_forecast_report_count(rep, &n);
    if (o->json) {
        printf("{\"holdout\": %d, \"metrics\": {", o->holdout);
        for (size_t i = 0; i < n; i++) {
            const char *name;
            double v;
            aisle_forecast_report_at(rep, i, &name, &v);
            printf("%s", i ? ", " : "");
            cli_json_string(stdout, name);
            printf(": ");
            cli_json_number(stdout, v);
        }
        printf("}}\n");
    } else {
        printf("backtest: last %d periods held out\n", o->holdout);
        for (size_t i = 0; i < n; i++) {
            const char *name;
            double v;
            aisle_forecast_report_at(rep, i, &name, &v);
            printf("  %-12s %.4f\n", name, v);
        }
    }
    if (!o->quiet) fprintf(stderr, "aisle: backtest in %.1f s\n", cli_now() - t0);
    aisle_forecast_report_free(rep);
    return CLI_OK;
}

static int write_forecasts(const cli_opts *o, const aisle_forecast *fc) {
    size_t n = 0, H = (size_t)o->horizon;
    aisle_forecast_item_count(fc, &n);
    int64_t *start = malloc(H * sizeof *start);
    double *q = malloc(3 * H * sizeof *q);
    if (!start || !q) {
        free(start);
        free(q);
        return cli_error(CLI_RUNTIME, "out of memory");
    }
    FILE *csv = NULL;
    if (o->out) {
        csv = fopen(o->out, "w");
        if (!csv) {
            free(start);
            free(q);
            return cli_error(CLI_RUNTIME, "cannot write %s", o->out);
        }
    } else if (!o->json) {
        csv = stdout;
    }
    if (csv) fprintf(csv, "item,period_start,p10,p50,p90\n");
    if (o->json) printf("{\"horizon\": %zu, \"items\": [", H);
    int code = CLI_OK;
    for (size_t i = 0; i < n && code == CLI_OK; i++) {
        const char *key, *method = "";
        aisle_forecast_item_key(fc, i, &key);
        aisle_forecast_method(fc, key, &method);
        int rc = aisle_forecast_item(fc, key, H, start, q, q + H, q + 2 * H);
        if (rc) {
            code = cli_fail(rc, key);
            break;
        }
        if (o->json) {
            printf("%s\n  {\"item\": ", i ? "," : "");
            cli_json_string(stdout, key);
            printf(", \"method\": ");
            cli_json_string(stdout, method);
            printf(", \"forecast\": [");
        }
        for (size_t h = 0; h < H; h++) {
            char day[16];
            format_day(start[h], day, sizeof day);
            if (csv) {
                csv_field(csv, key);
                fprintf(csv, ",%s,%.3f,%.3f,%.3f\n", day, q[h], q[H + h], q[2 * H + h]);
            }
            if (o->json) {
                printf("%s{\"period_start\": \"%s\", \"p10\": ", h ? ", " : "", day);
                cli_json_number(stdout, q[h]);
                printf(", \"p50\": ");
                cli_json_number(stdout, q[H + h]);
                printf(", \"p90\": ");
                cli_json_number(stdout, q[2 * H + h]);
                printf("}");
            }
        }
        if (o->json) printf("]}");
    }
    if (o->json && code == CLI_OK) printf("\n]}\n");
    if (csv && csv != stdout && fclose(csv) != 0 && code == CLI_OK)
        code = cli_error(CLI_RUNTIME, "cannot write %s", o->out);
    if (csv == stdout) fflush(stdout);
    free(start);
    free(q);
    return code;
}

int cmd_forecast(cli_opts *o) {
    if (o->holdout == 0 && o->horizon <= 0) o->horizon = 8;
    if (o->holdout > 0 && o->horizon <= 0) o->horizon = o->holdout;
    char text[32];
    snprintf(text, sizeof text, "%d", o->horizon);
    if (aisle_config_set(o->cfg, "horizon", text) != AISLE_OK)
        return cli_error(CLI_USAGE, "--horizon %d: %s", o->horizon, aisle_last_error());
    aisle_dataset *ds;
    int code = cli_load_data(o, &ds);
    if (code) return code;
    cli_titles *titles = NULL;
    if (o->catalog && (code = cli_titles_load(o, &titles)) != CLI_OK) {
        aisle_dataset_free(ds);
        return code;
    }
    aisle_catalog *cat = cli_titles_catalog(titles);
    if (o->holdout > 0) {
        code = backtest(o, ds, cat);
    } else {
        aisle_forecast *fc;
        double t0 = cli_now();
        int rc = aisle_forecast_train(ds, cat, o->cfg, &fc);
        if (rc) {
            code = cli_fail(rc, "forecast");
        } else {
            if (!o->quiet) {
                size_t n = 0;
                aisle_forecast_item_count(fc, &n);
                fprintf(stderr, "aisle: forecast of %zu products trained in %.1f s\n", n, cli_now() - t0);
            }
            code = write_forecasts(o, fc);
            aisle_forecast_free(fc);
        }
    }
    cli_titles_free(titles);
    aisle_dataset_free(ds);
    return code;
}
