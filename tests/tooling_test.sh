#!/bin/sh
# The build and test tooling a new user meets first (issue 14):
#  1. `make deps` passes apt-get DPkg::Lock::Timeout (update and install) and
#     retries `update` while another apt holds the lists lock (a fake
#     apt-get stands in for the real one: nothing is installed);
#  2. `make deps` asks for what `make test` runs: golang-go, python3,
#     NumPy/SciPy, pip/setuptools/wheel;
#  3. the plain build wrote build/pkgconfig/aisle.pc, with an rpath to lib/;
#  4. a binding suite that cannot run fails `make test-bindings` with a hint,
#     unless skipped explicitly (AISLE_SKIP_GO=1, AISLE_SKIP_PYTHON=1).
set -eu
top=$(pwd)
tmp="$top/build/tooling-test"
rm -rf "$tmp"
mkdir -p "$tmp"
pass=0
fail() { echo "tooling-test: $*" >&2; exit 1; }

# 1. a fake apt-get: logs its arguments; `update` fails twice (lock held)
cat > "$tmp/apt-get" <<'SH'
#!/bin/sh
echo "$*" >> "$FAKE_APT_LOG"
case " $* " in
*" update "*)
    n=$(cat "$FAKE_APT_STATE" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_APT_STATE"
    if [ "$n" -lt 2 ]; then echo "E: Could not get lock /var/lib/apt/lists/lock" >&2; exit 100; fi ;;
esac
exit 0
SH
chmod +x "$tmp/apt-get"
# `sleep` is shortened so the retries take no time
mkdir -p "$tmp/bin"
printf '#!/bin/sh\nexit 0\n' > "$tmp/bin/sleep"
chmod +x "$tmp/bin/sleep"
FAKE_APT_LOG="$tmp/apt.log" FAKE_APT_STATE="$tmp/apt.state" PATH="$tmp/bin:$PATH" \
    make --no-print-directory -s deps APT_GET="$tmp/apt-get" APT_LOCK_TIMEOUT=77 \
    EXTRA_DEB_PKGS=aisle-tooling-test-no-such-package > "$tmp/deps.out" 2>&1 || {
    cat "$tmp/deps.out" >&2; fail "make deps failed with a lock held twice"; }
[ "$(grep -c ' update' "$tmp/apt.log")" = 3 ] || fail "apt-get update was not retried while locked: $(cat "$tmp/apt.log")"
grep ' update' "$tmp/apt.log" | grep -qv 'DPkg::Lock::Timeout=77' && fail "apt-get update without DPkg::Lock::Timeout"
grep ' install ' "$tmp/apt.log" | grep -q 'DPkg::Lock::Timeout=77' || fail "apt-get install without DPkg::Lock::Timeout"
grep ' install ' "$tmp/apt.log" | grep -q 'aisle-tooling-test-no-such-package' || fail "missing package not installed"
pass=$((pass + 1))

# 2. what `make deps` installs covers what `make test` runs
pkgs=$(make --no-print-directory -s -p -n deps 2>/dev/null | sed -n 's/^DEB_PKGS := //p')
for p in golang-go python3 python3-numpy python3-scipy python3-pip python3-setuptools python3-wheel; do
    case " $pkgs " in *" $p "*) ;; *) fail "make deps does not install $p (DEB_PKGS: $pkgs)" ;; esac
done
pass=$((pass + 1))

# 3. the plain build's pkg-config file
[ -f build/pkgconfig/aisle.pc ] || fail "build/pkgconfig/aisle.pc missing after make"
PKG_CONFIG_PATH="$top/build/pkgconfig" pkg-config --libs aisle | grep -q -- "-Wl,-rpath,$top/lib" ||
    fail "build/pkgconfig/aisle.pc has no rpath to $top/lib"
pass=$((pass + 1))

# 4. a suite that cannot run fails, with the hint; skipping is explicit
if make --no-print-directory -s test-bindings GO=/nonexistent/go AISLE_SKIP_PYTHON=1 > "$tmp/go.out" 2>&1; then
    fail "test-bindings passed although go is missing"
fi
grep -q "AISLE_SKIP_GO=1" "$tmp/go.out" || fail "no hint about AISLE_SKIP_GO: $(cat "$tmp/go.out")"
make --no-print-directory -s test-bindings GO=/nonexistent/go AISLE_SKIP_PYTHON=1 AISLE_SKIP_GO=1 > "$tmp/skip.out" 2>&1 ||
    fail "test-bindings failed although both suites were skipped: $(cat "$tmp/skip.out")"
grep -q "go binding tests skipped (AISLE_SKIP_GO=1)" "$tmp/skip.out" || fail "the skip is not reported"
if make --no-print-directory -s test-bindings PYTHON=/nonexistent/python3 AISLE_SKIP_GO=1 > "$tmp/py.out" 2>&1; then
    fail "test-bindings passed although python3 is missing"
fi
grep -q "AISLE_SKIP_PYTHON=1" "$tmp/py.out" || fail "no hint about AISLE_SKIP_PYTHON: $(cat "$tmp/py.out")"
pass=$((pass + 1))
rm -rf "$tmp"
echo "tooling-test: $pass passed, 0 failed"
