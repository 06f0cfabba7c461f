#!/bin/sh
# make test-storefront: the browser test and malformed requests against the
# ASan+UBSan build, then the load test (ab: 10,000 requests, 8 concurrent)
# against the release build.  Each server starts on a free loopback port
# (--listen 127.0.0.1:0) and must stop cleanly on SIGTERM / SIGINT (exit 0,
# no sanitizer report).  Screenshots and logs: build/storefront/.
set -eu
out=${SF_OUT:-build/storefront}  # binaries, node_modules, screenshots, logs
demo="demo_users=1500 demo_items=600 demo_messages=1200"
pid=""
cleanup() { [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

start() { # start BINARY NAME: sets $pid and $url
    rm -f "$out/$2.out" "$out/$2.err"
    "$1" --listen 127.0.0.1:0 --demo "$demo" --quiet >"$out/$2.out" 2>"$out/$2.err" &
    pid=$!
    i=0
    until grep -q 'listening on' "$out/$2.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "test-storefront: $2 did not start:" >&2; cat "$out/$2.err" >&2; exit 1
        fi
        sleep 0.2
    done
    url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$out/$2.out")
    echo "== $2 server at $url ($(grep -c . "$out/$2.err") log lines)"
}

stop() { # stop NAME SIGNAL: then the exit status must be 0 and the log clean
    kill -"$2" "$pid"
    rc=0; wait "$pid" || rc=$?
    pid=""
    if [ $rc -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$out/$1.err"; then
        echo "test-storefront: $1 server did not stop cleanly (exit $rc):" >&2; tail -40 "$out/$1.err" >&2; exit 1
    fi
    grep -q "SIG$2 received, stopping" "$out/$1.err" || { echo "test-storefront: $1 did not report SIG$2" >&2; exit 1; }
    echo "  ok  $1 server stopped cleanly on SIG$2 (exit 0, no sanitizer report)"
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
start "$out/storefront-asan" asan
node examples/storefront/test/e2e.mjs "$url" "$out"
node examples/storefront/test/malformed.mjs "$url"
stop asan TERM

start "$out/storefront" release
command -v ab >/dev/null || { echo "test-storefront: ab missing (apt-get install apache2-utils)" >&2; exit 1; }
ab -q -n 10000 -c 8 "${url}api/recommend?user=C10003&k=10" >"$out/ab.txt" 2>&1 || { cat "$out/ab.txt"; exit 1; }
failed=$(sed -n 's/^Failed requests: *//p' "$out/ab.txt")
non2xx=$(sed -n 's/^Non-2xx responses: *//p' "$out/ab.txt")
rps=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$out/ab.txt")
p99=$(sed -n 's/^ *99% *\([0-9]*\).*/\1/p' "$out/ab.txt")
echo "load: /api/recommend, 10000 requests, 8 concurrent: $rps requests/s, p99 $p99 ms, failed ${failed:-?}, non-2xx ${non2xx:-0} (load $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$failed" = 0 ] && [ -z "$non2xx" ] || { echo "test-storefront: the load test had errors" >&2; exit 1; }
stop release INT
echo "test-storefront: passed (screenshots in $out/)"
