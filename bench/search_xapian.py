#!/usr/bin/python3
"""Xapian peer for bench_search: indexes the same products and runs the same
queries, one thread, writing each query's top-100 product keys and the
timings.  Usage: search_xapian.py DOCS.tsv QUERIES.txt OUT_DIR

DOCS.tsv: key<TAB>text per line.  QUERIES.txt: one query per line.
Writes OUT_DIR/results.txt (one line per query: keys separated by spaces) and
prints one line: build_s index_bytes qps p99_ms.
Exits 3 when the xapian module is missing (the bench then skips it)."""
import os
import sys
import time

try:
    import xapian
except ImportError:
    sys.exit(3)


def main():
    docs_path, queries_path, out_dir = sys.argv[1:4]
    db_dir = os.path.join(out_dir, "xapian.db")
    t0 = time.perf_counter()
    db = xapian.WritableDatabase(db_dir, xapian.DB_CREATE_OR_OVERWRITE)
    tg = xapian.TermGenerator()
    with open(docs_path, encoding="utf-8") as f:
        for line in f:
            key, _, text = line.rstrip("\n").partition("\t")
            doc = xapian.Document()
            tg.set_document(doc)
            tg.index_text(text)
            doc.set_data(key)
            db.add_document(doc)
    db.commit()
    build_s = time.perf_counter() - t0
    index_bytes = sum(os.path.getsize(os.path.join(db_dir, n)) for n in os.listdir(db_dir))
    qp = xapian.QueryParser()
    qp.set_database(db)
    qp.set_default_op(xapian.Query.OP_OR)  # Xapian's default: ranked OR, BM25
    enquire = xapian.Enquire(db)
    with open(queries_path, encoding="utf-8") as f:
        queries = [line.rstrip("\n") for line in f]
    times = []
    out = []
    for q in queries:
        t = time.perf_counter()
        query = qp.parse_query(q, 0)
        enquire.set_query(query)
        mset = enquire.get_mset(0, 100)
        keys = [m.document.get_data().decode() for m in mset]
        times.append(time.perf_counter() - t)
        out.append(" ".join(keys))
    with open(os.path.join(out_dir, "results.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    times.sort()
    total = sum(times)
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))] if times else 0.0
    print("%.4f %d %.1f %.4f" % (build_s, index_bytes, len(times) / total if total else 0.0, p99 * 1e3))


if __name__ == "__main__":
    main()
