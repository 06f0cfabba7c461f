#!/bin/sh
# Tests scripts/lint_layers.sh on small fake trees: a clean one passes, and
# each kind of violation fails and is named.  Keeps the linter from passing
# silently (e.g. after a change that makes it match nothing).
set -eu
lint="$(pwd)/scripts/lint_layers.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# tree NAME: a clean tree; later lines of the case add one violation.
tree() {
    t="$tmp/$1"
    mkdir -p "$t/src/core" "$t/src/models" "$t/src/api" "$t/src/cli" "$t/bench" "$t/examples"
    printf '#include "core.h"\n' > "$t/src/core/options.c"
    printf '#include "core/core.h"\n#include "io/io.h"\n#include "models.h"\n' > "$t/src/models/model.c"
    printf '#include "models/models.h"\n#include "api.h"\n' > "$t/src/api/options.c"
    printf '#include "aisle.h"\n' > "$t/src/cli/cli.h"
    printf '#include "cli.h"\n' > "$t/src/cli/main.c"
    printf '#include "aisle.h"\n#include <stdio.h>\n' > "$t/bench/bench_x.c"
    printf '#include "aisle.h"\n' > "$t/examples/hello.c"
    echo "$t"
}

expect() { # expect pass|fail NAME [message fragment]
    want=$1 name=$2 frag=${3:-}
    if out=$("$lint" "$tmp/$name" 2>&1); then got=pass; else got=fail; fi
    if [ "$got" != "$want" ]; then
        echo "lint_layers_test: $name: expected $want, got $got:"; echo "$out"; failures=$((failures + 1))
    elif [ -n "$frag" ] && ! printf '%s\n' "$out" | grep -qF -- "$frag"; then
        echo "lint_layers_test: $name: message lacks '$frag':"; echo "$out"; failures=$((failures + 1))
    else
        echo "lint_layers_test: $name: $got as expected"
    fi
}

tree clean >/dev/null
expect pass clean

t=$(tree core_up)
printf '#include "models/models.h"\n' >> "$t/src/core/options.c"
expect fail core_up 'src/core/options.c:2: src/core includes "models/models.h" from the layer above it'

t=$(tree models_up_to_api)
printf '  #  include "api/api.h"\n' >> "$t/src/models/model.c"
expect fail models_up_to_api 'src/models/model.c:4'

t=$(tree cli_internal)
printf '#include "core/core.h"\n' >> "$t/src/cli/main.c"
expect fail cli_internal 'a face includes "core/core.h"'

t=$(tree bench_internal)
printf '#include "models/models.h"\n' >> "$t/bench/bench_x.c"
expect fail bench_internal 'bench/bench_x.c:3'

t=$(tree example_internal)
printf '#include "util.h"\n' >> "$t/examples/hello.c"
expect fail example_internal 'examples/hello.c:2'

t=$(tree unknown_module)
mkdir -p "$t/src/shiny"
printf '#include "core/core.h"\n' > "$t/src/shiny/index.c"
expect fail unknown_module 'module src/shiny has no layer'

t=$(tree dotdot)
printf '#include "../api/api.h"\n' >> "$t/src/models/model.c"
expect fail dotdot 'not ..'

if [ "$failures" -ne 0 ]; then echo "lint_layers_test: $failures case(s) failed"; exit 1; fi
echo "lint_layers_test: all cases passed"
