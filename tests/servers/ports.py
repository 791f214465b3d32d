"""Free loopback ports and waiting for a server to listen."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

_given: set[int] = set()


def free_port() -> int:
    """A loopback port free now, never one this process was given before (the system may hand the
    same ephemeral port out again at once, and two servers of one test would then collide)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _given:
            _given.add(port)
            return port
    return port


def wait_listening(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")


def stop_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM in reverse start order, then wait (kill what does not stop in 10 s)."""
    for p in reversed(procs):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    procs.clear()
