/* generate.c - the built-in demo store: a synthetic online shop with a
 * product catalogue in a category tree, shoppers with latent tastes who
 * visit in sessions (views, carts, purchases, repeat orders), and
 * customer-service messages labelled with intents.  The generative process
 * is documented in docs/DEMO.md; everything is drawn from core_rng streams
 * of the `seed` option, so a seed gives the same store everywhere. */
#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const option_spec demo_options[] = {
    {"demo_users", AISLE_OPTION_INT, 10, 1000000, "5000", NULL, "demo", "Shoppers in the generated demo store."},
    {"demo_items", AISLE_OPTION_INT, 50, 1000000, "2000", NULL, "demo", "Products in the generated demo store."},
    {"demo_days", AISLE_OPTION_INT, 1, 3650, "90", NULL, "demo",
     "Days of shop activity the demo store's events span (ending 2026-01-01 + days)."},
    {"demo_messages", AISLE_OPTION_INT, 0, 10000000, "1000", NULL, "demo",
     "Customer-service messages in the demo store (messages.csv)."},
    OPTION_END};

/* ---- vocabularies ---- */

typedef struct leaf_def {
    const char *top, *leaf;
    const char *nouns[3];
    const char *zh_nouns[2];
    double base_price;
    int consumable; /* bought again and again */
} leaf_def;

static const leaf_def leaves[] = {
    {"Kitchen", "Cookware", {"Frying Pan", "Saucepan", "Dutch Oven"}, {"平底锅", "汤锅"}, 45, 0},
    {"Kitchen", "Knives", {"Chef Knife", "Paring Knife", "Knife Block"}, {"厨师刀", "刀具套装"}, 60, 0},
    {"Kitchen", "Bakeware", {"Baking Tray", "Cake Tin", "Muffin Pan"}, {"烤盘", "蛋糕模具"}, 25, 0},
    {"Coffee & Tea", "Coffee Beans", {"Espresso Beans", "Filter Roast", "Single Origin Beans"}, {"咖啡豆", "意式咖啡豆"}, 14, 1},
    {"Coffee & Tea", "Tea", {"Green Tea", "Earl Grey", "Oolong Tea"}, {"绿茶", "乌龙茶"}, 9, 1},
    {"Coffee & Tea", "Brewing", {"Pour-Over Kettle", "French Press", "Coffee Grinder"}, {"手冲壶", "磨豆机"}, 55, 0},
    {"Home", "Bedding", {"Duvet Cover", "Pillow Case", "Linen Sheet Set"}, {"被套", "枕套"}, 50, 0},
    {"Home", "Lighting", {"Desk Lamp", "Floor Lamp", "LED Bulb"}, {"台灯", "落地灯"}, 40, 0},
    {"Home", "Storage", {"Storage Box", "Shelf Organizer", "Laundry Basket"}, {"收纳盒", "置物架"}, 22, 0},
    {"Electronics", "Headphones", {"Wireless Earbuds", "Over-Ear Headphones", "Headset"}, {"蓝牙耳机", "头戴式耳机"}, 90, 0},
    {"Electronics", "Chargers", {"USB-C Charger", "Power Bank", "Charging Cable"}, {"充电器", "充电宝"}, 20, 0},
    {"Electronics", "Smart Home", {"Smart Plug", "Smart Speaker", "Video Doorbell"}, {"智能插座", "智能音箱"}, 70, 0},
    {"Fashion", "Shoes", {"Running Shoes", "Leather Boots", "Canvas Sneakers"}, {"跑鞋", "帆布鞋"}, 80, 0},
    {"Fashion", "Bags", {"Backpack", "Tote Bag", "Crossbody Bag"}, {"双肩包", "托特包"}, 55, 0},
    {"Fashion", "Knitwear", {"Wool Sweater", "Cardigan", "Beanie"}, {"羊毛衫", "开衫"}, 65, 0},
    {"Beauty", "Skincare", {"Face Cream", "Serum", "Cleanser"}, {"面霜", "精华液"}, 28, 1},
    {"Beauty", "Hair Care", {"Shampoo", "Conditioner", "Hair Oil"}, {"洗发水", "护发素"}, 15, 1},
    {"Sports", "Yoga", {"Yoga Mat", "Yoga Block", "Resistance Band"}, {"瑜伽垫", "弹力带"}, 30, 0},
    {"Sports", "Cycling", {"Bike Light", "Cycling Gloves", "Bike Lock"}, {"自行车灯", "骑行手套"}, 35, 0},
    {"Sports", "Camping", {"Tent", "Sleeping Bag", "Camping Stove"}, {"帐篷", "睡袋"}, 95, 0},
    {"Books", "Cookbooks", {"Cookbook", "Baking Book", "Vegetarian Cookbook"}, {"菜谱", "烘焙书"}, 24, 0},
    {"Books", "Fiction", {"Novel", "Short Stories", "Mystery Novel"}, {"小说", "短篇小说集"}, 16, 0},
    {"Toys", "Building Sets", {"Building Blocks", "Marble Run", "Construction Kit"}, {"积木", "拼装玩具"}, 35, 0},
    {"Pets", "Pet Food", {"Dry Dog Food", "Cat Food", "Dog Treats"}, {"狗粮", "猫粮"}, 25, 1},
    {"Pets", "Pet Accessories", {"Dog Leash", "Cat Bed", "Pet Bowl"}, {"牵引绳", "猫窝"}, 20, 0},
    {"Garden", "Plants & Seeds", {"Herb Seeds", "Plant Pot", "Potting Soil"}, {"种子", "花盆"}, 12, 1},
};
#define N_LEAVES ((uint32_t)CORE_ARRAY_LEN(leaves))

/* Personas: groups of leaves that the same shoppers like.  Users mix one or
 * two of them, so tastes cross top categories (coffee people also buy
 * cookbooks) and collaborative models have structure to find. */
static const uint8_t personas[][4] = {
    {0, 1, 20, 2},   /* home cook */
    {3, 5, 4, 21},   /* coffee lover */
    {9, 10, 11, 7},  /* gadget fan */
    {17, 18, 19, 12},/* outdoorsy */
    {22, 24, 23, 8}, /* family with pets */
    {12, 13, 14, 15},/* style */
    {6, 7, 8, 25},   /* homemaker and gardener */
    {15, 16, 4, 17}, /* wellness */
};
#define N_PERSONAS ((uint32_t)CORE_ARRAY_LEN(personas))

static const char *const brands[] = {"Northwind", "Lumen", "Kettleworks", "Fjord & Field", "Bamboo Lane",
                                     "Urban Nest", "Pawsome", "Trailhead", "Pixelhaus", "Maison Clair",
                                     "Greenleaf", "Sakura Living", "Ironbark", "Velvet Fox", "Brightside",
                                     "Harbor & Co"};
static const char *const adjectives[] = {"Classic", "Compact", "Premium", "Eco", "Vintage", "Modern",
                                         "Ultra-Light", "Handmade", "Smart", "Deluxe", "Everyday", "Pro"};
static const char *const colors[] = {"Black", "White", "Sage Green", "Navy", "Terracotta", "Oak", "Sand", "Red"};
static const char *const materials[] = {"stainless steel", "ceramic", "bamboo", "organic cotton",
                                        "recycled plastic", "walnut wood", "borosilicate glass", "merino wool",
                                        "silicone", "aluminium"};
static const char *const features[] = {"dishwasher safe", "fits small spaces", "2-year warranty",
                                       "gift-ready packaging", "vegan materials", "BPA free", "quick-dry",
                                       "rechargeable battery", "machine washable", "plastic-free shipping"};
static const char *const zh_adjectives[] = {"经典", "便携", "高级", "环保", "复古", "简约"};
static const char *const zh_colors[] = {"黑色", "白色", "绿色", "藏青色", "红色", "原木色"};
static const char *const zh_materials[] = {"不锈钢", "陶瓷", "竹制", "纯棉", "玻璃"};
static const char *const zh_features[] = {"可机洗", "送礼佳品", "两年保修", "轻便易携", "环保包装"};

enum { DEMO_VIEW = 0, DEMO_CART = 1, DEMO_PURCHASE = 2 };
static const char *const event_names[] = {"view", "cart", "purchase"};

static const char *const intents[] = {"order_status", "refund", "shipping", "cancel_order", "payment_issue",
                                      "product_question", "return_item", "change_address"};
static const double intent_weights[] = {0.24, 0.12, 0.18, 0.08, 0.07, 0.16, 0.10, 0.05};
#define N_INTENTS ((uint32_t)CORE_ARRAY_LEN(intents))

/* Templates: %s is the order id, %t the product title. */
static const char *const msg_en[][2] = {
    {"Hi, where is my order %s? It has been a week.", "Can you tell me the status of order %s?"},
    {"I would like a refund for %t from order %s.", "The %t arrived damaged, please refund order %s."},
    {"When will order %s be shipped?", "Tracking for %s has not updated in 3 days."},
    {"Please cancel order %s, I ordered by mistake.", "Can I still cancel %s before it ships?"},
    {"My card was charged twice for order %s.", "Payment for %s failed but the money left my account."},
    {"Is the %t dishwasher safe?", "What are the dimensions of the %t?"},
    {"How do I return the %t from order %s?", "The %t does not fit, I want to return it."},
    {"I need to change the delivery address of order %s.", "Wrong address on %s, can you update it?"},
};
static const char *const msg_zh[] = {
    "你好，我的订单%s到哪里了？", "我想申请退款，订单号%s。", "订单%s什么时候发货？", "请帮我取消订单%s。",
    "订单%s重复扣款了。",        "请问%t有几种颜色？",      "我要退货，订单%s。",   "订单%s需要修改收货地址。",
};

/* ---- the store in memory ---- */

typedef struct demo_item {
    uint32_t leaf, brand;
    size_t title, desc; /* offsets into the text arena */
    double price, log_price_rel; /* price, and log(price / leaf base) */
    float pop;          /* latent popularity */
    float style[3];
} demo_item;

typedef struct demo_event {
    uint32_t user, item, seq;
    uint8_t type;
    uint8_t qty;
    int64_t time;
} demo_event;

typedef struct demo_msg {
    uint32_t user, intent;
    int64_t time;
    size_t text; /* offset into the arena */
} demo_msg;

typedef struct demo_store {
    uint32_t n_users, n_items;
    int64_t t0;
    demo_item *items;
    demo_event *events;
    size_t n_events, events_cap;
    demo_msg *msgs;
    size_t n_msgs;
    core_buf text; /* NUL-separated strings */
    uint32_t *leaf_items, *leaf_start; /* items grouped by leaf */
} demo_store;

static void store_free(demo_store *s) {
    core_free(s->items);
    core_free(s->events);
    core_free(s->msgs);
    core_free(s->leaf_items);
    core_free(s->leaf_start);
    buf_free(&s->text);
}

static const char *store_text(const demo_store *s, size_t off) { return s->text.data + off; }

static int text_add(demo_store *s, size_t *off, const char *fmt, ...) CORE_PRINTF(3, 4);
static int text_add(demo_store *s, size_t *off, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    *off = s->text.len;
    return buf_append(&s->text, tmp, strlen(tmp) + 1);
}

#define PICK(r, arr) (arr[rng_below(r, CORE_ARRAY_LEN(arr))])

static int make_catalog(demo_store *s, uint64_t seed) {
    core_rng r;
    rng_seed_stream(&r, seed, 1);
    s->items = core_calloc(s->n_items, sizeof *s->items);
    s->leaf_items = core_malloc(s->n_items * sizeof *s->leaf_items);
    s->leaf_start = core_calloc(N_LEAVES + 1, sizeof *s->leaf_start);
    if (!s->items || !s->leaf_items || !s->leaf_start) return core_oom("demo catalog");
    int rc = AISLE_OK;
    for (uint32_t i = 0; !rc && i < s->n_items; i++) {
        demo_item *it = &s->items[i];
        /* Every leaf gets items; bigger leaves come from a skewed draw. */
        it->leaf = i < N_LEAVES ? i : (uint32_t)(N_LEAVES * pow(rng_double(&r), 1.4));
        it->brand = (uint32_t)rng_below(&r, CORE_ARRAY_LEN(brands));
        const leaf_def *L = &leaves[it->leaf];
        /* Prices: log-normal around the leaf's base, with a rare luxury
         * tail; shop-style .99 endings. */
        double rel = 0.55 * rng_normal(&r) + (rng_double(&r) < 0.03 ? 1.6 : 0.0);
        double p = L->base_price * exp(rel);
        it->price = p < 1 ? 0.99 : floor(p) + 0.99;
        it->log_price_rel = rel;
        it->pop = (float)exp(1.5 * rng_normal(&r));
        for (int f = 0; f < 3; f++) it->style[f] = rng_normal(&r);
        if (rng_double(&r) < 0.15) {
            const char *noun = L->zh_nouns[rng_below(&r, 2)];
            rc = text_add(s, &it->title, "%s %s%s%s", brands[it->brand], PICK(&r, zh_adjectives),
                          PICK(&r, zh_colors), noun);
            if (!rc)
                rc = text_add(s, &it->desc, "%s材质的%s，%s，%s。", PICK(&r, zh_materials), noun,
                              PICK(&r, zh_features), PICK(&r, zh_features));
        } else {
            const char *noun = L->nouns[rng_below(&r, 3)];
            const char *mat = PICK(&r, materials);
            rc = text_add(s, &it->title, "%s %s %s %s", brands[it->brand], PICK(&r, adjectives), PICK(&r, colors),
                          noun);
            if (!rc)
                rc = text_add(s, &it->desc, "A %s %s made of %s: %s, %s. Part of our %s range.",
                              PICK(&r, adjectives), noun, mat, PICK(&r, features), PICK(&r, features), L->leaf);
        }
    }
    if (rc) return rc;
    for (uint32_t i = 0; i < s->n_items; i++) s->leaf_start[s->items[i].leaf + 1]++;
    for (uint32_t l = 0; l < N_LEAVES; l++) s->leaf_start[l + 1] += s->leaf_start[l];
    uint32_t fill[CORE_ARRAY_LEN(leaves)];
    memcpy(fill, s->leaf_start, sizeof fill);
    for (uint32_t i = 0; i < s->n_items; i++) s->leaf_items[fill[s->items[i].leaf]++] = i;
    return AISLE_OK;
}

static int add_event(demo_store *s, uint32_t u, uint32_t item, int type, int qty, int64_t t) {
    int rc = core_grow((void **)&s->events, &s->events_cap, s->n_events + 1, sizeof *s->events);
    if (rc) return rc;
    demo_event *e = &s->events[s->n_events];
    e->user = u, e->item = item, e->type = (uint8_t)type, e->qty = (uint8_t)qty, e->time = t;
    e->seq = (uint32_t)s->n_events++;
    return AISLE_OK;
}

static size_t pick_weighted(core_rng *r, const double *cum, size_t n) {
    double x = rng_double(r) * cum[n - 1];
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One shopper's whole history, from their latent taste. */
static int make_user(demo_store *s, uint32_t u, uint64_t seed, int64_t span, double *cum, int64_t *starts,
                     uint32_t *bought, size_t max_sessions) {
    core_rng r;
    rng_seed_stream(&r, seed, 1000 + (uint64_t)u);
    double taste[CORE_ARRAY_LEN(leaves)];
    for (uint32_t l = 0; l < N_LEAVES; l++) taste[l] = 0.02;
    int n_personas = 1 + (rng_double(&r) < 0.45);
    for (int k = 0; k < n_personas; k++) {
        const uint8_t *p = personas[rng_below(&r, N_PERSONAS)];
        double w = 0.5 + rng_double(&r);
        for (int j = 0; j < 4; j++) taste[p[j]] += w / (1 + j * 0.5);
    }
    double taste_cum[CORE_ARRAY_LEN(leaves)];
    for (uint32_t l = 0; l < N_LEAVES; l++) taste_cum[l] = taste[l] + (l ? taste_cum[l - 1] : 0);
    double price_pref = 0.4 * rng_normal(&r);
    float style[3];
    for (int f = 0; f < 3; f++) style[f] = rng_normal(&r);

    size_t n_sess = 1 + (size_t)exp(1.95 + 0.8 * rng_normal(&r));
    if (n_sess > max_sessions) n_sess = max_sessions;
    for (size_t k = 0; k < n_sess; k++) starts[k] = s->t0 + (int64_t)rng_below(&r, (uint64_t)span);
    qsort(starts, n_sess, sizeof *starts, cmp_i64);
    size_t n_bought = 0;
    int rc = AISLE_OK;
    for (size_t k = 0; !rc && k < n_sess; k++) {
        int64_t t = starts[k];
        /* Re-order of a consumable bought before. */
        if (n_bought && rng_double(&r) < 0.3) {
            uint32_t it = bought[rng_below(&r, n_bought)];
            rc = add_event(s, u, it, DEMO_VIEW, 1, t);
            if (!rc) rc = add_event(s, u, it, DEMO_CART, 1, t + 30);
            if (!rc) rc = add_event(s, u, it, DEMO_PURCHASE, 1 + (rng_double(&r) < 0.3), t + 90);
            continue;
        }
        uint32_t leaf = (uint32_t)(rng_double(&r) < 0.85 ? pick_weighted(&r, taste_cum, N_LEAVES)
                                                         : rng_below(&r, N_LEAVES));
        uint32_t b = s->leaf_start[leaf], e = s->leaf_start[leaf + 1];
        /* Choice weight: popularity x exp(affinity), where affinity is the
         * match of style vectors minus a price-level mismatch. */
        for (uint32_t j = b; j < e; j++) {
            const demo_item *it = &s->items[s->leaf_items[j]];
            double aff = 0.9 * (style[0] * it->style[0] + style[1] * it->style[1] + style[2] * it->style[2]) -
                         0.8 * (it->log_price_rel - price_pref) * (it->log_price_rel - price_pref);
            cum[j - b] = it->pop * exp(aff) + (j > b ? cum[j - b - 1] : 0);
        }
        size_t views = 1 + (size_t)(-log(1 - rng_double(&r)) * 3.5);
        for (size_t v = 0; !rc && v < views; v++) {
            uint32_t it = s->leaf_items[b + pick_weighted(&r, cum, e - b)];
            t += 20 + (int64_t)rng_below(&r, 160);
            rc = add_event(s, u, it, DEMO_VIEW, 1, t);
            if (rc || rng_double(&r) >= 0.12) continue;
            t += 10 + (int64_t)rng_below(&r, 60);
            rc = add_event(s, u, it, DEMO_CART, 1, t);
            if (rc || rng_double(&r) >= 0.55) continue;
            t += 60 + (int64_t)rng_below(&r, 540);
            rc = add_event(s, u, it, DEMO_PURCHASE, 1 + (rng_double(&r) < 0.1), t);
            if (!rc && leaves[leaf].consumable && n_bought < max_sessions) bought[n_bought++] = it;
        }
    }
    return rc;
}

static int cmp_event(const void *a, const void *b) {
    const demo_event *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static void order_id(char *out, size_t len, size_t purchase) { snprintf(out, len, "A%07zu", 1000000 + purchase); }

/* Replaces %s with the order id and %t with the title. */
static void fill_template(char *out, size_t len, const char *tpl, const char *order, const char *title) {
    size_t o = 0;
    for (const char *p = tpl; *p && o + 1 < len; p++) {
        const char *ins = NULL;
        if (p[0] == '%' && (p[1] == 's' || p[1] == 't')) ins = p[1] == 's' ? order : title, p++;
        if (ins) {
            for (; *ins && o + 1 < len; ins++) out[o++] = *ins;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static int make_messages(demo_store *s, uint64_t seed, size_t n) {
    size_t n_purchases = 0;
    for (size_t i = 0; i < s->n_events; i++) n_purchases += s->events[i].type == DEMO_PURCHASE;
    if (n == 0 || n_purchases == 0) return AISLE_OK;
    size_t *purchase = core_malloc(n_purchases * sizeof *purchase);
    s->msgs = core_calloc(n, sizeof *s->msgs);
    if (!purchase || !s->msgs) {
        core_free(purchase);
        return core_oom("demo messages");
    }
    for (size_t i = 0, k = 0; i < s->n_events; i++)
        if (s->events[i].type == DEMO_PURCHASE) purchase[k++] = i;
    core_rng r;
    rng_seed_stream(&r, seed, 2);
    double cum[N_INTENTS];
    for (uint32_t i = 0; i < N_INTENTS; i++) cum[i] = intent_weights[i] + (i ? cum[i - 1] : 0);
    int rc = AISLE_OK;
    for (size_t m = 0; !rc && m < n; m++) {
        size_t pk = (size_t)rng_below(&r, n_purchases);
        const demo_event *e = &s->events[purchase[pk]];
        uint32_t intent = (uint32_t)pick_weighted(&r, cum, N_INTENTS);
        char order[16], text[512];
        order_id(order, sizeof order, pk);
        const char *tpl = rng_double(&r) < 0.2 ? msg_zh[intent] : msg_en[intent][rng_below(&r, 2)];
        fill_template(text, sizeof text, tpl, order, store_text(s, s->items[e->item].title));
        demo_msg *g = &s->msgs[m];
        g->user = e->user;
        g->intent = intent;
        g->time = e->time + 3600 + (int64_t)rng_below(&r, 5 * 86400);
        rc = text_add(s, &g->text, "%s", text);
        s->n_msgs = m + 1;
    }
    core_free(purchase);
    return rc;
}

/* Draws the store; with_events = 0 stops after the catalogue (whose draws
 * come from their own stream, so it is the same either way). */
static int generate(const aisle_config *cfg, demo_store *s, int with_events) {
    memset(s, 0, sizeof *s);
    buf_init(&s->text);
    int rc = config_check(cfg, demo_options, "the demo store");
    if (rc) return rc;
    uint64_t seed = (uint64_t)config_int(cfg, NULL, "seed");
    s->n_users = (uint32_t)config_int(cfg, demo_options, "demo_users");
    s->n_items = (uint32_t)config_int(cfg, demo_options, "demo_items");
    int64_t span = config_int(cfg, demo_options, "demo_days") * 86400;
    s->t0 = 1767225600; /* 2026-01-01T00:00:00Z */
    rc = make_catalog(s, seed);
    if (rc || !with_events) return rc;
    enum { MAX_SESSIONS = 400 };
    double *cum = core_malloc(s->n_items * sizeof *cum);
    int64_t *starts = core_malloc(MAX_SESSIONS * sizeof *starts);
    uint32_t *bought = core_malloc(MAX_SESSIONS * sizeof *bought);
    if (!cum || !starts || !bought) rc = core_oom("demo shoppers");
    for (uint32_t u = 0; !rc && u < s->n_users; u++)
        rc = make_user(s, u, seed, span, cum, starts, bought, MAX_SESSIONS);
    core_free(cum);
    core_free(starts);
    core_free(bought);
    if (rc) return rc;
    qsort(s->events, s->n_events, sizeof *s->events, cmp_event);
    return make_messages(s, seed, (size_t)config_int(cfg, demo_options, "demo_messages"));
}

static void user_key(char *out, size_t len, uint32_t u) { snprintf(out, len, "C%05u", 10000 + u); }
static void item_key(char *out, size_t len, uint32_t i) { snprintf(out, len, "P%05u", i + 1); }

static int to_dataset(const demo_store *s, aisle_dataset **out) {
    aisle_dataset *ds;
    int rc = aisle_dataset_new(&ds);
    if (rc) return rc;
    char u[16], it[16];
    for (size_t i = 0; !rc && i < s->n_events; i++) {
        const demo_event *e = &s->events[i];
        user_key(u, sizeof u, e->user);
        item_key(it, sizeof it, e->item);
        rc = aisle_dataset_add_event(ds, u, it, event_names[e->type], e->qty, e->time);
    }
    if (rc) {
        aisle_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return AISLE_OK;
}

static void category_path(char *out, size_t len, const demo_item *it) {
    snprintf(out, len, "%s > %s", leaves[it->leaf].top, leaves[it->leaf].leaf);
}

static int to_catalog(const demo_store *s, aisle_catalog **out) {
    aisle_catalog *cat;
    int rc = aisle_catalog_new(&cat);
    if (rc) return rc;
    char key[16], path[128];
    for (uint32_t i = 0; !rc && i < s->n_items; i++) {
        const demo_item *it = &s->items[i];
        item_key(key, sizeof key, i);
        category_path(path, sizeof path, it);
        rc = aisle_catalog_add_item(cat, key, store_text(s, it->title), store_text(s, it->desc), path,
                                    brands[it->brand], it->price);
    }
    if (rc) {
        aisle_catalog_free(cat);
        return rc;
    }
    *out = cat;
    return AISLE_OK;
}

AISLE_API int aisle_demo_generate(const aisle_config *cfg, aisle_dataset **events) {
    if (!events) return core_error(AISLE_EINVAL, "aisle_demo_generate: events is NULL");
    demo_store s;
    int rc = generate(cfg, &s, 1);
    if (!rc) rc = to_dataset(&s, events);
    store_free(&s);
    return rc;
}

AISLE_API int aisle_demo_catalog(const aisle_config *cfg, aisle_catalog **catalog) {
    if (!catalog) return core_error(AISLE_EINVAL, "aisle_demo_catalog: catalog is NULL");
    demo_store s;
    int rc = generate(cfg, &s, 0);
    if (!rc) rc = to_catalog(&s, catalog);
    store_free(&s);
    return rc;
}

/* ---- CSV files ---- */

/* Writes one RFC 4180 field: quoted when it holds a comma, quote or line
 * break, with quotes doubled. */
static void csv_field(FILE *f, const char *v, int last) {
    if (strpbrk(v, ",\"\r\n")) {
        fputc('"', f);
        for (const char *p = v; *p; p++) {
            if (*p == '"') fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    } else {
        fputs(v, f);
    }
    fputc(last ? '\n' : ',', f);
}

static int write_file(const char *dir, const char *name, const demo_store *s, int which) {
    char path[4096];
    char tmp[4096 + 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    /* Written beside the target and renamed over it, so a failed or killed
     * run never leaves a half-written CSV where a good one was. */
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return core_io_error(path, "create a temporary file beside");
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return core_io_error(path, "open for writing");
    }
    char a[32], b[32];
    if (which == 0) {
        fputs("user_id,item_id,event,quantity,timestamp\n", f);
        for (size_t i = 0; i < s->n_events; i++) {
            const demo_event *e = &s->events[i];
            user_key(a, sizeof a, e->user);
            item_key(b, sizeof b, e->item);
            fprintf(f, "%s,%s,%s,%u,%lld\n", a, b, event_names[e->type], e->qty, (long long)e->time);
        }
    } else if (which == 1) {
        fputs("item_id,title,description,category,brand,price\n", f);
        for (uint32_t i = 0; i < s->n_items; i++) {
            const demo_item *it = &s->items[i];
            char cat[128];
            item_key(a, sizeof a, i);
            category_path(cat, sizeof cat, it);
            csv_field(f, a, 0);
            csv_field(f, store_text(s, it->title), 0);
            csv_field(f, store_text(s, it->desc), 0);
            csv_field(f, cat, 0);
            csv_field(f, brands[it->brand], 0);
            fprintf(f, "%.2f\n", it->price);
        }
    } else {
        fputs("message_id,user_id,timestamp,intent,text\n", f);
        for (size_t m = 0; m < s->n_msgs; m++) {
            const demo_msg *g = &s->msgs[m];
            user_key(a, sizeof a, g->user);
            fprintf(f, "M%06zu,%s,%lld,%s,", m + 1, a, (long long)g->time, intents[g->intent]);
            csv_field(f, store_text(s, g->text), 1);
        }
    }
    int bad = ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0;
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return core_io_error(path, "write");
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return core_io_error(path, "rename temporary file over it");
    }
    return AISLE_OK;
}

AISLE_API int aisle_demo_write(const aisle_config *cfg, const char *dir) {
    if (!dir || !dir[0]) return core_error(AISLE_EINVAL, "aisle_demo_write: directory is NULL or empty");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return core_io_error(dir, "create directory");
    demo_store s;
    int rc = generate(cfg, &s, 1);
    if (!rc) rc = write_file(dir, "events.csv", &s, 0);
    if (!rc) rc = write_file(dir, "catalog.csv", &s, 1);
    if (!rc) rc = write_file(dir, "messages.csv", &s, 2);
    store_free(&s);
    return rc;
}
