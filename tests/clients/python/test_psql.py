"""psql's backslash commands: the same psql binary against both servers, comparing which
rows are listed and the columns that do not legitimately differ.

Normalisations (documented in tests/clients/README.md): rows of PostgreSQL's system
schemas (pg_catalog, information_schema, pg_toast) are dropped on both sides, and rows
of laketap's own `laketap` schema on the laketap side; `\\l` drops template0/template1;
`\\du` keeps the role `laketap`; storage details that a lake has no equivalent of
(Access method, Size, Storage, Compression, Stats target, Access privileges) are not compared.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from harness import DRIVERS, check

CLIENT = "psql"
_ver = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
DRIVERS[CLIENT] = _ver

SYSTEM_SCHEMAS = {"pg_catalog", "information_schema", "pg_toast"}
FS, RS = "\x1f", "\x1e"


class PsqlError(Exception):
    def __init__(self, sqlstate: str, message: str):
        super().__init__(message)
        self.sqlstate = sqlstate


def psql(server, command: str) -> dict:
    proc = subprocess.run(
        ["psql", "-X", "-A", "-F", FS, "-R", RS, "-P", "footer=off", "-v", "VERBOSITY=verbose",
         "-h", "127.0.0.1", "-p", str(server.port), "-U", "laketap", "-d", "laketap", "-c", command],
        capture_output=True, text=True, timeout=30, env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    )
    if proc.returncode != 0 or "ERROR:" in proc.stderr:
        m = re.search(r"ERROR:\s+([0-9A-Z]{5}):\s*(.*)", proc.stderr)
        if m:
            raise PsqlError(m.group(1), m.group(2))
        raise PsqlError("psql", proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else f"exit {proc.returncode}")
    records = proc.stdout.rstrip("\n").split(RS)
    if not command.startswith("\\"):  # a query: no title line
        records.insert(0, "")
    if len(records) < 2:
        return {"message": proc.stdout.strip() or proc.stderr.strip()}
    title, header = records[0], records[1].split(FS)
    rows, footers = [], []
    for r in records[2:]:
        fields = r.split(FS)
        if len(fields) == len(header) and not footers:
            rows.append(fields)
        elif r != "":
            footers.append(r)  # \d footers: "Access method: heap", "View definition:", ...
    return {"title": title, "header": header, "rows": rows, "footers": footers}


def shape(columns=None, drop=None):
    """Normaliser: keep `columns` (all when None), drop rows for which drop(row, server) is true."""

    def norm(obs, server):
        if "rows" not in obs:
            return obs
        header = obs["header"]
        keep = [i for i, h in enumerate(header) if columns is None or h in columns]
        out = []
        for r in obs["rows"]:
            row = dict(zip(header, r))
            if drop and drop(row, server):
                continue
            out.append([r[i] for i in keep])
        # Footer labels only ("View definition:"), not their text (PostgreSQL deparses the
        # view); "Access method: heap" is storage, which a lake has no equivalent of.
        footers = [f for f in obs.get("footers", []) if f.endswith(":")]
        return {"title": obs["title"], "header": [header[i] for i in keep], "rows": sorted(out),
                "footer_labels": footers}

    return norm


def system_rows(key="Schema"):
    def drop(row, server):
        schema = row.get(key)
        return schema in SYSTEM_SCHEMAS or (server == "laketap" and schema == "laketap")

    return drop


COMMANDS = {
    "d_no_pattern": ("\\d", shape(drop=system_rows())),
    "d_table": ("\\d clients.all_types", shape()),
    "d_plus_table": ("\\d+ clients.people", shape(["Column", "Type", "Collation", "Nullable", "Default", "Description"])),
    "d_view": ("\\d kpi.people_by_country", shape()),
    "d_plus_view": ("\\d+ kpi.people_by_country", shape(["Column", "Type", "Collation", "Nullable", "Default", "Description"])),
    "d_missing": ("\\d clients.nope", shape()),
    "dt_schema": ("\\dt clients.*", shape()),
    "dt_all_schemas": ("\\dt *.*", shape(drop=system_rows())),
    "dt_plus": ("\\dt+ clients.*", shape(["Schema", "Name", "Type", "Owner", "Persistence", "Description"])),
    "dv_kpi": ("\\dv kpi.*", shape()),
    "dv_all_schemas": ("\\dv *.*", shape(drop=system_rows())),
    "dv_plus": ("\\dv+ kpi.*", shape(["Schema", "Name", "Type", "Owner", "Persistence", "Description"])),
    "dn": ("\\dn", shape(["Name"], drop=system_rows("Name"))),
    "dn_plus": ("\\dn+", shape(["Name", "Description"], drop=system_rows("Name"))),
    "df": ("\\df", shape()),
    "df_schema": ("\\df clients.*", shape()),
    "l": ("\\l", shape(["Name", "Owner", "Encoding"], drop=lambda r, s: r.get("Name") in ("template0", "template1"))),
    "du": ("\\du", shape(["Role name", "Attributes"], drop=lambda r, s: r.get("Role name") != "laketap")),
    "dT": ("\\dT", shape()),
    "dx": ("\\dx", shape(["Name"])),
    "select_all_types": ("SELECT * FROM clients.all_types ORDER BY id", shape()),
    "select_people": ("SELECT * FROM clients.people ORDER BY id", shape()),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_psql(name):
    command, norm = COMMANDS[name]
    check(f"psql.{name}", CLIENT, f"psql {command}", lambda server: psql(server, command), normalise=norm)
