"""Whole-process speed of the command line (issue #18), side by side in one run, interleaved:

- swaks vs `connector-desk validate --spec` (SMTP: EHLO, STARTTLS, AUTH, MAIL, RCPT, QUIT) against
  the real local Postfix; target ≤ 2×;
- curl's EXAMINE vs `validate --spec` (IMAP) against the real Dovecot; target ≤ 3×;
- `validate NAME` (a saved connector: catalogue + its password in the real gnome-keyring) vs
  `validate --spec` of the same server, for SMTP and IMAP; target ≤ 1.2×;
- floors: `python -c pass`, `python -c "import ssl"`, `connector-desk --version`.

    PYTHONPATH=. .venv/bin/python bench/bench_cli.py [--record] [--importtime] [--dev]

Our commands run as INSTALLED: the working tree is built into a wheel (pip, in an isolated build),
installed with pip into a fresh venv of the same interpreter and byte-compiled; that venv sees the dev
venv's third-party packages through one plain-path `.pth` line (a path, not code: none of the dev
venv's own `.pth` files runs). The dev venv's editable install (`pip install -e .`) imports setuptools'
editable finder at every interpreter start (~10 ms, most of it modules a command imports anyway) that
no installed copy has; `--dev` measures the dev venv as before (this tree's code on PYTHONPATH) for
comparison. Both interpreters' `python -c pass` are printed, and the dev venv's `validate --spec` runs
beside the installed one. The commands run from a scratch folder, so no `desktop` in the current folder is found.

It runs itself inside a private D-Bus session with an unlocked gnome-keyring (as bench_team.py does).
--record puts the numbers at the top of bench/RESULTS.md; --importtime adds the `-X importtime` table
of each command (the modules that take longest, cumulative). `make bench` runs it with --record.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run_bench import RUNS, add_section, fmt, interleaved, timed  # noqa: E402

INNER = "BENCH_CLI_INNER"


def in_keyring_session() -> int:
    home = Path(tempfile.mkdtemp(prefix="bench-cli-home-"))
    (home / "runtime").mkdir(mode=0o700)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "runtime"),
           "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache"), INNER: "1"}
    script = 'echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "$@"'
    try:
        return subprocess.call(["dbus-run-session", "--", "sh", "-c", script, "sh", sys.executable, *sys.argv],
                               env=env, cwd=ROOT)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def cli(python: str, *args: str) -> list[str]:
    """The command as a user runs it (the console script) with the interpreter ``python``."""
    script = Path(python).parent / "connector-desk"
    return [python, str(script), *args] if script.exists() else [python, "-m", "desktop", *args]


def run_checked(cmd: list[str], what: str) -> str:
    """Run a step of the set-up (without PYTHONPATH: nothing of the tree's on the path); its output."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed: {r.stdout[-2000:]} {r.stderr[-2000:]}")
    return r.stdout


def install_wheel(work: Path) -> str:
    """This working tree built into a wheel and installed into a fresh venv; its interpreter."""
    src = work / "wheel-src"  # a copy: the build leaves build/ and *.egg-info beside its sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("desktop", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = work / "wheel"
    run_checked([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
                "building the wheel")
    wheel = next(dist.glob("connector_desk-*.whl"))
    venv = work / "venv"
    run_checked([sys.executable, "-m", "venv", "--without-pip", str(venv)], "making the venv")
    python = str(venv / "bin" / "python")
    # Installed while the venv sees nothing else, so pip finds no other connector-desk to replace.
    run_checked([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index",
                 str(wheel)], "installing the wheel")
    site = Path(run_checked([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                            "asking the venv for its site-packages").strip())
    run_checked([python, "-m", "compileall", "-q", str(site / "desktop")], "byte-compiling")
    (site / "_bench_dev_venv_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def check_installed(python: str, env: dict[str, str]) -> str:
    """That ``python`` runs the installed copy: `desktop` from its venv, no editable finder at start-up."""
    probe = "import desktop.cli, sys; print(desktop.cli.__file__); print(sys.prefix)"
    r = subprocess.run([python, "-X", "importtime", "-c", probe], env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    where, prefix = r.stdout.splitlines()
    if "__editable__" in r.stderr or not where.startswith(prefix) or Path(where).is_relative_to(ROOT):
        raise RuntimeError(f"not the installed copy: desktop.cli from {where}; {r.stderr[-1000:]}")
    return where


def importtime(cmd: list[str], env: dict[str, str], top: int = 12) -> list[str]:
    """The slowest imports of one run of ``cmd`` (cumulative µs, as `-X importtime` reports them)."""
    r = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    rows: list[tuple[int, int, str]] = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cum_us, name = line.split(":", 1)[1].split("|", 2)
        rows.append((int(self_us), int(cum_us), name.rstrip()))
    total = sum(s for s, _c, _n in rows)
    outer = sorted(((c, n[1:]) for _s, c, n in rows if len(n) - len(n.lstrip()) <= 3), reverse=True)
    out = [f"{len(rows)} modules, {total / 1000:.1f} ms importing in all; the slowest imported at the top "
           "level or by it (cumulative):"]
    out += [f"{c / 1000:6.1f} ms  {n}" for c, n in outer[:top]]
    return out


PHASES = """
import atexit, sys, time
marks = [("start", time.time())]
import desktop.cli as cli
import desktop.core.service as service
marks.append(("imports of cli and service", time.time()))

def wrap(owner, name, label):
    orig = getattr(owner, name)
    def timed(*a, **k):
        marks.append((f"(before {label})", time.time()))
        out = orig(*a, **k)
        marks.append((label, time.time()))
        return out
    setattr(owner, name, timed)

def report():  # an exit handler: the command ends the process itself (cli._exit_now)
    marks.append(("printing, output flushed, exit handlers", time.time()))
    print(repr(marks), file=sys.stderr, flush=True)

wrap(cli, "_desk_for", "catalogue/workspace (Desk)")
wrap(service.Desk, "load_secrets", "keychain: the password")
wrap(service.Desk, "validate", "validation (protocol imports, TLS context, session)")
wrap(service.Desk, "record", "status write")
atexit.register(report)
cli.main()  # as the console script calls it
"""


def phases(python: str, args: list[str], env: dict[str, str], runs: int = 7) -> list[str]:
    """Where one whole `connector-desk ARGS` process spends its time, medians of ``runs``: start-up
    of the interpreter, then the phases of the command, then the interpreter's exit."""
    import ast
    import statistics
    import time
    rows: dict[str, list[float]] = {}
    for _ in range(runs):
        t0 = time.time()
        r = subprocess.run([python, "-c", PHASES, *args], env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        t_end = time.time()
        marks = ast.literal_eval(r.stderr.strip().splitlines()[-1])
        steps = [("interpreter start-up (site, .pth files)", marks[0][1] - t0)]
        last = marks[0][1]
        for label, t in marks[1:]:
            steps.append((label, t - last))
            last = t
        steps.append(("process exit", t_end - last))
        steps.append(("whole process", t_end - t0))
        for label, dt in steps:
            rows.setdefault(label, []).append(dt * 1000)
    return [f"{statistics.median(v):6.1f} ms  {label}" for label, v in rows.items()]


def main() -> int:
    import compileall

    from tests.servers.certs import TestCA
    from tests.servers.mailserver import MailServers, MailUser
    work = Path(tempfile.mkdtemp(prefix="cd-bench-cli-"))
    os.chdir(work)  # the commands' current folder: `python -c` puts it first on sys.path
    if "--dev" in sys.argv:
        compileall.compile_dir(str(ROOT / "desktop"), quiet=1)  # as a wheel install would have it
        python = sys.executable
    else:
        python = install_wheel(work)
    ca = TestCA(work / "ca")
    user = MailUser("bench@example.test", "bench-password-1")
    mail = MailServers(work / "mail", ca, [user, MailUser("rcpt@example.test", "x-password-2")])
    mail.start()
    try:
        return run(python, work, ca, user, mail)
    finally:
        mail.stop()
        shutil.rmtree(work, ignore_errors=True)


def run(python: str, work: Path, ca: object, user: object, mail: object) -> int:
    ca_file = str(ca.ca_file)  # type: ignore[attr-defined]
    address, password = user.address, user.password  # type: ignore[attr-defined]
    ports = mail.ports  # type: ignore[attr-defined]
    smtp = {"name": "bench-smtp", "type": "smtp",
            "settings": {"host": "localhost", "port": ports["submission"], "security": "starttls",
                         "username": address, "from_address": address, "ca_file": ca_file},
            "admin": {"test_recipient": "rcpt@example.test"}, "secrets": {"password": {"env": "BENCH_PW"}}}
    imap = {"name": "bench-imap", "type": "imap",
            "settings": {"host": "localhost", "port": ports["imap"], "security": "starttls",
                         "username": address, "ca_file": ca_file, "mailbox": "INBOX"},
            "secrets": {"password": {"env": "BENCH_PW"}}}
    for doc in (smtp, imap):
        (work / f"{doc['name']}.json").write_text(json.dumps(doc))
    # The private HOME of this session (no CONNECTOR_DESK_HOME): the data folder a user's would be.
    dev = "--dev" in sys.argv
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"BENCH_PW": password}
    if dev:
        env["PYTHONPATH"] = str(ROOT)  # this tree's code, not the one the editable install points at
        where = f"the dev venv ({sys.prefix}: editable install, this tree on PYTHONPATH)"
    else:
        where = f"the wheel of this tree installed in a fresh venv (desktop.cli: {check_installed(python, env)})"

    def ours(*args: str) -> list[str]:
        return cli(python, *args)

    timed(ours("import", str(work / "bench-smtp.json"), str(work / "bench-imap.json")), env)

    swaks = ["swaks", "--server", "localhost", "--port", str(ports["submission"]), "--tls", "--tls-verify",
             "--tls-ca-path", ca_file, "--auth", "PLAIN", "--auth-user", address, "--auth-password", password,
             "--from", address, "--to", "rcpt@example.test", "--quit-after", "RCPT", "--hide-all"]
    curl = ["curl", "-s", "--ssl-reqd", "--cacert", ca_file, "-u", f"{address}:{password}",
            f"imap://localhost:{ports['imap']}/INBOX", "-X", "EXAMINE INBOX"]
    spec = {kind: ["validate", "--spec", str(work / f"bench-{kind.lower()}.json")] for kind in ("SMTP", "IMAP")}
    contenders: dict[str, list[str]] = {
        "python -c pass": [python, "-c", "pass"],
        'python -c "import ssl"': [python, "-c", "import ssl"],
        "connector-desk --version": ours("--version"),
        "swaks (SMTP session)": swaks,
        "validate --spec SMTP": ours(*spec["SMTP"]),
        "validate NAME SMTP": ours("validate", "bench-smtp"),
        "curl EXAMINE (IMAP)": curl,
        "validate --spec IMAP": ours(*spec["IMAP"]),
        "validate NAME IMAP": ours("validate", "bench-imap"),
    }
    envs = {name: env for name in contenders}
    if not dev:  # the dev venv beside it, in the same run: its floor (the editable finder) and `--spec`
        dev_env = env | {"PYTHONPATH": str(ROOT)}
        beside = {"python -c pass": ("python -c pass (dev venv, editable finder)", [sys.executable, "-c", "pass"])}
        for kind, args in spec.items():
            beside[f"validate --spec {kind}"] = (f"validate --spec {kind} (dev venv)", cli(sys.executable, *args))
        ordered: dict[str, list[str]] = {}
        for name, cmd in contenders.items():
            ordered[name] = cmd
            if name in beside:
                extra, extra_cmd = beside[name]
                ordered[extra], envs[extra] = extra_cmd, dev_env
        contenders = ordered
    fns: list[Callable[[], float]] = [partial(timed, c, envs[n]) for n, c in contenders.items()]
    got = dict(zip(contenders, interleaved(fns), strict=True))
    med = {k: v["median"] for k, v in got.items()}

    def ratio(a: str, b: str, target: float) -> str:
        r = med[a] / med[b]
        return f"{a} / {b}: **{r:.2f}×** (target ≤ {target:g}×{'' if r <= target else ', NOT met'})"

    lines = [f"Connector Desk's commands run from {where}.", "",
             f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores (shared); "
             f"`bench/bench_cli.py{' --dev' if dev else ''}`: whole processes, interleaved run by run, "
             f"{RUNS} runs each after one warm-up, medians; real Postfix + Dovecot on loopback (test CA given "
             "as the CA file), the saved connectors' passwords in a real gnome-keyring; the package "
             "byte-compiled first.", ""]
    lines += [f"- {name}: {fmt(s)}" for name, s in got.items()]
    lines += ["", "- " + ratio("validate --spec SMTP", "swaks (SMTP session)", 2),
              "- " + ratio("validate --spec IMAP", "curl EXAMINE (IMAP)", 3),
              "- " + ratio("validate NAME SMTP", "validate --spec SMTP", 1.2),
              "- " + ratio("validate NAME IMAP", "validate --spec IMAP", 1.2),
              f"- above the interpreter's floor (`python -c pass`): --spec SMTP "
              f"+{med['validate --spec SMTP'] - med['python -c pass']:.0f} ms, swaks "
              f"{med['swaks (SMTP session)']:.0f} ms; --spec IMAP "
              f"+{med['validate --spec IMAP'] - med['python -c pass']:.0f} ms, curl "
              f"{med['curl EXAMINE (IMAP)']:.0f} ms"]
    if not dev:
        finder = med["python -c pass (dev venv, editable finder)"] - med["python -c pass"]
        lines += [f"- the dev venv in the same run (not what a user runs): its interpreter's start-up "
                  f"+{finder:.1f} ms (the editable finder); "
                  + ratio("validate --spec SMTP (dev venv)", "swaks (SMTP session)", 2) + "; "
                  + ratio("validate --spec IMAP (dev venv)", "curl EXAMINE (IMAP)", 3)]
    if "--importtime" in sys.argv:
        imap_args = {"validate --spec IMAP": spec["IMAP"],
                     "validate NAME IMAP": ["validate", "bench-imap"]}
        for name, args in imap_args.items():
            lines += ["", f"Where `{name}` spends its time (phases, medians of 7):", "", "```",
                      *phases(python, args, env), "```"]
            lines += ["", f"`-X importtime` of {name}:", "", "```", *importtime(contenders[name], env), "```"]
    print("\n".join(lines), flush=True)
    if "--record" in sys.argv:
        record(lines)
    return 0


def record(lines: list[str]) -> None:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    mode = " (dev venv)" if "--dev" in sys.argv else ""
    add_section(f"Command-line speed (issue #18), run of {when}{mode}", "\n" + "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main() if os.environ.get(INNER) else in_keyring_session())
