"""Build the .deb from the PyInstaller bundle (dist/connector-desk) with dpkg-deb, then check it with
lintian. The app goes to /usr/lib/connector-desk, with a launcher in /usr/bin, a .desktop entry,
AppStream metainfo, the hicolor icons and a manual page.   python packaging/linux/build_deb.py BUNDLE OUT_DIR"""

from __future__ import annotations

import datetime
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from desktop import __version__  # noqa: E402

APP_ID = "dev.connectordesk.ConnectorDesk"
HERE = ROOT / "packaging" / "linux"
ICONS = ROOT / "packaging" / "icons"
# What the bundled Qt needs from the system (the rest of its libraries travel in the bundle).
DEPENDS = ("libc6 (>= 2.31), libegl1, libgl1, libfontconfig1, libfreetype6, libxkbcommon0, libxkbcommon-x11-0, "
           "libdbus-1-3, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0, libxcb-randr0, "
           "libxcb-render-util0, libxcb-image0, libxcb-xinerama0, libx11-xcb1")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def build(bundle: Path, out_dir: Path) -> Path:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    stage = Path(tempfile.mkdtemp(prefix="cd-deb-"))
    try:
        lib = stage / "usr/lib/connector-desk"
        shutil.copytree(bundle, lib, symlinks=True)
        (stage / "usr/bin").mkdir(parents=True)
        os.symlink("../lib/connector-desk/connector-desk", stage / "usr/bin/connector-desk")
        share = stage / "usr/share"
        (share / "applications").mkdir(parents=True)
        shutil.copy(HERE / "connector-desk.desktop", share / "applications" / f"{APP_ID}.desktop")
        (share / "metainfo").mkdir()
        today = datetime.date.today().isoformat()
        (share / "metainfo" / f"{APP_ID}.metainfo.xml").write_text(
            (HERE / "connector-desk.metainfo.xml").read_text().replace("@VERSION@", __version__)
            .replace("@DATE@", today))
        for png in ICONS.glob("connector-desk-*.png"):
            size = png.stem.rsplit("-", 1)[1]
            target = share / "icons/hicolor" / f"{size}x{size}" / "apps"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(png, target / "connector-desk.png")
        scalable = share / "icons/hicolor/scalable/apps"
        scalable.mkdir(parents=True)
        shutil.copy(ROOT / "resources/icons/connector-desk.svg", scalable / "connector-desk.svg")
        (share / "man/man1").mkdir(parents=True)
        (share / "man/man1/connector-desk.1.gz").write_bytes(gz((HERE / "connector-desk.1").read_bytes()))
        doc = share / "doc/connector-desk"
        doc.mkdir(parents=True)
        (doc / "copyright").write_text(
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
            "Upstream-Name: connector-desk\n\nFiles: *\nCopyright: 2026 Connector Desk authors\n"
            "License: proprietary\n Bundled third-party components (Python, Qt/PySide6, keyring, cryptography,\n"
            " kafka-python, sendgrid) keep their own licenses; see usr/lib/connector-desk/_internal.\n")
        stamp = datetime.datetime.now(datetime.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        (doc / "changelog.gz").write_bytes(gz(
            f"connector-desk ({__version__}) unstable; urgency=medium\n\n  * Release {__version__}.\n\n"
            f" -- Connector Desk <packaging@connectordesk.dev>  {stamp}\n".encode()))
        lintian = share / "lintian/overrides"
        lintian.mkdir(parents=True)
        shutil.copy(HERE / "lintian-overrides", lintian / "connector-desk")
        launcher = lib / "connector-desk"
        libraries = [p for p in lib.rglob("*") if p.is_file() and not p.is_symlink() and ".so" in p.name]
        # Shared objects carry no debug symbols into the package (the launcher keeps its appended archive).
        subprocess.run(["strip", "--strip-unneeded", *map(str, libraries)], check=False, stderr=subprocess.DEVNULL)
        for path in stage.rglob("*"):  # root-owned; only directories and the launcher are executable
            if path.is_symlink():
                continue
            path.chmod(0o755 if path.is_dir() or path == launcher else 0o644)
        size_kb = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
        (stage / "DEBIAN").mkdir()
        (stage / "DEBIAN/control").write_text(
            f"Package: connector-desk\nVersion: {__version__}\nArchitecture: {arch}\n"
            "Maintainer: Connector Desk <packaging@connectordesk.dev>\nSection: net\nPriority: optional\n"
            f"Installed-Size: {size_kb}\nDepends: {DEPENDS}\nRecommends: gnome-keyring | kwalletmanager\n"
            "Homepage: https://connectordesk.dev\n"
            "Description: set up and check mail and messaging connectors\n"
            " Connector Desk creates SMTP, IMAP, Kafka and SendGrid connectors step by step,\n"
            " validates them live against the real server and says in plain words which\n"
            " step failed and what to do. Secrets are kept in the system keychain.\n")
        out_dir.mkdir(parents=True, exist_ok=True)
        deb = out_dir / f"connector-desk_{__version__}_{arch}.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(stage), str(deb)], check=True,
                       stdout=subprocess.DEVNULL)
        return deb
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def main() -> int:
    bundle, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    deb = build(bundle, out_dir)
    print(deb)
    if shutil.which("lintian"):
        # Errors fail the build; warnings are shown (the overrides file says why each accepted one is).
        proc = subprocess.run(["lintian", "--fail-on", "error", "--suppress-tags", "bad-distribution-in-changes-file",
                               str(deb)], capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            return proc.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
