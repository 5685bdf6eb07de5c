"""Shared fixtures. Tests never write into the repo: SVT_DATA_DIR points at a temporary folder."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

# Before anything reads the settings: the process-wide data folder is a throwaway one.
os.environ["SVT_DATA_DIR"] = tempfile.mkdtemp(prefix="svt-test-")
for _var in ("SVT_CHROMA_HOST", "SVT_LLM"):
    os.environ.pop(_var, None)

from assistant.config import REPO_ROOT, Settings  # noqa: E402

SHARED = REPO_ROOT.parent / "shared"


def need_shared(*parts: str) -> Path:
    """Path under ../shared; skip with a reason when absent, but fail under CI=true."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is absent: ../shared (seed, fact sheet, legislation) sits beside a checkout, not in a clone"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers the tests start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate a server the tests started; kill it if it does not stop in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def test_settings() -> Settings:
    """The process-wide settings: the real corpus, the session's throwaway data folder.

    The same folder `get_settings()` sees, so the CLI and `pipeline.ask` reuse the built index.
    """
    from assistant.config import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def built_index(test_settings):
    """The real corpus, embedded once per test session."""
    from assistant.index import PassageIndex

    index = PassageIndex(test_settings)
    index.ensure()
    return index


@pytest.fixture(scope="session")
def hybrid(built_index):
    from assistant.retrieve import HybridSearch

    return HybridSearch(built_index)


@pytest.fixture(scope="session")
def answerer(test_settings, built_index):
    """One Assistant over the session's index (audit log in the session's data folder)."""
    from assistant.pipeline import Assistant

    return Assistant(test_settings, index=built_index)
