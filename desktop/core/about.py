"""What an About box and `connector-desk doctor` show: the version, where data lives, the keychain
backend in use, and a keychain round trip proving it really stores and returns a secret."""

from __future__ import annotations

import platform
import secrets as _random
import sys
from typing import TYPE_CHECKING, Any

from desktop import __version__
from desktop.core import errors
from desktop.core.errors import ConnectorError
from desktop.core.secret import Secret

if TYPE_CHECKING:
    from desktop.core.service import Desk

PROBE = "connector-desk/keychain-check"


def facts(desk: Desk) -> dict[str, Any]:
    try:
        backend = desk.vault.backend_name
    except ConnectorError as exc:
        backend = f"unavailable: {exc.message}"
    return {"version": __version__, "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
            "frozen": bool(getattr(sys, "frozen", False)), "data_folder": str(desk.folder),
            "keychain_backend": backend}


def keychain_round_trip(desk: Desk) -> str:
    """Store a random value, read it back, delete it. Raises SECRET_STORE_UNAVAILABLE if any part fails."""
    value = Secret("probe-" + _random.token_hex(16))
    vault = desk.vault
    vault.set(PROBE, value)
    try:
        back = vault.get(PROBE)
    finally:
        vault.delete(PROBE)
    if back is None or back.reveal() != value.reveal():
        raise ConnectorError(errors.SECRET_STORE_UNAVAILABLE, "The keychain accepted a secret but returned "
                             "something else.", "Check the keychain (Secret Service, Keychain, Credential "
                             "Manager) for problems.")
    if vault.get(PROBE) is not None:
        raise ConnectorError(errors.SECRET_STORE_UNAVAILABLE, "The keychain did not delete a secret.",
                             "Check the keychain for problems.")
    return f"stored, read back and deleted a secret with {vault.backend_name}"


KEYCHAINS = (("SecretService", "Secret Service (GNOME Keyring, KeePassXC…)"), ("kwallet", "KWallet"),
             ("macOS", "macOS Keychain"), ("Windows", "Windows Credential Manager"))


def keychain_words(backend: str) -> str:
    """The keychain in words an administrator knows (the back-end's class name stays for a bug report)."""
    return next((words for part, words in KEYCHAINS if part.lower() in backend.lower()), backend)
