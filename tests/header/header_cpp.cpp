// Compiled as C++11 with -pedantic -Werror: the public header must work from C++.
#include <aisle.h>

int header_cpp_uses();
int header_cpp_uses() {
    aisle_config *cfg = nullptr;
    if (aisle_config_new(&cfg) != AISLE_OK) return 1;
    aisle_config_free(cfg);
    return aisle_strerror(AISLE_EINVAL) != nullptr ? 0 : 1;
}
