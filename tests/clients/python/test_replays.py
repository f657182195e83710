"""BI tools that cannot run here, replayed from their recorded connect-and-browse queries
(replays/*.sql, each block citing its source) through the driver family each tool uses:
Grafana -> psycopg 3 extended protocol, Power BI (Npgsql) -> psycopg 3 simple protocol,
Superset -> psycopg2, Tableau (psqlODBC) -> psycopg2. Metabase and DBeaver run through
pgjdbc in test_jdbc.py."""

from __future__ import annotations

import psycopg
import psycopg2
import pytest

import replays
from harness import DRIVERS, check, rows

TOOLS = {"grafana": "psycopg3-extended", "powerbi": "psycopg3-simple", "superset": "psycopg2", "tableau": "psycopg2"}
for _tool, _drv in TOOLS.items():
    DRIVERS[f"replay.{_tool}"] = f"{_drv} replay" + (
        f" (psycopg {psycopg.__version__})" if _drv.startswith("psycopg3") else f" (psycopg2 {psycopg2.__version__.split()[0]})")


def result3(cur):
    if cur.description is None:
        return {"tag": cur.statusmessage}
    return {"cols": [d.name for d in cur.description], "rows": rows(cur.fetchall())}


def run_psycopg3(statements, simple):
    def run(server):
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            out = []
            for sql in statements:
                cur = psycopg.ClientCursor(conn) if simple else conn.cursor()
                try:
                    cur.execute(sql)
                    res = result3(cur)
                    while cur.nextset():  # a batch: keep the last result
                        res = result3(cur)
                    out.append(res)
                except psycopg.Error as e:
                    out.append({"error": e.sqlstate})
            return out

    return run


def run_psycopg2(statements):
    def run(server):
        conn = psycopg2.connect(server.dsn)
        conn.autocommit = True
        try:
            out = []
            for sql in statements:
                cur = conn.cursor()
                try:
                    cur.execute(sql)
                    if cur.description is None:
                        out.append({"tag": cur.statusmessage})
                    else:
                        out.append({"cols": [d.name for d in cur.description], "rows": rows(cur.fetchall())})
                except psycopg2.Error as e:
                    out.append({"error": e.pgcode})
            return out
        finally:
            conn.close()

    return run


CASES = [(tool, c) for tool in TOOLS for c in replays.load(tool)]


@pytest.mark.parametrize("tool,case", CASES, ids=[f"{t}.{c['name']}" for t, c in CASES])
def test_replay(tool, case):
    drv = TOOLS[tool]
    if drv == "psycopg3-extended":
        fn = run_psycopg3(case["statements"], simple=False)
    elif drv == "psycopg3-simple":
        fn = run_psycopg3(case["statements"], simple=True)
    else:
        fn = run_psycopg2(case["statements"])
    check(f"replay.{tool}.{case['name']}", f"replay.{tool}", f"{tool}: {case['name']} ({case['sources'][0]})",
          fn, normalise=replays.normaliser(case["normalise"]))
