"""Export files: connector documents with secret references, or — with a passphrase — a bundle
whose secrets are sealed (scrypt + AES-GCM). Never a plaintext secret in a file.

A sealed export (version 2) authenticates the whole file: the AES-GCM associated data is a
canonical serialisation of everything in it except the sealed blob (format, version, KDF, every
connector document). Changing a host, a port or anything else after sealing makes the import
refuse the file. Version 1 files (sealed secrets only, documents unprotected) are refused unless
the user opts in with ``CONNECTOR_DESK_ACCEPT_UNCHECKED_EXPORT=1``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from desktop.core import crypto
from desktop.core.errors import FieldError, InputErrors
from desktop.core.secret import Secret

FORMAT = "connector-desk-export"
VERSION = 2
_AAD_V2 = b"connector-desk-export/v2\n"
_CHECK = b"passphrase-check"
UNCHECKED_OPT_IN = "CONNECTOR_DESK_ACCEPT_UNCHECKED_EXPORT"


HINTS = {"file": "Export the connectors again from the original and import that file; a sealed export must not "
                 "be edited.",
         "passphrase": "Type the passphrase chosen when the file was exported (it is case-sensitive)."}


def _bad(field: str, problem: str) -> InputErrors:
    err = InputErrors([FieldError(field, problem)])
    err.hint = HINTS.get(field, err.hint)  # "correct the field" fits neither a changed file nor a passphrase
    return err


def canonical(data: Mapping[str, Any]) -> bytes:
    """The bytes a sealed export authenticates: the file without its blob, in one fixed form."""
    body = dict(data)
    sealed = dict(body.get("sealed_secrets") or {})
    sealed.pop("blob", None)
    body["sealed_secrets"] = sealed
    return _AAD_V2 + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                                allow_nan=True).encode("ascii")


def check_passphrase(passphrase: str | None, names: Iterable[str] = ()) -> str:
    if not passphrase:
        raise _bad("passphrase", "an export with secrets needs a passphrase: set "
                                 "CONNECTOR_DESK_EXPORT_PASSPHRASE or type it when asked")
    reason = crypto.weak_passphrase(passphrase, names)
    if reason:
        raise _bad("passphrase", reason)
    return passphrase


def make(documents: list[dict[str, Any]], secrets: Mapping[str, Mapping[str, Secret]] | None = None,
         passphrase: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION, "connectors": documents}
    if secrets is not None:
        passphrase = check_passphrase(passphrase, [str(d.get("name", "")) for d in documents])
        kdf = crypto.new_kdf()
        key = crypto.derive(passphrase, crypto.unb64(kdf["salt"]), kdf)
        for doc in documents:
            doc["secrets"] = {k: {"sealed": True} for k in secrets.get(doc["name"], {})}
        out["sealed_secrets"] = {"kdf": kdf, "check": crypto.b64(crypto.seal(key, _CHECK, _CHECK))}
        plain = json.dumps({n: {k: v.reveal() for k, v in s.items()} for n, s in secrets.items()}).encode()
        out["sealed_secrets"]["blob"] = crypto.b64(crypto.seal(key, plain, canonical(out)))
    return out


def documents_of(data: Any) -> list[Any]:
    """The connector documents in a file: one document, a list, or an export bundle."""
    if isinstance(data, dict) and data.get("format") == FORMAT:
        docs = data.get("connectors")
        if not isinstance(docs, list):
            raise InputErrors([FieldError("connectors", "must be a list of connector documents")])
        return docs
    if isinstance(data, list):
        return data
    return [data]


def _b64_field(sealed: Mapping[str, Any], name: str) -> bytes:
    value = sealed.get(name)
    try:
        if isinstance(value, str):
            return crypto.unb64(value)
    except ValueError:
        pass
    raise _bad(f"sealed_secrets.{name}", "is missing or not valid base64")


def _key(sealed: Mapping[str, Any], passphrase: str) -> bytes:
    try:
        kdf = crypto.kdf_from(sealed.get("kdf"), "sealed_secrets.kdf")
    except crypto.BadParams as exc:
        raise _bad(exc.field, exc.problem) from None
    return crypto.derive(passphrase, kdf["salt"], kdf)


def _unseal_v2(data: Mapping[str, Any], sealed: Mapping[str, Any], passphrase: str) -> bytes:
    check, blob = _b64_field(sealed, "check"), _b64_field(sealed, "blob")
    key = _key(sealed, passphrase)
    try:
        crypto.unseal(key, check, _CHECK)
    except crypto.WrongKey:
        raise _bad("passphrase", "is wrong for this export") from None
    try:
        return crypto.unseal(key, blob, canonical(data))
    except crypto.WrongKey:
        raise _bad("file", "was changed after it was sealed (its settings no longer match the sealed "
                           "secrets); nothing was imported — export it again from the original") from None


def _unseal_v1(sealed: Mapping[str, Any], passphrase: str) -> bytes:
    if os.environ.get(UNCHECKED_OPT_IN) != "1":
        raise _bad("file", "was sealed by an older Connector Desk that did not protect its settings against "
                           "changes; export it again with this version, or set "
                           f"{UNCHECKED_OPT_IN}=1 if you are sure nobody changed it")
    blob = _b64_field(sealed, "blob")
    try:
        return crypto.unseal(_key(sealed, passphrase), blob, FORMAT.encode())
    except crypto.WrongKey:
        raise _bad("passphrase", "is wrong for this export") from None


def open_sealed(data: Any, passphrase: str | None) -> dict[str, dict[str, Secret]]:
    if not (isinstance(data, dict) and "sealed_secrets" in data):
        return {}
    sealed = data["sealed_secrets"]
    if not isinstance(sealed, dict):
        raise _bad("sealed_secrets", "must be an object")
    version = data.get("version")
    if type(version) is not int or version not in (1, VERSION):
        raise _bad("version", f"this Connector Desk reads export versions 1 and {VERSION}, not {version!r}")
    if not passphrase:
        raise _bad("passphrase", "this export holds sealed secrets: give its passphrase")
    plain = _unseal_v2(data, sealed, passphrase) if version == VERSION else _unseal_v1(sealed, passphrase)
    try:
        raw = json.loads(plain)
        return {str(n): {str(k): Secret(str(v)) for k, v in s.items()} for n, s in raw.items()}
    except (ValueError, AttributeError):
        raise _bad("sealed_secrets.blob", "does not hold sealed secrets") from None


def strip_sealed_refs(doc: Any) -> Any:
    """A document from a sealed bundle, with its ``{"sealed": true}`` markers removed."""
    if isinstance(doc, dict) and isinstance(doc.get("secrets"), dict):
        doc = dict(doc)
        doc["secrets"] = {k: v for k, v in doc["secrets"].items() if v != {"sealed": True}}
    return doc
