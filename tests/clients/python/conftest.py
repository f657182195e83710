"""pytest wiring of the differential harness: results file and the ratchet's last check."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def pytest_configure(config):
    if not harness.SERVERS[0].dsn or not harness.SERVERS[1].dsn:
        raise SystemExit("CLIENTS_PG_DSN / CLIENTS_LT_DSN are not set: run tests/clients/run.sh")


def pytest_collection_modifyitems(session, config, items):
    config._clients_collected = len(items)


def pytest_deselected(items):
    harness.PARTIAL[0] = True


def pytest_sessionfinish(session, exitstatus):
    partial = bool(harness.PARTIAL[0] or session.config.option.keyword or session.config.option.markexpr)
    stale = sorted(set(harness.KNOWN) - harness.SEEN)
    path = os.environ.get("CLIENTS_RESULTS")
    if path:
        harness.write_results(path, partial)
    if stale and not partial:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        msg = "known_differences.txt lists cases that no suite ran: " + ", ".join(stale)
        if tr:
            tr.write_line(msg, red=True)
        else:
            print(msg, file=sys.stderr)
        session.exitstatus = 1
