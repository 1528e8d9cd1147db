#!/usr/bin/python3
"""hnswlib side of `bench index` (examples/bench).

Reads the data written by the Go command (base.f32, queries.f32: little-endian
float32, dim from truth.json; truth.json: exact nearest neighbour and every id
within each radius, computed by index.Flat) and prints markdown table rows in
the Go command's column order.

hnswlib has no range search. It is emulated per query with knn_query: start at
k = 16 (ef = max(ef, k)), double k while the k-th neighbour is still inside the
radius, keep the results within the radius. Latency covers the whole loop, one
thread. Build uses 2 threads. Queries/s on 2 cores: the same per-query loop on
two Python threads (hnswlib releases the GIL inside knn_query).
"""
import argparse
import json
import os
import threading
import time

import hnswlib
import numpy as np


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def range_query(idx, q, r, ef, n):
    r2 = r * r
    k = 16
    while True:
        k = min(k, n)
        idx.set_ef(max(ef, k))
        labels, d2 = idx.knn_query(q, k=k)
        labels, d2 = labels[0], d2[0]
        if d2[-1] > r2 or k >= n:
            return set(int(l) for l, d in zip(labels, d2) if d <= r2)
        k *= 2


def fmt_dur(s):
    return "%.2f ms" % (s * 1e3) if s >= 1e-3 else "%.0f µs" % (s * 1e6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--m", default="16,32")
    ap.add_argument("--ef", default="64,128,400")
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--cache", default="",
                    help="directory for built indexes: loaded instead of rebuilt when present "
                         "(the build rate measured when it was built is kept beside it)")
    ap.add_argument("--build-only", action="store_true", help="build and save into --cache, measure nothing")
    a = ap.parse_args()
    with open(os.path.join(a.data, "truth.json")) as f:
        gt = json.load(f)
    dim, n = gt["dim"], gt["n"]
    base = np.fromfile(os.path.join(a.data, "base.f32"), dtype="<f4").reshape(-1, dim)
    qs = np.fromfile(os.path.join(a.data, "queries.f32"), dtype="<f4").reshape(-1, dim)
    assert base.shape[0] == n, (base.shape, n)
    radii = gt["radii"]
    within = [[set(w) for w in per] for per in gt["within"]]
    nn = gt["nn"]
    for M in [int(x) for x in a.m.split(",")]:
        idx = hnswlib.Index(space="l2", dim=dim)
        cached = ""
        if a.cache:
            stem = os.path.join(a.cache, "hnswlib-n%d-m%d-efc%d" % (n, M, a.efc))
        if a.cache and os.path.exists(stem + ".bin") and os.path.exists(stem + ".json"):
            with open(stem + ".json") as f:
                meta = json.load(f)
            t0 = time.perf_counter()
            idx.load_index(stem + ".bin", max_elements=n)
            cached = "; index loaded from %s in %.1f s, build rate from its build (load average then %s)" % (
                stem + ".bin", time.perf_counter() - t0, meta["loadavg"])
            build = meta["build_seconds"]
        else:
            idx.init_index(max_elements=n, ef_construction=a.efc, M=M, random_seed=1)
            idx.set_num_threads(2)
            t0 = time.perf_counter()
            idx.add_items(base, np.arange(n))
            build = time.perf_counter() - t0
            if a.cache:
                idx.save_index(stem + ".bin")
                with open(stem + ".json", "w") as f:
                    json.dump({"build_seconds": build, "loadavg": open("/proc/loadavg").read().split()[0]}, f)
            print("hnswlib M=%d: built %d in %.0f s (%.0f vectors/s), load average %s" % (
                M, n, build, n / build, open("/proc/loadavg").read().split()[0]), flush=True)
        if a.build_only:
            continue
        # hnswlib's own layout (hnswalg.h): per element the vector, 2M
        # layer-0 links + count, label, a link-list pointer, a level, the
        # label map entry (~40 B), and (M links + count) per upper level,
        # 1/(M-1) upper levels on average. RSS deltas are unreliable here
        # (glibc reuses the previous index's memory).
        bpv = dim * 4 + (2 * M + 1) * 4 + 8 + 8 + 4 + 40 + (M + 1) * 4 / (M - 1)
        idx.set_num_threads(1)
        for ef in [int(x) for x in a.ef.split(",")]:
            cols = []
            for ri, r in enumerate(radii):
                lat, ok = [], 0
                for i, q in enumerate(qs):
                    t = time.perf_counter()
                    got = range_query(idx, q, r, ef, n)
                    lat.append(time.perf_counter() - t)
                    if within[ri][i] <= got:
                        ok += 1
                lat.sort()
                cols.append((ok / len(qs), lat[len(lat) // 2], lat[len(lat) * 99 // 100]))
            idx.set_ef(ef)
            labels, _ = idx.knn_query(qs, k=1)
            r1 = float(np.mean(labels[:, 0] == np.array(nn)))
            # Two threads, largest radius.
            rmax = radii[-1]

            def work(w):
                for i in range(w, len(qs), 2):
                    range_query(idx, qs[i], rmax, ef, n)

            t = time.perf_counter()
            ths = [threading.Thread(target=work, args=(w,)) for w in range(2)]
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            qps2 = len(qs) / (time.perf_counter() - t)
            row = "| %d | hnswlib %s | M=%d efC=%d ef=%d | %.0f | %.0f | %.4f |" % (
                n, "0.6.2 (Debian)", M, a.efc, ef, n / build, bpv, r1)
            for rr, p50, p99 in cols:
                row += " %.4f | %s / %s |" % (rr, fmt_dur(p50), fmt_dur(p99))
            row += " %.0f | bytes/vector from hnswlib's layout; build on 2 threads; range emulated by knn_query with k doubled from 16 while the k-th is inside r; ef raised to k (set_ef is shared by both threads in the 2-core run)%s |" % (qps2, cached)
            print(row, flush=True)


if __name__ == "__main__":
    main()
