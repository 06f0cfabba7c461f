#!/bin/sh
# The Go binding used from a module OUTSIDE the checkout, as docs/BINDINGS.md
# ("Go from your own module") describes: a go.mod that requires the module
# path github.com/aisle-project/aisle/bindings/go and points it at this
# checkout with a replace directive; cgo finds the library through
# build/pkgconfig/aisle.pc (written by the plain `make`), whose rpath lets
# the program run without LD_LIBRARY_PATH.  Nothing is downloaded.
set -eu
top=$(pwd)
go=${GO:-go}
app=$(mktemp -d /tmp/aisle-go-outside.XXXXXX)
trap 'rm -rf "$app"' EXIT
cat > "$app/go.mod" <<MOD
module example.com/shop

go 1.18

require github.com/aisle-project/aisle/bindings/go v0.0.0

replace github.com/aisle-project/aisle/bindings/go => $top/bindings/go
MOD
cat > "$app/main.go" <<'GO'
package main

import (
	"fmt"
	"log"

	aisle "github.com/aisle-project/aisle/bindings/go"
)

func main() {
	demo, err := aisle.NewConfig(aisle.Options{"demo_users": 200, "demo_items": 50, "seed": 3})
	if err != nil {
		log.Fatal(err)
	}
	defer demo.Close()
	events, err := aisle.DemoDataset(demo)
	if err != nil {
		log.Fatal(err)
	}
	defer events.Close()
	cfg, err := aisle.NewConfig(aisle.Options{"model": "popular"})
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()
	model, err := aisle.Train(events, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	recs, err := model.Recommend("C10000", 3, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("outside module: %d recommendations\n", len(recs))
}
GO
out=$(cd "$app" && env -u LD_LIBRARY_PATH PKG_CONFIG_PATH="$top/build/pkgconfig" GOCACHE="$top/build/gocache" \
    GOPATH="$top/build/gopath" GOFLAGS=-mod=mod GOPROXY=off "$go" run . 2>&1) || {
    echo "$out" >&2; echo "go-outside-test: the module outside the checkout did not build and run" >&2; exit 1; }
echo "$out" | grep -q "outside module: 3 recommendations" || { echo "$out" >&2; exit 1; }
echo "go-outside-test: 1 passed, 0 failed ($app, replace => $top/bindings/go)"
