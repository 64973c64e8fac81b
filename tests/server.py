"""A real gunicorn process on loopback, started the way the README describes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60

# No proxy from the environment: every request goes straight to loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _printed_key(output: str) -> str | None:
    keys = re.findall(r"^  (phk_\S+)$", output, flags=re.MULTILINE)
    return keys[0] if keys else None


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    """`make run` in its own process group, with output kept in a file."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    # The key that `make run` prints on the first start of a database.
    api_key: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "run"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_healthy()
        self.api_key = self.api_key or _printed_key(self.log_path.read_text())

    def __enter__(self) -> Server:
        """Start the server, and stop it again if it never becomes healthy."""
        try:
            self.start()
        except BaseException:
            self.stop(signal.SIGKILL)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if self.request("GET", "/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server not healthy in {START_TIMEOUT} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> Response:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=dict(headers or {})
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.api_key and "Authorization" not in request.headers:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with _opener.open(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers), answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers), error.read())


def list_all_phones(server: Server, max_pages: int = 20) -> list[dict[str, Any]]:
    """Return every phone of the server's API key, reading pages of 100."""
    phones: list[dict[str, Any]] = []
    for page in range(1, max_pages + 1):
        response = server.request("GET", f"/api/phones?limit=100&page={page}")
        if response.status != 200:
            status = response.status
            raise RuntimeError(f"listing page {page} failed with status {status}")
        phones += response.json()["phones"]
        if len(phones) >= response.json()["total"]:
            return phones
    raise RuntimeError(f"phone list is longer than {max_pages} pages of 100")
