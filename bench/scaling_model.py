#!/usr/bin/env python3
"""scaling_model.py - docs/SCALING.md's prediction for distributed ALS at
100M pairs x 10M users x 1M items (d = 64, s = 3, 16-core machines).

usage: python3 bench/scaling_model.py ROW_RATE PAIR_RATE [BLAS3_RATE]
  ROW_RATE, PAIR_RATE: multiply-adds per CPU second of the solves' row
  term and pair term (bench/scaling_calibrate.sh measures them);
  BLAS3_RATE: ssyrk per core (default 10e9, assumed).
Rows the p2p exchange sends: a row with k distinct partners goes to
(P - 1)(1 - (1 - 1/P)^k) other ranks (owners independent of the pairs: an
upper bound, bench/p2p_rows.sh); users have k = 10, item i of 1M has
k = N / (H * i) (Zipf, exponent 1)."""
import sys

U, I, N, D, S, CORES = 10e6, 1e6, 100e6, 64, 3, 16
row_rate, pair_rate = float(sys.argv[1]), float(sys.argv[2])
blas3 = float(sys.argv[3]) if len(sys.argv) > 3 else 10e9
H = sum(1.0 / i for i in range(1, int(I) + 1))
k_items = [N / (H * i) for i in range(1, int(I) + 1)]
row_work = (U + I) * D * D * (S + 1) + U * D * D   # Gram products, plus the loss pass
pair_work = N * D * (4 * (S + 1) + 2)               # partner rows, plus the loss pass
cpu = row_work / row_rate + pair_work / pair_rate
gram = (U + 2 * I) * D * D / 2 / (blas3 * CORES)
print("compute: %.1f CPU s per iteration (%.0f G row-term, %.0f G pair-term multiply-adds)"
      % (cpu, row_work / 1e9, pair_work / 1e9))
print("%4s %10s %10s %8s %9s %9s %9s %7s %7s %7s %7s" % ("P", "user rows", "item rows", "p2p/ag", "GB p2p", "GB ag",
      "compute", "ag@10", "p2p@10", "ag@25", "p2p@25"))
for P in (1, 8, 16, 64):
    q = 1 - 1 / P
    users = U * (P - 1) * (1 - q ** 10)
    items = sum((P - 1) * (1 - q ** k) for k in k_items)
    ag = (U + I) * (P - 1)
    gb_p2p, gb_ag = (users + items) / P * D * 4, ag / P * D * 4
    comp = cpu / (CORES * P)
    t = []
    for bw in (1.25e9, 3.125e9):
        t += [comp + gram + gb_ag / bw, comp + gram / P + gb_p2p / bw]
    print("%4d %9.1fM %9.1fM %8.2f %9.2f %9.2f %9.2f %7.2f %7.2f %7.2f %7.2f"
          % (P, users / 1e6, items / 1e6, (users + items) / ag if ag else 0, gb_p2p / 1e9, gb_ag / 1e9, comp,
             t[0], t[1], t[2], t[3]))
