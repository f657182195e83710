"""Replay files (tests/clients/replays/*.sql): parsing and the normalisations they declare.

A file holds `-- case: NAME` blocks. In a block, `-- source: REPO PATH (what)` cites where the
text comes from, `-- normalise: k=v; k=v` declares how results are compared, `-- batch` sends
the whole block as one Query message, other `--` lines are comments, and the rest is SQL: a
statement ends with `;` at the end of a line. java/JdbcSuite.java parses the same way.

Normalisations (applied to every result set of the case, on both sides):
  columns=A,B          compare only these columns (case-insensitive)
  drop-schemas=COL     drop rows whose COL is a PostgreSQL system schema (pg_*, information_schema)
                       and, on the laketap side, laketap's own `laketap` schema
  keep=COL~REGEX       keep only rows whose COL matches REGEX
  mask=COL             replace non-NULL values of COL by "<masked>" (OIDs, pids, versions)
  drop-prefix=COL:P    on the laketap side, drop rows whose COL starts with P (its own schema)
Rows are always compared as sorted lists.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness import HERE, canon

REPLAYS = HERE / "replays"
SYSTEM_SCHEMA = re.compile(r"^(pg_.*|information_schema)$")


def parse(path: Path) -> list[dict]:
    cases: list[dict] = []
    cur = None
    for line in path.read_text().splitlines():
        t = line.strip()
        if t.startswith("-- case:"):
            cur = {"name": t[len("-- case:"):].strip(), "sources": [], "normalise": {}, "batch": False, "lines": []}
            cases.append(cur)
        elif cur is None:
            continue
        elif t.startswith("-- source:"):
            cur["sources"].append(t[len("-- source:"):].strip())
        elif t.startswith("-- normalise:"):
            for part in t[len("-- normalise:"):].split(";"):
                k, _, v = part.strip().partition("=")
                if k:
                    cur["normalise"][k.strip()] = v.strip()
        elif t == "-- batch":
            cur["batch"] = True
        elif t.startswith("--"):
            continue
        else:
            cur["lines"].append(line)
    for c in cases:
        if not c["sources"]:
            raise ValueError(f"{path}: case {c['name']} cites no source")
        c["statements"] = statements(c["lines"], c["batch"])
    return cases


def statements(lines: list[str], batch: bool) -> list[str]:
    if batch:
        return ["\n".join(lines).strip()]
    out, buf = [], []
    for line in lines:
        buf.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(buf).strip().rstrip(";").strip())
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out


def normaliser(spec: dict):
    def col_index(cols, name):
        for i, c in enumerate(cols):
            if str(c).lower() == name.lower():
                return i
        return None

    def one(res, server):
        if not isinstance(res, dict) or "rows" not in res or res.get("cols") is None:
            return res
        cols, rows = list(res["cols"]), [list(r) for r in res["rows"]]
        if "drop-schemas" in spec:
            i = col_index(cols, spec["drop-schemas"])
            if i is not None:
                rows = [r for r in rows if not (isinstance(r[i], str) and (
                    SYSTEM_SCHEMA.match(r[i]) or (server == "laketap" and r[i] == "laketap")))]
        if "drop-prefix" in spec and server == "laketap":
            name, _, prefix = spec["drop-prefix"].partition(":")
            i = col_index(cols, name)
            if i is not None:
                rows = [r for r in rows if not (isinstance(r[i], str) and r[i].startswith(prefix))]
        if "keep" in spec:
            name, _, regex = spec["keep"].partition("~")
            i = col_index(cols, name)
            rx = re.compile(regex)
            rows = [r for r in rows if i is not None and r[i] is not None and rx.search(
                r[i] if isinstance(r[i], str) else canon(r[i]))]
        if "mask" in spec:
            for name in spec["mask"].split(","):
                i = col_index(cols, name.strip())
                if i is not None:
                    for r in rows:
                        if r[i] is not None:
                            r[i] = "<masked>"
        if "columns" in spec:
            keep = [col_index(cols, n.strip()) for n in spec["columns"].split(",")]
            missing = [n for n, i in zip(spec["columns"].split(","), keep) if i is None]
            cols = [cols[i] if i is not None else f"<missing {n.strip()}>" for n, i in zip(spec["columns"].split(","), keep)]
            rows = [[r[i] if i is not None else None for i in keep] for r in rows]
            if missing:
                res = dict(res, missing_columns=missing)
        rows.sort(key=canon)
        return dict(res, cols=cols, rows=rows)

    def norm(obs, server):
        if isinstance(obs, list):
            return [one(r, server) for r in obs]
        return one(obs, server)

    return norm


def load(tool: str) -> list[dict]:
    return parse(REPLAYS / f"{tool}.sql")
