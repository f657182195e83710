"""The differential harness: run a case against PostgreSQL and laketap, compare, record.

A case is a function `fn(server) -> observation` where `server` is a `Server`
(name, DSN, port). The observation is plain data built with `value()` (every
driver value is tagged with its Python type, so `'1.5'` and `Decimal('1.5')`
differ). A case passes when both observations are equal after the case's
normalisation; the strict ratchet of known_differences.txt decides what a
difference means (README.md in this folder).
"""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import json
import os
import select
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(os.environ.get("CLIENTS_HERE", Path(__file__).resolve().parent.parent))
KNOWN_FILE = HERE / "known_differences.txt"
CASE_TIMEOUT_S = int(os.environ.get("CLIENTS_CASE_TIMEOUT", "10"))


@dataclass(frozen=True)
class Server:
    name: str  # "postgres" or "laketap"
    dsn: str
    port: int

    @property
    def url_tail(self) -> str:
        return f"127.0.0.1:{self.port}/laketap"


SERVERS = [
    Server("postgres", os.environ.get("CLIENTS_PG_DSN", ""), int(os.environ.get("CLIENTS_PG_PORT", "0"))),
    Server("laketap", os.environ.get("CLIENTS_LT_DSN", ""), int(os.environ.get("CLIENTS_LT_PORT", "0"))),
]


def load_known() -> dict[str, str]:
    known: dict[str, str] = {}
    if not KNOWN_FILE.exists():
        return known
    for n, line in enumerate(KNOWN_FILE.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        case, _, reason = line.partition(" ")
        if not reason.strip():
            raise ValueError(f"{KNOWN_FILE}:{n}: `{case}` needs a one-line reason")
        if case in known:
            raise ValueError(f"{KNOWN_FILE}:{n}: `{case}` listed twice")
        known[case] = reason.strip()
    return known


KNOWN = load_known()
RESULTS: list[dict] = []
SEEN: set[str] = set()
DRIVERS: dict[str, str] = {}
PARTIAL = [False]  # set when pytest deselected cases (-k): no stale-entry check, no report


def value(v):
    """A driver value as tagged, JSON-comparable data."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return {"float": repr(v)}
    if isinstance(v, decimal.Decimal):
        return {"numeric": str(v)}
    if isinstance(v, dt.datetime):
        return {"timestamptz" if v.tzinfo else "timestamp": v.isoformat()}
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, dt.time):
        return {"time": v.isoformat()}
    if isinstance(v, dt.timedelta):
        return {"interval": [v.days, v.seconds, v.microseconds]}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"bytes": bytes(v).hex()}
    if isinstance(v, uuid.UUID):
        return {"uuid": str(v)}
    if isinstance(v, (list, tuple)):
        return [value(x) for x in v]
    if isinstance(v, dict):
        return {"json": v}
    if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return {"inet": str(v)}
    # numpy / pandas scalars and anything else: type name and text
    return {type(v).__name__: str(v)}


def rows(rs) -> list:
    return [[value(c) for c in r] for r in rs]


def error_obs(e: BaseException) -> dict:
    """A database error as its SQLSTATE; anything else as its exception type."""
    if isinstance(getattr(e, "obs", None), dict):
        return e.obs
    state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    if state:
        return {"error": state}
    return {"exception": type(e).__name__}


def _run_in_child(fn, server: Server, w: int) -> None:
    try:
        try:
            out = [fn(server), None]
        except Exception as e:  # noqa: BLE001 - every failure is an observation
            text = str(e).strip()
            msg = text.splitlines()[0] if text else type(e).__name__
            out = [error_obs(e), f"{type(e).__name__}: {msg}"[:300]]
        data = json.dumps(out, default=str).encode()
    except BaseException as e:  # noqa: BLE001
        data = json.dumps([{"exception": type(e).__name__}, f"harness: {e}"[:300]]).encode()
    view = memoryview(data)
    while view:
        n = os.write(w, view)
        view = view[n:]
    os.close(w)


def observe(fn, server: Server, timeout_s: int = CASE_TIMEOUT_S):
    """Runs fn(server) in a forked child, so that a driver that crashes (segfault) or hangs
    on a server's answer becomes an observation instead of ending the run.
    Returns (observation, message)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            _run_in_child(fn, server, w)
        except BaseException:  # noqa: BLE001
            code = 3
        os._exit(code)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + timeout_s
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([r], [], [], left)
        if not ready:
            continue
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"exception": "Timeout"}, f"no answer within {timeout_s} s (the client was killed)"
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return {"exception": f"crash {sig}"}, f"the client process died with {sig}"
    try:
        obs, msg = json.loads(b"".join(chunks))
    except ValueError:
        return {"exception": "no result"}, f"the client process exited {os.WEXITSTATUS(status)} without a result"
    return obs, msg


def canon(obs) -> str:
    return json.dumps(obs, sort_keys=True, ensure_ascii=False, default=str)


def first_difference(a, b, path="") -> str:
    if type(a) is not type(b):
        return f"{path or '.'}: postgres {short(a)} vs laketap {short(b)}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: postgres {short(a.get(k, '<missing>'))} vs laketap {short(b.get(k, '<missing>'))}"
            if canon(a[k]) != canon(b[k]):
                return first_difference(a[k], b[k], f"{path}.{k}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path or '.'}: postgres {len(a)} items vs laketap {len(b)}: {short(a)} vs {short(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if canon(x) != canon(y):
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path or '.'}: postgres {short(a)} vs laketap {short(b)}"


def short(x, n: int = 160) -> str:
    s = canon(x)
    return s if len(s) <= n else s[: n - 3] + "..."


def check(case_id: str, client: str, feature: str, fn, normalise=None, timeout=None) -> None:
    """Runs one differential case and asserts it against the ratchet."""
    assert case_id not in SEEN, f"duplicate case id {case_id}"
    SEEN.add(case_id)
    obs = {}
    msgs = {}
    for server in SERVERS:
        o, m = observe(fn, server, timeout or CASE_TIMEOUT_S)
        if normalise is not None and not ({"error", "exception"} & set(o if isinstance(o, dict) else ())):
            o = normalise(o, server.name)
        obs[server.name] = o
        msgs[server.name] = m
    pg, lt = obs["postgres"], obs["laketap"]
    same = canon(pg) == canon(lt)
    known = KNOWN.get(case_id)
    detail = None if same else first_difference(pg, lt)
    if not same and msgs["laketap"]:
        detail = f"{detail} [laketap: {msgs['laketap']}]"
    RESULTS.append(
        {
            "case": case_id,
            "client": client,
            "driver": DRIVERS.get(client, ""),
            "feature": feature,
            "status": "match" if same else "differs",
            "known": known,
            "detail": detail,
            "postgres": pg,
            "laketap": lt,
            "postgres_message": msgs["postgres"],
            "laketap_message": msgs["laketap"],
        }
    )
    if isinstance(pg, dict) and "exception" in pg:
        pytest.fail(f"{case_id}: the PostgreSQL side raised {msgs['postgres']} (a harness bug)")
    if same:
        if known:
            pytest.fail(
                f"{case_id} now matches PostgreSQL: remove it from known_differences.txt ({known})"
            )
        return
    if known:
        pytest.xfail(f"known difference ({known}): {detail}")
    pytest.fail(f"{case_id} differs from PostgreSQL: {detail}")


def write_results(path: str, partial: bool) -> None:
    listed_not_run = sorted(set(KNOWN) - SEEN)
    Path(path).write_text(
        json.dumps(
            {"partial": partial, "drivers": DRIVERS, "results": RESULTS, "stale_known": listed_not_run},
            indent=1,
            ensure_ascii=False,
            default=str,
        )
    )
