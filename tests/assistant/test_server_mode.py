"""Server mode: the same code path against a real `chroma run` server gives the same answers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import Settings
from tests.conftest import free_port, stop_process

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUESTIONS = [
    "What is a Public Commons Partnership?",
    "When should we use an alliance contract?",
    "What are the thresholds for council services contracts from January 2026?",
    "We want to work with local charities on rough sleeping but nobody knows what will work.",
]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = Path(sys.executable).with_name("chroma")
    if not chroma.exists():
        chroma = Path(shutil.which("chroma") or "chroma")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = open(path / "server.log", "wb")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chroma server exited: {(path / 'server.log').read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start within 60 s")
    yield port
    stop_process(proc)
    log.close()


def comparable(answer) -> dict:
    data = answer.model_dump(mode="json")
    data.pop("audit_id", None)
    return data


def test_server_mode_indexes_and_answers_like_embedded_mode(chroma_server, built_index, tmp_path):
    from assistant.index import PassageIndex
    from assistant.pipeline import Assistant

    server = Settings(data_dir=tmp_path / "server-data", chroma_host="127.0.0.1", chroma_port=chroma_server)
    assert server.server_mode
    index = PassageIndex(server)
    report = index.ensure()
    assert len(report.added) == len(index.passages) and index.version == built_index.version
    assert index.is_current() and not PassageIndex(server).ensure().changed  # the version lives in the server

    embedded = Assistant(built_index.settings, built_index)
    remote = Assistant(server, index)
    for question in QUESTIONS:
        assert comparable(remote.ask(question)) == comparable(embedded.ask(question)), question
