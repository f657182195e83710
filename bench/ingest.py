"""Durable ingest into laketap, measured against peers in the same run.

Driven by bench/ingest.sh (which starts laketap, a PostgreSQL with fsync on, and
prepares a copy of a Delta table for delta-rs). Prints figures; asserts nothing
about time. Phases:
  1. HTTP NDJSON: producers POST batches; durable events/s (acknowledged = fsynced).
  2. COPY FROM STDIN (psycopg): laketap vs PostgreSQL 15 (fsync=on, synchronous_commit=on).
  3. delta-rs appends, one commit per batch (durable-on-ack without a log): events/s.
  4. Freshness: acknowledgement -> visible in kpi.user_profile (and the raw table), p50/p99.
  5. A steady stream for --seconds, sampling laketap's resident memory.
Finally checks that every acknowledged bench event is in the table exactly once.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import threading
import time
from datetime import datetime, timedelta, timezone

import psycopg

COLUMNS = "event_id, event_time, user_id, show_id, session_id, event_type, listen_seconds"


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


class Ids:
    def __init__(self, prefix):
        self.prefix, self.n, self.lock = prefix, 0, threading.Lock()

    def take(self, k):
        with self.lock:
            first = self.n
            self.n += k
        return [f"{self.prefix}{i}" for i in range(first, first + k)]


def event_rows(ids, users, shows, base):
    rows = []
    for i, eid in enumerate(ids):
        t = base + timedelta(microseconds=i)
        rows.append((eid, t, random.randint(1, users), random.randint(1, shows),
                     f"s{eid}", "heartbeat", 30.0))
    return rows


def ndjson(rows):
    return "".join(
        json.dumps({"event_id": r[0], "event_time": r[1].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "user": {"id": r[2]}, "show_id": r[3], "session_id": r[4],
                    "event_type": r[5], "listen_seconds": r[6]}) + "\n"
        for r in rows).encode()


def tsv(rows):
    return "".join(
        f"{r[0]}\t{r[1].strftime('%Y-%m-%d %H:%M:%S.%f')}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6]}\n"
        for r in rows)


def post(port, body, key=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/x-ndjson"}
    if key:
        headers["Idempotency-Key"] = key
    conn.request("POST", "/v1/ingest/amp/listen_events", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"{resp.status} {data[:300]!r}")
    return json.loads(data)


def run_for(seconds, threads, work):
    """Runs work(stop_event) on `threads` threads for `seconds`; returns their results."""
    stop = threading.Event()
    results = [None] * threads

    def wrap(i):
        results[i] = work(stop)

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    return results


def http_rate(a, ids, acked):
    def work(stop):
        n, lat = 0, []
        while not stop.is_set():
            rows = event_rows(ids.take(a.batch), a.users, a.shows, datetime.now(timezone.utc))
            body = ndjson(rows)
            t0 = time.perf_counter()
            r = post(a.http_port, body)
            lat.append(time.perf_counter() - t0)
            n += r["rows"]
        return n, lat

    t0 = time.perf_counter()
    res = run_for(a.phase_seconds, a.producers, work)
    dt = time.perf_counter() - t0
    events = sum(r[0] for r in res)
    lat = [x for r in res for x in r[1]]
    acked[0] += events
    print(f"HTTP NDJSON   {a.producers} producers x {a.batch} rows/request: "
          f"{events / dt:>10,.0f} events/s durable  "
          f"(request p50 {pct(lat, 50) * 1000:.1f} ms, p99 {pct(lat, 99) * 1000:.1f} ms, {len(lat)} requests)")
    return events / dt


def copy_rate(a, dsn, table, ids, label, counter=None):
    def work(stop):
        n = 0
        with psycopg.connect(dsn, autocommit=True) as conn:
            with conn.cursor() as cur:
                while not stop.is_set():
                    rows = event_rows(ids.take(a.copy_batch), a.users, a.shows,
                                      datetime.now(timezone.utc))
                    with cur.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as cp:
                        cp.write(tsv(rows))
                    n += len(rows)
        return n

    t0 = time.perf_counter()
    res = run_for(a.phase_seconds, a.copiers, work)
    dt = time.perf_counter() - t0
    events = sum(res)
    if counter is not None:
        counter[0] += events
    print(f"COPY text     {label:<28} {a.copiers} conns x {a.copy_batch} rows/COPY: "
          f"{events / dt:>10,.0f} events/s durable")
    return events / dt


def delta_rs_rate(a):
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    dt_ = DeltaTable(a.peer_delta)
    schema = dt_.schema().to_arrow()
    schema = pa.schema(schema) if not isinstance(schema, pa.Schema) else schema
    ids = Ids("d-")
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.phase_seconds:
        rows = event_rows(ids.take(a.batch), a.users, a.shows, datetime.now(timezone.utc))
        cols = {
            "event_id": [r[0] for r in rows],
            "event_time": [r[1].replace(tzinfo=None) for r in rows],
            "event_date": [r[1].date() for r in rows],
            "user_id": [r[2] for r in rows],
            "show_id": [r[3] for r in rows],
            "session_id": [r[4] for r in rows],
            "event_type": [r[5] for r in rows],
            "listen_seconds": [r[6] for r in rows],
        }
        batch = pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in schema}, schema=schema)
        write_deltalake(a.peer_delta, batch, mode="append")
        n += len(rows)
    dt = time.perf_counter() - t0
    print(f"delta-rs      one commit per {a.batch}-row batch (1 writer): {n / dt:>10,.0f} events/s durable")
    return n / dt


def freshness(a, dsn, acked):
    """Per event: POST one row, then poll the raw table (a cheap query, so a
    few ms of resolution) until it is there, then kpi.user_profile (whose
    query time is its resolution). Both are timed from the acknowledgement."""
    user = a.users  # the last user of amp.users
    vis_view, vis_table, query_ms = [], [], []
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor()
        for i in range(a.samples):
            t_event = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(microseconds=i + 1)
            naive = t_event.replace(tzinfo=None)
            eid = f"f{i}-{time.time_ns()}"
            row = (eid, t_event, user, 1, "fresh", "heartbeat", 30.0)
            post(a.http_port, ndjson([row]))
            acked[0] += 1
            t_ack = time.perf_counter()
            while True:
                cur.execute("SELECT count(*) FROM amp.listen_events WHERE event_date = %s AND event_id = %s",
                            (naive.date(), eid))
                if cur.fetchone()[0] == 1:
                    vis_table.append(time.perf_counter() - t_ack)
                    break
                if time.perf_counter() - t_ack > 30:
                    raise RuntimeError("an acknowledged event was not visible within 30 s")
            while True:
                q0 = time.perf_counter()
                cur.execute("SELECT last_active_at FROM kpi.user_profile WHERE user_id = %s", (user,))
                got = cur.fetchone()[0]
                query_ms.append((time.perf_counter() - q0) * 1000)
                if got is not None and got >= naive:
                    vis_view.append(time.perf_counter() - t_ack)
                    break
                if time.perf_counter() - t_ack > 30:
                    raise RuntimeError("an acknowledged event was not in kpi.user_profile within 30 s")
            time.sleep(random.uniform(0, 0.3))
    ms = lambda v, p: pct(v, p) * 1000
    print(f"freshness     ack -> visible in amp.listen_events: p50 {ms(vis_table, 50):.0f} ms, "
          f"p99 {ms(vis_table, 99):.0f} ms, max {ms(vis_table, 100):.0f} ms ({len(vis_table)} events, one at a time)")
    print(f"              ack -> answered by kpi.user_profile: p50 {ms(vis_view, 50):.0f} ms, "
          f"p99 {ms(vis_view, 99):.0f} ms, max {ms(vis_view, 100):.0f} ms (the view's query takes "
          f"{statistics.median(query_ms):.0f} ms: that is its resolution)")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stream(a, ids, acked):
    per_tick = max(1, a.rate // 10)
    samples = []
    stop = threading.Event()
    sent = [0]

    def producer():
        next_t = time.perf_counter()
        while not stop.is_set():
            rows = event_rows(ids.take(per_tick), a.users, a.shows, datetime.now(timezone.utc))
            post(a.http_port, ndjson(rows))
            sent[0] += per_tick
            next_t += 0.1
            time.sleep(max(0, next_t - time.perf_counter()))

    t = threading.Thread(target=producer)
    t0 = time.perf_counter()
    t.start()
    while time.perf_counter() - t0 < a.seconds:
        samples.append((time.perf_counter() - t0, rss_kib(a.pid)))
        time.sleep(min(10, a.seconds / 20))
    stop.set()
    t.join()
    samples.append((time.perf_counter() - t0, rss_kib(a.pid)))
    acked[0] += sent[0]
    mib = [s[1] / 1024 for s in samples]
    print(f"stream        {a.rate} events/s over HTTP for {a.seconds} s ({sent[0]:,} events): laketap RSS "
          f"start {mib[0]:.0f} MiB, max {max(mib):.0f} MiB, end {mib[-1]:.0f} MiB")
    print("              RSS samples (s, MiB): " + ", ".join(f"{s:.0f}:{m:.0f}" for (s, _), m in zip(samples, mib)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--http-port", type=int, required=True)
    p.add_argument("--pg-port", type=int, required=True)
    p.add_argument("--peer-pg-port", type=int, required=True)
    p.add_argument("--peer-delta", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--shows", type=int, default=100)
    p.add_argument("--phase-seconds", type=float, default=20)
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--rate", type=int, default=2000)
    p.add_argument("--producers", type=int, default=4)
    p.add_argument("--copiers", type=int, default=2)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--copy-batch", type=int, default=10000)
    p.add_argument("--samples", type=int, default=100)
    p.add_argument("--phases", default="rate,freshness,stream")
    a = p.parse_args()
    random.seed(42)
    laketap = f"host=127.0.0.1 port={a.pg_port} user=laketap dbname=laketap"
    peer = f"host=127.0.0.1 port={a.peer_pg_port} user=postgres dbname=postgres"
    acked = [0]
    ids = Ids("b-")
    with psycopg.connect(laketap, autocommit=True) as conn:
        before = conn.execute("SELECT count(*) FROM amp.listen_events").fetchone()[0]
    phases = a.phases.split(",")
    if "rate" in phases:
        h = http_rate(a, ids, acked)
        c = copy_rate(a, laketap, "amp.listen_events", ids, "laketap", acked)
        pg = copy_rate(a, peer, "listen_events", Ids("pg-"), "PostgreSQL 15 (fsync on)")
        d = delta_rs_rate(a)
        print(f"ratios        laketap COPY / PostgreSQL COPY = {c / pg:.2f}; "
              f"laketap HTTP / delta-rs commit-per-batch = {h / d:.2f}")
    if "freshness" in phases:
        freshness(a, laketap, acked)
    if "stream" in phases:
        stream(a, ids, acked)
    with psycopg.connect(laketap, autocommit=True) as conn:
        deadline = time.time() + 30
        while True:
            after = conn.execute("SELECT count(*) FROM amp.listen_events").fetchone()[0]
            if after - before == acked[0] or time.time() > deadline:
                break
            time.sleep(0.2)
        dups = conn.execute(
            "SELECT count(*) FROM (SELECT event_id FROM amp.listen_events GROUP BY event_id HAVING count(*) > 1) d"
        ).fetchone()[0]
        status = conn.execute(
            "SELECT version, files, freshness_lag_ms FROM laketap.tables WHERE table_name = 'listen_events'"
        ).fetchone()
    print(f"check         acknowledged {acked[0]:,} events, table grew by {after - before:,}, "
          f"duplicated ids {dups}; listen_events now at version {status[0]} with {status[1]} files")
    if after - before != acked[0] or dups:
        raise SystemExit("MISMATCH")


if __name__ == "__main__":
    main()
