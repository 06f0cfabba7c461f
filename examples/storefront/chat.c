/* chat.c - the help chat: a shopper's question goes through the library's
 * intent classifier (aisle_text_classify) and gets the canned answer of the
 * detected intent, with the intent and its probability shown.  Built only
 * when aisle.h has intent classification (-DSTOREFRONT_HAVE_CHAT).  The
 * classifier trains at start on labelled messages: the demo store's
 * messages.csv, or --messages for a shop's own support history. */
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct sf_chat {
    aisle_model *model;
    size_t n_train, n_test, n_labels;
    double accuracy, macro_f1, seconds;
} sf_chat;

/* Canned answers by intent (the demo store's intents and common ones of
 * support data sets); anything else gets the generic answer. */
static const char *const answers[][2] = {
    {"order_status", "You can follow every order under Account > Orders. Orders leave our warehouse within two "
                     "working days; the tracking link arrives by e-mail as soon as the parcel is scanned."},
    {"track_order", "You can follow every order under Account > Orders; the tracking link is in your shipping e-mail."},
    {"refund", "Refunds go back to the original payment method within 5 working days of our receiving the "
               "return. Damaged on arrival? Send us a photo and we refund at once."},
    {"get_refund", "Refunds go back to the original payment method within 5 working days of our receiving the return."},
    {"shipping", "Standard delivery takes 2-4 working days, express the next working day when ordered before "
                 "2 pm. If tracking has not moved for 3 days, we open an enquiry with the carrier for you."},
    {"delivery_options", "Standard delivery takes 2-4 working days, express the next working day."},
    {"cancel_order", "Orders can be cancelled until they are packed: open the order under Account > Orders and "
                     "choose Cancel. Already shipped? Refuse the parcel or return it free of charge."},
    {"payment_issue", "A double charge is usually a card pre-authorisation that disappears within 3 days. If it "
                      "stays, reply with the order number and we will refund the duplicate."},
    {"product_question", "Sizes, materials and care instructions are on each product page under the description. "
                         "Not there? Ask us with the product name and we answer within a day."},
    {"return_item", "Returns are free within 30 days: print the label from Account > Orders > Return and drop the "
                    "parcel at any post office."},
    {"change_address", "The delivery address can be changed until the order is packed: open the order under "
                       "Account > Orders and choose Edit address."},
    {"change_shipping_address", "The delivery address can be changed until the order is packed, under Account > Orders."},
};

static const char *answer_for(const char *intent) {
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++)
        if (!strcmp(answers[i][0], intent)) return answers[i][1];
    return "Thank you! A member of our team will answer within one working day.";
}

/* The demo store's labelled messages, written to a scratch folder and read
 * back (the library generates them only as a file). */
static int demo_messages(sf_app *app, aisle_texts *texts, aisle_config *cfg) {
    char dir[] = "/tmp/storefront-XXXXXX", path[64];
    if (!mkdtemp(dir)) return AISLE_EIO;
    aisle_config *demo = NULL;
    int rc = aisle_config_new(&demo);
    if (!rc && app->opt.demo && *app->opt.demo) rc = aisle_config_parse(demo, app->opt.demo);
    if (!rc) rc = aisle_demo_write(demo, dir);
    snprintf(path, sizeof path, "%s/messages.csv", dir);
    if (!rc) rc = aisle_config_set(cfg, "columns", "text=text,label=intent");
    if (!rc) rc = aisle_texts_load(texts, path, cfg);
    static const char *const files[] = {"events.csv", "catalog.csv", "messages.csv"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    aisle_config_free(demo);
    return rc;
}

int sf_chat_open(sf_app *app) {
    sf_chat *c = calloc(1, sizeof *c);
    aisle_texts *texts = NULL, *train = NULL, *test = NULL;
    aisle_config *cfg = NULL;
    aisle_text_eval *eval = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = c ? aisle_texts_new(&texts) : AISLE_ENOMEM;
    if (!rc) rc = aisle_config_new(&cfg);
    if (!rc && app->opt.messages_options) rc = aisle_config_parse(cfg, app->opt.messages_options);
    if (!rc) rc = app->opt.messages ? aisle_texts_load(texts, app->opt.messages, cfg) : demo_messages(app, texts, cfg);
    if (!rc) rc = aisle_texts_split(texts, 0.2, 42, &train, &test);
    aisle_config_free(cfg);
    cfg = NULL;
    if (!rc) rc = aisle_config_new(&cfg);
    if (!rc && app->opt.threads > 0) rc = aisle_config_set_int(cfg, "threads", app->opt.threads);
    if (!rc) rc = aisle_text_train(train, cfg, &c->model);
    if (!rc) rc = aisle_text_evaluate(c->model, test, NULL, &eval);
    if (!rc) {
        aisle_texts_count(train, &c->n_train);
        aisle_texts_count(test, &c->n_test);
        aisle_model_label_count(c->model, &c->n_labels);
        aisle_text_eval_metric(eval, "accuracy", &c->accuracy);
        aisle_text_eval_metric(eval, "macro_f1", &c->macro_f1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (c) c->seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    aisle_text_eval_free(eval);
    aisle_texts_free(texts);
    aisle_texts_free(train);
    aisle_texts_free(test);
    aisle_config_free(cfg);
    if (rc) {
        /* the shop still works; it just has no help chat */
        fprintf(stderr, "storefront: no help chat: %s (%s)\n", aisle_strerror(rc), aisle_last_error());
        if (c) aisle_model_free(c->model);
        free(c);
        aisle_clear_error();
        return rc == AISLE_ENOMEM ? rc : AISLE_OK;
    }
    fprintf(stderr, "  trained the help chat's intent model on %zu messages (%zu intents) in %.1f s: accuracy %.3f\n",
            c->n_train, c->n_labels, c->seconds, c->accuracy);
    app->chat = c;
    return AISLE_OK;
}

void sf_chat_close(sf_app *app) {
    sf_chat *c = app->chat;
    if (!c) return;
    aisle_model_free(c->model);
    free(c);
    app->chat = NULL;
}

typedef struct reply {
    const char *labels[3];
    float probs[3];
    size_t n;
    int unknown;
} reply;

static int classify(sf_app *app, const char *q, reply *out) {
    sf_chat *c = app->chat;
    memset(out, 0, sizeof *out);
    return aisle_text_classify(c->model, q, strlen(q), 3, out->labels, out->probs, &out->n, &out->unknown);
}

void sf_page_help(sf_app *app, sf_request *r) {
    const char *q;
    if (sf_param_text(r, "q", &q)) return;
    sf_buf c = {0};
    sf_put(&c, "<h1>Help</h1><section class=\"chat\"><div class=\"bubble bot\">Hello! Ask about an order, a "
               "delivery, a return or a refund, in English or Chinese.</div>");
    reply rep;
    if (*q && classify(app, q, &rep) == AISLE_OK && rep.n) {
        sf_put(&c, "<div class=\"bubble me\">");
        sf_html(&c, q);
        sf_put(&c, "</div><div class=\"bubble bot\">");
        sf_html(&c, rep.unknown ? "I am not sure I understood. Could you tell us more, with the order number if you "
                                  "have one? A member of our team will answer within one working day."
                                : answer_for(rep.labels[0]));
        sf_put(&c, "<div class=\"intent\">Detected intent: <b>");
        sf_html(&c, rep.labels[0]);
        sf_printf(&c, "</b> (%.0f%%%s)", 100.0 * rep.probs[0], rep.unknown ? ", below the confidence threshold" : "");
        for (size_t i = 1; i < rep.n; i++) {
            sf_put(&c, i == 1 ? " &middot; then " : ", ");
            sf_html(&c, rep.labels[i]);
            sf_printf(&c, " %.0f%%", 100.0 * rep.probs[i]);
        }
        sf_put(&c, "</div></div>");
    }
    sf_put(&c, "<form action=\"/help\"><input id=\"ask\" name=\"q\" maxlength=\"200\" autocomplete=\"off\" "
               "placeholder=\"Type your question\" aria-label=\"Your question\"><button type=\"submit\">Send</button>"
               "</form></section>");
    sf_page_layout(app, r, "Help", &c);
    sf_buf_free(&c);
    aisle_clear_error();
}

void sf_api_chat(sf_app *app, sf_request *r) {
    const char *q;
    reply rep;
    if (sf_param_text(r, "q", &q)) return;
    if (!*q) {
        sf_error_page(app, r, 400, "missing parameter 'q'");
        return;
    }
    int rc = classify(app, q, &rep);
    if (rc || !rep.n) {
        sf_error_page(app, r, 500, aisle_last_error());
        return;
    }
    r->content_type = "application/json";
    sf_buf *b = &r->body_out;
    sf_put(b, "{\"intent\": ");
    sf_json(b, rep.labels[0]);
    sf_printf(b, ", \"probability\": %.4f, \"unknown\": %s, \"answer\": ", rep.probs[0], rep.unknown ? "true" : "false");
    sf_json(b, rep.unknown ? "" : answer_for(rep.labels[0]));
    sf_put(b, ", \"alternatives\": [");
    for (size_t i = 1; i < rep.n; i++) {
        sf_put(b, i > 1 ? ", {\"intent\": " : "{\"intent\": ");
        sf_json(b, rep.labels[i]);
        sf_printf(b, ", \"probability\": %.4f}", rep.probs[i]);
    }
    sf_put(b, "]}\n");
}

void sf_chat_admin(sf_app *app, sf_buf *b) {
    const sf_chat *c = app->chat;
    sf_printf(b, "<section class=\"panel\"><h2>Help chat</h2><table class=\"grid\" id=\"intent\"><tr><th>Model</th>"
                 "<th>Intents</th><th>Trained on</th><th>Held out</th><th>Accuracy</th><th>Macro-F1</th>"
                 "<th>Training</th></tr><tr><td><b>intent</b></td><td>%zu</td><td>%zu messages</td><td>%zu messages</td>"
                 "<td>%.4f</td><td>%.4f</td><td>%.1f s</td></tr></table></section>",
              c->n_labels, c->n_train, c->n_test, c->accuracy, c->macro_f1, c->seconds);
}
