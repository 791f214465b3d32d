"""Smoke-test the frozen build the way an administrator meets it (`make test` runs this after the
suite; `make dist` must have built it):

1. the bundle: every module of the ``desktop`` package is in it (also those the app imports only
   when used, such as the connector list built after the first paint, which ``--smoke`` never
   reaches); ``--version``; ``--smoke`` offscreen (the window paints); ``doctor`` inside a D-Bus
   session with an unlocked gnome-keyring — a real keychain round trip, proving the frozen app found
   the Secret Service backend; ``validate --spec`` of a Kafka document against a closed port (the
   connector plug-ins and their lazily imported libraries are in the bundle) → connect_refused;
2. the .deb: installed with apt, the same checks through /usr/bin/connector-desk, then purged —
   and every file it installed is gone;
3. the Windows installer definition compiles with makensis (around a stand-in bundle: the real one
   is built on Windows) into a PE installer.

    python packaging/smoke_test.py DIST_DIR      (dist/connector-desk and dist/connector-desk_*.deb)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from desktop import __version__  # noqa: E402

KEYRING = ('echo -n smoke | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"')


PASSED: list[str] = []


def check(label: str, ok: bool, detail: str = "") -> None:
    if ok:
        PASSED.append(label)
    print(f"  {'✓' if ok else '✗'} {label}" + (f": {detail}" if detail else ""), flush=True)
    if not ok:
        print(f"smoke: {len(PASSED)} passed, 1 failed")
        raise SystemExit(f"smoke test failed: {label}")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exercise(exe: str, where: str) -> None:
    home = Path(tempfile.mkdtemp(prefix="cd-smoke-home-"))
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_RUNTIME_DIR": str(home / "run"),
           "QT_QPA_PLATFORM": "offscreen"}
    (home / "run").mkdir(mode=0o700)
    env.pop("CONNECTOR_DESK_HOME", None)

    def run(*args: str, keyring: bool = False) -> subprocess.CompletedProcess[str]:
        cmd = [exe, *args]
        if keyring:
            cmd = ["dbus-run-session", "--", "sh", "-c", KEYRING, "sh", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)

    p = run("--version")
    check(f"{where}: --version", p.returncode == 0 and p.stdout.strip() == f"connector-desk {__version__}",
          p.stdout.strip() or p.stderr[-300:])
    t0 = time.monotonic()
    p = run("--smoke")
    check(f"{where}: --smoke (window painted, offscreen)", p.returncode == 0,
          f"{(time.monotonic() - t0) * 1000:.0f} ms" if p.returncode == 0 else p.stderr[-500:])
    p = run("doctor", "--json", keyring=True)
    try:
        report = json.loads(p.stdout)
    except ValueError:
        report = {}
    check(f"{where}: keychain round trip", p.returncode == 0 and report.get("frozen") is True
          and "SecretService" in str(report.get("keychain_backend")), str(report.get("keychain_check")
                                                                          or p.stderr[-500:]))
    spec = home / "kafka.json"
    spec.write_text(json.dumps({"name": "smoke", "type": "kafka", "settings": {
        "bootstrap_servers": [f"127.0.0.1:{closed_port()}"], "security_protocol": "PLAINTEXT", "topic": "t"}}))
    p = run("validate", "--spec", str(spec), "--json")
    try:
        code = json.loads(p.stdout)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = p.stderr[-500:]
    check(f"{where}: validate --spec (Kafka plug-in loads) → connect_refused", p.returncode == 1 and
          code == "connect_refused", str(code))


def deb(path: Path) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    sudo = [] if os.geteuid() == 0 else ["sudo", "-E"]
    p = subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", str(path.resolve())],
                       capture_output=True, text=True, env=env)
    check("deb: apt-get install", p.returncode == 0, p.stderr[-500:] if p.returncode else str(path.name))
    files = [Path(f) for f in subprocess.run(["dpkg", "-L", "connector-desk"], capture_output=True, text=True,
                                             check=True).stdout.split() if f.strip()]
    owned = [f for f in files if f.is_file() or f.is_symlink()]
    for expected in ("/usr/bin/connector-desk", "/usr/share/applications/dev.connectordesk.ConnectorDesk.desktop",
                     "/usr/share/metainfo/dev.connectordesk.ConnectorDesk.metainfo.xml",
                     "/usr/share/icons/hicolor/256x256/apps/connector-desk.png"):
        check(f"deb: installs {expected}", Path(expected) in owned)
    try:
        exercise("/usr/bin/connector-desk", "deb")
    finally:
        p = subprocess.run([*sudo, "apt-get", "purge", "-y", "-qq", "connector-desk"], capture_output=True,
                           text=True, env=env)
    check("deb: purge", p.returncode == 0, p.stderr[-300:])
    left = [str(f) for f in owned if f.exists() or f.is_symlink()]
    left += [d for d in ("/usr/lib/connector-desk", "/usr/share/doc/connector-desk") if Path(d).exists()]
    check("deb: nothing left after purge", not left, ", ".join(left[:5]))


def nsis() -> None:
    stand_in = Path(tempfile.mkdtemp(prefix="cd-nsis-"))
    (stand_in / "_internal").mkdir()
    (stand_in / "connector-desk.exe").write_bytes(b"stand-in for the PyInstaller Windows build")
    out = stand_in / "setup.exe"
    p = subprocess.run(["makensis", "-V2", f"-DVERSION={__version__}", f"-DBUNDLE={stand_in}", f"-DOUTFILE={out}",
                        str(ROOT / "packaging/windows/connector-desk.nsi")], capture_output=True, text=True)
    check("Windows installer definition compiles (makensis)", p.returncode == 0 and out.read_bytes()[:2] == b"MZ",
          p.stdout[-500:] if p.returncode else f"{out.stat().st_size} bytes, PE")


def bundled_modules(bundle: Path) -> None:
    import pkgutil

    from PyInstaller.archive.readers import CArchiveReader

    import desktop

    pyz = CArchiveReader(str(bundle / "connector-desk")).open_embedded_archive("PYZ.pyz")
    ours = {"desktop"} | {m.name for m in pkgutil.walk_packages(desktop.__path__, "desktop.")}
    missing = sorted(ours - set(pyz.toc))
    check(f"bundle holds all {len(ours)} modules of the desktop package", not missing, ", ".join(missing))
    data = next((bundle / "_internal").glob("desktop/resources"), bundle / "desktop/resources")
    wanted = sorted(str(f.relative_to(ROOT / "resources")) for f in (ROOT / "resources").rglob("*")
                    if f.is_file() and "__pycache__" not in f.parts)
    absent = [w for w in wanted if not (data / w).is_file()]
    check(f"bundle holds the style sheet, icons and presets ({len(wanted)} files, no __pycache__)",
          not absent and not any(data.rglob("__pycache__")), ", ".join(absent[:5]))


def main() -> int:
    dist = Path(sys.argv[1])
    bundle = dist / "connector-desk"
    debs = sorted(dist.glob(f"connector-desk_{__version__}_*.deb"))
    print(f"Smoke test of the frozen build ({bundle}):")
    check("bundle and .deb exist", (bundle / "connector-desk").is_file() and len(debs) == 1, str(debs))
    bundled_modules(bundle)
    exercise(str(bundle / "connector-desk"), "bundle")
    deb(debs[0])
    nsis()
    print(f"smoke: {len(PASSED)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
