"""A viewer's web server (TensorBoard, MLflow) started for a test on a free local port, asked
until it answers, and always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

STARTUP_TIMEOUT_S = 60
POLL_S = 0.5
# The viewers' own usage reports: nothing leaves this machine.
OFFLINE = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def post_json(url: str, body: dict):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


class Server:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process, self.log_path = process, log

    def wait_until(self, answered: Callable[[], bool], timeout: float = STARTUP_TIMEOUT_S):
        """Whether ``answered()`` came true before ``timeout``; it may raise while the server
        starts (refused connections, error pages)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError, KeyError):
                if answered():
                    return True
            time.sleep(POLL_S)
        return False

    def log(self) -> str:
        return f"server log:\n{self.log_path.read_text(errors='replace')[-3000:]}"


@contextlib.contextmanager
def served(command: list[str], log: Path) -> Iterator[Server]:
    with log.open("w") as output:
        # A group of its own: a server's workers stop with it.
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **OFFLINE},
            start_new_session=True,
        )
        try:
            yield Server(process, log)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
