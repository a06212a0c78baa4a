"""The schemathesis gate: every operation of /openapi.json, anonymously and with an admin token, 0 server errors.

The app is served on 127.0.0.1 (threaded, as ``ocop serve``) over the demo data; schemathesis (its CLI, a
separate process) runs the examples, coverage and fuzzing phases with a fixed seed and the
``not_a_server_error`` check. Runs only with ``OCOP_TEST_FUZZ=1`` (``.ci/run`` has a step for it, on
PostgreSQL); ``OCOP_FUZZ_EXAMPLES`` sets the examples per operation (default 10, about two minutes a run).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from core.http_guards import EnvelopeRequestHandler

pytestmark = pytest.mark.skipif(os.environ.get("OCOP_TEST_FUZZ") != "1",
                                reason="schemathesis gate only (.ci/run sets OCOP_TEST_FUZZ=1)")

SEED = 20261201
ST = Path(sys.executable).with_name("st")
#: operations that would end the admin run's own session (they are fuzzed anonymously)
ENDS_THE_SESSION = ("DELETE /auth/token", "DELETE /admin/v1/api-tokens/{token_id}", "PATCH /admin/v1/users/{user_id}")


@pytest.fixture
def served(app, demo, monkeypatch, tmp_path):
    monkeypatch.setenv("OCOP_BANK_WEBHOOK_SECRET", "fuzz-webhook-secret")  # else the receiver answers 503 by design
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=EnvelopeRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def _schemathesis(base: str, report: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [str(ST), "run", f"{base}/openapi.json", "--checks", "not_a_server_error", "--seed", str(SEED),
               "--max-examples", os.environ.get("OCOP_FUZZ_EXAMPLES", "10"),
               "--phases", "examples,coverage,fuzzing", "--generation-database", "none", "--workers", "2",
               "--request-timeout", "30", "--no-color", "--report", "junit", "--report-junit-path", str(report),
               *extra]
    support = str(Path(__file__).parent / "support")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
           "SCHEMATHESIS_HOOKS": "fuzz_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [support, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    summary = done.stdout[done.stdout.find("=== FAILURES ==="):] if "FAILURES" in done.stdout else done.stdout[-3000:]
    print(done.stdout[-1500:])
    assert done.returncode == 0, summary[:20000] + done.stderr[-2000:]
    assert "Tested: " in done.stdout
    return done


def test_no_operation_answers_a_server_error_anonymously(served, tmp_path):
    _schemathesis(served, tmp_path / "anonymous.xml")


def test_no_operation_answers_a_server_error_with_an_admin_token(served, login, tmp_path):
    token = login("admin")["Authorization"]
    exclusions = [arg for name in ENDS_THE_SESSION for arg in ("--exclude-name", name)]
    _schemathesis(served, tmp_path / "admin.xml", "--header", f"Authorization: {token}", *exclusions)
