"""Throughput of Model.recommend through ctypes (not a test; run by hand):
    AISLE_LIBRARY=lib/libaisle.so.1 PYTHONPATH=bindings/python python3 bindings/python/tests/bench_recommend.py
"""
import threading, time, aisle
with aisle.demo_dataset(demo_users=2000, demo_items=1000, demo_days=30, seed=1) as ds:
    m = aisle.Model.train(ds, kind="als", factors=32, epochs=3, threads=2, seed=1)
    users = ds.users()[:500]
t = time.perf_counter()
for u in users: m.recommend(u, k=10)
dt = time.perf_counter() - t
print("python recommend k=10, 1000 items, 1 thread: %.0f calls/s (%.1f us/call)" % (len(users) / dt, dt / len(users) * 1e6))
t = time.perf_counter(); m.recommend_batch(users, k=10, threads=2); dt = time.perf_counter() - t
print("python recommend_batch 500 users threads=2: %.1f ms" % (dt * 1e3))
