#!/usr/bin/env python3
"""PyTorch side of bench_bert: loads DIR/model.safetensors (read directly:
8-byte header length, JSON header, raw little-endian F32 data) and times
BERT's fp32 forward (tests/bert/bert_ref.py's math, in float32, batched,
torch.inference_mode) on the token ids in DIR/ids.txt with THREADS intra-op
threads.  Prints texts per second of wall time and per second of the
process's CPU time (all threads).

THREADS bounds every pool torch has: the OpenMP/MKL/OpenBLAS thread counts
are set in the environment before torch is imported (they are read once,
at load), then torch.set_num_threads (intra-op) and
set_num_interop_threads (inter-op); otherwise a "1 thread" run used about
2 CPUs (the lead's 19:46 run: 3.70 texts/s wall, 1.86 per CPU-second).

  bert_torch.py DIR THREADS"""
import json, os, struct, sys, time

if __name__ == "__main__" and len(sys.argv) > 2:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = sys.argv[2]

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "bert"))
from bert_ref import forward  # noqa: E402

def main():
    d, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        data = f.read()
    hl = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + hl])
    base = 8 + hl
    w = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        b, e = t["data_offsets"]
        w[name] = torch.frombuffer(bytearray(data[base + b:base + e]), dtype=torch.float32).reshape(t["shape"])
    cfg = json.load(open(os.path.join(d, "config.json")))
    ids = [list(map(int, l.split())) for l in open(os.path.join(d, "ids.txt"))]
    types = [[0] * len(x) for x in ids]
    with torch.inference_mode():
        forward(cfg, w, "bert.", ids[:1], types[:1], True, True, dtype=torch.float32)  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        forward(cfg, w, "bert.", ids, types, True, True, dtype=torch.float32)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print("%.4f %.4f" % (len(ids) / dt, len(ids) / dc))

if __name__ == "__main__":
    main()
