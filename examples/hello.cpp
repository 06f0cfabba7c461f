/* hello.cpp - aisle from C++ against an installed prefix, found at run time
 * through the rpath the link line records (no LD_LIBRARY_PATH, no ldconfig):
 *   c++ hello.cpp $(pkg-config --cflags --libs aisle) \
 *       -Wl,-rpath,$(pkg-config --variable=libdir aisle) && ./a.out */
#include <aisle.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {
// The C handles, owned by unique_ptr with their NULL-safe _free functions.
using dataset_ptr = std::unique_ptr<aisle_dataset, decltype(&aisle_dataset_free)>;
using config_ptr = std::unique_ptr<aisle_config, decltype(&aisle_config_free)>;
using model_ptr = std::unique_ptr<aisle_model, decltype(&aisle_model_free)>;

int fail(int rc) {
    std::fprintf(stderr, "error: %s: %s\n", aisle_strerror(rc), aisle_last_error());
    return 1;
}
}  // namespace

int main() {
    aisle_dataset *d = nullptr;
    aisle_config *c = nullptr;
    if (int rc = aisle_dataset_new(&d)) return fail(rc);
    dataset_ptr ds(d, aisle_dataset_free);
    if (int rc = aisle_config_new(&c)) return fail(rc);
    config_ptr cfg(c, aisle_config_free);
    const std::vector<std::pair<std::string, std::string>> events = {
        {"alice", "mug"}, {"alice", "tea"}, {"bob", "mug"}, {"bob", "kettle"}, {"carol", "tea"}};
    for (const auto &e : events)
        if (int rc = aisle_dataset_add_event(ds.get(), e.first.c_str(), e.second.c_str(), "purchase", 1.0, 0))
            return fail(rc);
    if (int rc = aisle_config_parse(cfg.get(), "model=itemknn threads=1")) return fail(rc);
    aisle_model *m = nullptr;
    if (int rc = aisle_model_train(ds.get(), cfg.get(), &m)) return fail(rc);
    model_ptr model(m, aisle_model_free);
    const char *items[3];
    float scores[3];
    size_t n = 0;
    if (int rc = aisle_recommend(model.get(), "carol", 3, nullptr, items, scores, &n)) return fail(rc);
    std::printf("aisle %s from C++: %zu recommendation(s) for carol", aisle_version(), n);
    for (size_t i = 0; i < n; i++) std::printf(" %s", items[i]);
    std::printf("\n");
    return 0;
}
