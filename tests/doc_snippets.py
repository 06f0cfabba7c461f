#!/usr/bin/env python3
"""Runs every fenced code block of a Markdown file as printed (README.md,
docs/TUTORIAL.md), so the documentation cannot drift from the code.

    python3 tests/doc_snippets.py README.md [--list]

Blocks run in order in one scratch directory, which holds:
  - OnlineRetail.csv.gz: a sample of the shared UCI Online Retail export
    (its header and every AISLE_SNIPPET_EVERY-th row, 10 by default: about
    54,000 order lines over the whole year, so time splits such as the
    last 30 days work), so the snippets that read "a real shop export"
    read one, in seconds;
  - links to the checkout's top-level entries (bin, lib, include, examples,
    bindings, build, Makefile, ...), so `bin/aisle ...` and `make` work
    as printed.
Languages: sh (bash -e; `pip` installs into a scratch --target through
PIP_TARGET; python3 is the system python with NumPy), c / cpp (compiled
against include/ and lib/ with an rpath, then run), python (the system
python, the checkout's binding), go (a complete program, in a module
that points the binding at the checkout with a `replace` directive).
A block preceded by an HTML comment `<!-- not run: REASON -->` is listed
as skipped with its reason.  Without the shared export every block is
skipped with one clear message (set AISLE_SHARED_DATA).  Go blocks are
skipped, saying so, under AISLE_SKIP_GO=1.  Exit status 1 names the file,
the line of the failing block and its output."""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVERY = max(1, int(os.environ.get("AISLE_SNIPPET_EVERY", "10")))
SYSTEM_PYTHON = os.environ.get("NUMPY_PYTHON", "/usr/bin/python3")


def shared_export():
    roots = [os.environ.get("AISLE_SHARED_DATA"), os.path.join(TOP, "..", "shared", "data"),
             os.path.join(TOP, "..", "..", "shared", "data")]
    for r in roots:
        if r:
            p = os.path.join(r, "online-retail", "OnlineRetail.csv.gz")
            if os.path.exists(p):
                return os.path.abspath(p)
    return None


def blocks(path):
    """(line, language, text, skip reason or None) of each fenced block."""
    out = []
    lines = open(path, encoding="utf-8").read().split("\n")
    i, skip = 0, None
    while i < len(lines):
        m = re.match(r"^<!--\s*not run:\s*(.*?)\s*-->\s*$", lines[i])
        if m:
            skip = m.group(1)
            i += 1
            continue
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            start, lang = i + 1, m.group(1)
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append((start, lang or "text", "\n".join(lines[i + 1:j]) + "\n", skip))
            skip = None
            i = j + 1
            continue
        if lines[i].strip():
            skip = None  # a comment applies to the next block only
        i += 1
    return out


def make_sample(src, dst, every):
    """The header and every `every`-th row of src (rows are single lines in
    this export: no quoted line breaks)."""
    with gzip.open(src, "rb") as f, gzip.open(dst, "wb", compresslevel=1) as g:
        for n, line in enumerate(f):
            if n == 0 or n % every == 0:
                g.write(line)


def run(cmd, cwd, env, timeout=600):
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    doc = os.path.join(TOP, args[0] if args else "README.md")
    rel = os.path.relpath(doc, TOP)
    found = blocks(doc)
    runnable = [b for b in found if b[1] in ("sh", "c", "cpp", "python", "go")]
    if "--list" in sys.argv:
        for line, lang, text, skip in runnable:
            print("%s:%d %s%s" % (rel, line, lang, " (not run: %s)" % skip if skip else ""))
        return 0
    export = shared_export()
    if export is None:
        print("doc-snippets: %s: skipped: the shared Online Retail export is not present "
              "(set AISLE_SHARED_DATA to the folder holding online-retail/OnlineRetail.csv.gz)" % rel)
        return 0
    work = tempfile.mkdtemp(prefix="aisle-doc-snippets.")
    try:
        for name in os.listdir(TOP):
            if name.startswith(".") or name == "tests":
                continue
            os.symlink(os.path.join(TOP, name), os.path.join(work, name))
        make_sample(export, os.path.join(work, "OnlineRetail.csv.gz"), EVERY)
        tools = os.path.join(work, ".tools")
        os.mkdir(tools)
        with open(os.path.join(tools, "pip"), "w") as f:
            f.write('#!/bin/sh\nexec "%s" -m pip "$@"\n' % SYSTEM_PYTHON)
        os.symlink(SYSTEM_PYTHON, os.path.join(tools, "python3"))
        os.chmod(os.path.join(tools, "pip"), 0o755)
        site = os.path.join(work, ".site")
        env = dict(os.environ)
        env.update(PATH=tools + os.pathsep + env.get("PATH", ""), PIP_TARGET=site, PIP_NO_INDEX="1",
                   PIP_NO_CACHE_DIR="1", PYTHONPATH=site + os.pathsep + os.path.join(TOP, "bindings", "python"),
                   AISLE_LIBRARY=os.path.join(TOP, "lib", "libaisle.so.1"),
                   GOCACHE=os.path.join(TOP, "build", "gocache"), GOPATH=os.path.join(TOP, "build", "gopath"),
                   GOFLAGS="-mod=mod", GOPROXY="off")
        env.pop("LD_LIBRARY_PATH", None)
        ran = skipped = 0
        for line, lang, text, skip in runnable:
            where = "%s:%d (%s)" % (rel, line, lang)
            if skip:
                print("doc-snippets: %s not run: %s" % (where, skip))
                skipped += 1
                continue
            if lang == "go" and os.environ.get("AISLE_SKIP_GO") == "1":
                print("doc-snippets: %s not run: AISLE_SKIP_GO=1" % where)
                skipped += 1
                continue
            rc, out = run_block(lang, text, work, env, line)
            if rc != 0:
                print("doc-snippets: %s FAILED (exit %d):\n%s\n--- block ---\n%s" % (where, rc, out, text))
                return 1
            ran += 1
            print("doc-snippets: %s ok" % where)
        print("doc-snippets: %s: %d blocks ran as printed, %d not run (reasons above)" % (rel, ran, skipped))
        return 0
    finally:
        subprocess.run(["chmod", "-R", "u+w", work])
        shutil.rmtree(work, ignore_errors=True)
        # what `pip install ./bindings/python` may leave in the source tree
        for leftover in ("build", "aisle.egg-info"):
            shutil.rmtree(os.path.join(TOP, "bindings", "python", leftover), ignore_errors=True)


def run_block(lang, text, work, env, line):
    if lang == "sh":
        return run(["bash", "-e", "-c", text], work, env)
    if lang == "python":
        return run([SYSTEM_PYTHON, "-c", text], work, env)
    if lang in ("c", "cpp"):
        src = os.path.join(work, "snippet%d.%s" % (line, lang))
        exe = os.path.join(work, "snippet%d" % line)
        with open(src, "w") as f:
            f.write(text)
        compiler = [os.environ.get("CC", "cc"), "-std=c11"] if lang == "c" else [os.environ.get("CXX", "c++")]
        rc, out = run(compiler + ["-Wall", "-Wextra", "-Werror", "-o", exe, src, "-I" + os.path.join(TOP, "include"),
                                  "-L" + os.path.join(TOP, "lib"), "-Wl,-rpath," + os.path.join(TOP, "lib"),
                                  "-laisle"], work, env)
        if rc != 0:
            return rc, out
        return run([exe], work, env)
    if lang == "go":
        mod = os.path.join(work, "gosnippet%d" % line)
        os.mkdir(mod)
        with open(os.path.join(mod, "go.mod"), "w") as f:
            f.write("module example.com/snippet\n\ngo 1.18\n\nrequire github.com/aisle-project/aisle/bindings/go "
                    "v0.0.0\n\nreplace github.com/aisle-project/aisle/bindings/go => %s\n"
                    % os.path.join(TOP, "bindings", "go"))
        with open(os.path.join(mod, "main.go"), "w") as f:
            f.write(text)
        genv = dict(env, PKG_CONFIG_PATH=os.path.join(TOP, "build", "pkgconfig"))
        rc, out = run(["go", "build", "-o", os.path.join(mod, "prog"), "."], mod, genv)
        if rc != 0:
            return rc, out
        return run([os.path.join(mod, "prog")], work, env)
    return 0, ""


if __name__ == "__main__":
    sys.exit(main())
