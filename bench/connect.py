"""Logins per second and SELECT 1 round trips, for each target, in one run.

Each target is "NAME=CONNINFO"; the first is the peer the others are compared
with. Figures, not assertions: the benchmark prints and never fails on time.
"""

import argparse
import statistics
import time

import psycopg


def logins(conninfo: str, n: int) -> list[float]:
    """Seconds of each connect + SELECT 1 + close, sequentially."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("SELECT 1").fetchone()
        out.append(time.perf_counter() - start)
    return out


def round_trips(conninfo: str, n: int) -> list[float]:
    """Seconds of each SELECT 1 on one connection (simple protocol)."""
    out = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.cursor()
        for _ in range(n):
            start = time.perf_counter()
            cur.execute("SELECT 1", prepare=False).fetchone()
            out.append(time.perf_counter() - start)
    return out


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=300)
    ap.add_argument("--trips", type=int, default=3000)
    ap.add_argument("--target", action="append", required=True)
    a = ap.parse_args()
    rows = []
    for target in a.target:
        name, conninfo = target.split("=", 1)
        logins(conninfo, 5)  # warm up
        login = logins(conninfo, a.connections)
        trips = round_trips(conninfo, a.trips)
        rows.append((name, login, trips))
    peer_rate = a.connections / sum(rows[0][1])
    peer_trip = statistics.median(rows[0][2])
    print(f"{'target':32} {'logins/s':>9} {'login p50 ms':>13} {'p99 ms':>8} {'rate/peer':>10}"
          f" {'SELECT 1 p50 ms':>16} {'p99 ms':>8} {'time/peer':>10}")
    for name, login, trips in rows:
        rate = a.connections / sum(login)
        print(f"{name:32} {rate:9.1f} {p(login, 0.5):13.2f} {p(login, 0.99):8.2f} "
              f"{rate / peer_rate:9.2f}x {p(trips, 0.5):16.3f} {p(trips, 0.99):8.3f} "
              f"{statistics.median(trips) / peer_trip:9.2f}x")


if __name__ == "__main__":
    main()
