/* hello.c - the smallest program against an installed aisle:
 *   cc hello.c $(pkg-config --cflags --libs aisle) && ./a.out */
#include <aisle.h>
#include <stdio.h>

int main(void) {
    aisle_dataset *ds = NULL;
    aisle_config *cfg = NULL;
    aisle_model *model = NULL;
    int rc = aisle_dataset_new(&ds);
    const char *users[] = {"alice", "bob", "carol", "dave"};
    const char *items[] = {"mug", "tea", "kettle", "mug"};
    for (int i = 0; rc == AISLE_OK && i < 4; i++)
        rc = aisle_dataset_add_event(ds, users[i], items[i], "purchase", 1.0, 1700000000 + i);
    if (rc == AISLE_OK) rc = aisle_config_new(&cfg);
    if (rc == AISLE_OK) rc = aisle_config_parse(cfg, "model=popular threads=1");
    if (rc == AISLE_OK) rc = aisle_model_train(ds, cfg, &model);
    if (rc == AISLE_OK) {
        const char *kind = NULL;
        aisle_model_kind(model, &kind);
        printf("aisle %s: trained a '%s' model\n", aisle_version(), kind);
    } else {
        fprintf(stderr, "error: %s: %s\n", aisle_strerror(rc), aisle_last_error());
    }
    aisle_model_free(model);
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return rc == AISLE_OK ? 0 : 1;
}
