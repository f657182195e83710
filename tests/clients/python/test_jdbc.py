"""pgjdbc (Debian's libpostgresql-jdbc-java) through java/JdbcSuite.java: DatabaseMetaData,
prepared statements and type round-trips in text and binary transfer, setFetchSize portals,
transactions, errors, and the Metabase and DBeaver replays. The Java program runs once per
server and prints one observation per case; this module compares them like every other case."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

import replays
from harness import DRIVERS, HERE, SERVERS, check

CLIENT = "jdbc"
JAR = os.environ.get("CLIENTS_JDBC_JAR", "/usr/share/java/postgresql.jar")
CLASSES = os.environ.get("CLIENTS_JAVA_CLASSES", "")
CLASSPATH = f"{JAR}:{CLASSES}"


def _driver_version() -> str:
    try:
        import zipfile

        with zipfile.ZipFile(os.path.realpath(JAR)) as z:
            for line in z.read("META-INF/MANIFEST.MF").decode().splitlines():
                if line.startswith("Bundle-Version:") or line.startswith("Implementation-Version:"):
                    return f"pgjdbc {line.split(':', 1)[1].strip()}"
    except Exception:  # noqa: BLE001
        pass
    return f"pgjdbc ({os.path.basename(os.path.realpath(JAR))})"


DRIVERS[CLIENT] = _driver_version()
DRIVERS["replay.metabase"] = f"pgjdbc replay ({DRIVERS[CLIENT]})"
DRIVERS["replay.dbeaver"] = f"pgjdbc replay ({DRIVERS[CLIENT]})"
DRIVERS["replay.datagrip"] = f"pgjdbc replay ({DRIVERS[CLIENT]})"


def _list_cases() -> list[str]:
    if not CLASSES or not os.path.isdir(CLASSES):
        raise RuntimeError("CLIENTS_JAVA_CLASSES is not set to the compiled JdbcSuite: run tests/clients/run.sh")
    out = subprocess.run(["java", "-cp", CLASSPATH, "JdbcSuite", "--list", str(HERE / "replays")],
                         capture_output=True, text=True, timeout=60, check=True)
    return [line for line in out.stdout.splitlines() if line]


CASE_IDS = _list_cases()
_RUNS: dict[str, dict] = {}


def _run_suite(server) -> dict:
    """Runs JdbcSuite against one server (once; in the pytest process, before any fork)."""
    if server.name not in _RUNS:
        try:
            proc = subprocess.run(["java", "-cp", CLASSPATH, "JdbcSuite", str(server.port), str(HERE / "replays")],
                                  capture_output=True, text=True, timeout=600)
            got = {}
            for line in proc.stdout.splitlines():
                rec = json.loads(line)
                got[rec["case"]] = rec
            if proc.returncode != 0:
                got["__failure__"] = f"JdbcSuite exited {proc.returncode}: {proc.stderr.strip()[-500:]}"
        except subprocess.TimeoutExpired:
            got = {"__failure__": "JdbcSuite did not finish within 600 s"}
        _RUNS[server.name] = got
    return _RUNS[server.name]


class JavaObservation(Exception):
    """Carries a Java-side error observation through the harness."""

    def __init__(self, obs, message):
        super().__init__(message or json.dumps(obs))
        self.sqlstate = obs.get("error")
        self.obs = obs


META_NORMALISE = {
    "jdbc.meta.getSchemas": {"drop-schemas": "TABLE_SCHEM"},
    "jdbc.meta.getTables_clients": {"columns": "TABLE_CAT,TABLE_SCHEM,TABLE_NAME,TABLE_TYPE,REMARKS"},
    "jdbc.meta.getTables_views": {"columns": "TABLE_CAT,TABLE_SCHEM,TABLE_NAME,TABLE_TYPE,REMARKS"},
    "jdbc.meta.getTables_all_tables": {"drop-schemas": "TABLE_SCHEM",
                                       "columns": "TABLE_CAT,TABLE_SCHEM,TABLE_NAME,TABLE_TYPE,REMARKS"},
    "jdbc.meta.getTables_all": {"drop-schemas": "TABLE_SCHEM",
                                "columns": "TABLE_CAT,TABLE_SCHEM,TABLE_NAME,TABLE_TYPE,REMARKS"},
    "jdbc.meta.getTypeInfo": {"keep": "TYPE_NAME~^(bool|bytea|int2|int4|int8|float4|float8|numeric|text|varchar|"
                                      "date|time|timestamp|timestamptz|interval|json|jsonb|uuid|_int4|_text)$"},
}


def _normaliser(case_id: str):
    if case_id.startswith("replay."):
        tool, name = case_id.split(".")[1:3]
        spec = next(c for c in replays.load(tool) if c["name"] == name)["normalise"]
        return replays.normaliser(spec)
    if case_id in META_NORMALISE:
        return replays.normaliser(META_NORMALISE[case_id])
    return None


def _feature(case_id: str) -> str:
    if case_id.startswith("replay."):
        tool, name = case_id.split(".")[1:3]
        c = next(c for c in replays.load(tool) if c["name"] == name)
        return f"{tool}: {name} ({c['sources'][0]})"
    return case_id.split(".", 1)[1].replace(".", " ")


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_jdbc(case_id):
    runs = {s.name: _run_suite(s) for s in SERVERS}

    def fn(server):
        got = runs[server.name]
        if case_id not in got:
            raise RuntimeError(got.get("__failure__", f"JdbcSuite printed nothing for {case_id}"))
        obs, msg = got[case_id]["obs"], got[case_id].get("message")
        if isinstance(obs, dict) and ("error" in obs or "exception" in obs):
            raise JavaObservation(obs, msg)
        return obs

    client = f"replay.{case_id.split('.')[1]}" if case_id.startswith("replay.") else CLIENT
    check(case_id, client, _feature(case_id), fn, normalise=_normaliser(case_id))
