"""Fixtures for the browser tests: a real `emostream up` per test (own data dir, free ports) and the system
Chromium driven by Playwright."""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("EMOSTREAM_BINARY", ROOT / ".build" / "debug" / "emostream"))
CHROMIUM = os.environ.get("EMOSTREAM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
READY = re.compile(r"EmoStream ready: (http://[^\s]+)")
ADMIN_PASSWORD = "operator-pass-123"


class System:
    """One `emostream up` on free ports; `url` is the gateway, where the web app is served."""

    def __init__(self, data_dir: str):
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.url = None
        self.process = subprocess.Popen(
            [str(BINARY), "up", "--port", "0", "--node-base-port", "0", "--data-dir", data_dir,
             "--window", "500ms", "--bcrypt-cost", "4", "--admin-password", ADMIN_PASSWORD],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(60) or self.url is None:
            self.stop()
            raise RuntimeError("emostream up did not become ready:\n" + "".join(self.lines[-40:]))

    def _read(self):
        for line in self.process.stderr:  # keeps draining, so the server never blocks on a full pipe
            self.lines.append(line)
            match = READY.search(line)
            if match and not self.ready.is_set():
                self.url = match.group(1).rstrip("/")
                self.ready.set()
        self.ready.set()  # the process ended

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def post(self, path: str, body, token: str | None = None):
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def bursts_published(self) -> int:
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
            lines = response.read().decode().splitlines()
        return sum(int(float(line.split()[-1])) for line in lines if line.startswith("emostream_bursts_published_total"))

    def wait_for_bursts(self, count: int, timeout: float = 10):
        """Polls /metrics until `count` bursts have been published (the pipeline's own report, not a sleep)."""
        import time
        deadline = time.monotonic() + timeout
        while self.bursts_published() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} bursts published after {timeout}s")
            time.sleep(0.05)

    def send(self, mix):
        """POSTs reactions in one request, so they land in one window: mix is [(emoji, count), ...]."""
        import time
        now = int(time.time() * 1000)
        events = [{"user_id": f"u{i}", "emoji_type": emoji, "timestamp": now} for emoji, n in mix for i in range(n)]
        status, body = self.post("/api/emojis", events)
        assert status == 202, body


@pytest.fixture
def system():
    with tempfile.TemporaryDirectory(prefix="emostream-browser-") as data_dir:
        running = System(data_dir)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="session")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()
