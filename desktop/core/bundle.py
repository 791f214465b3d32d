"""Export files: connector documents with secret references, or — with a passphrase — a bundle
whose secrets are sealed (scrypt + AES-GCM). Never a plaintext secret in a file."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from desktop.core import crypto
from desktop.core.errors import FieldError, InputErrors
from desktop.core.secret import Secret

FORMAT = "connector-desk-export"


def make(documents: list[dict[str, Any]], secrets: Mapping[str, Mapping[str, Secret]] | None = None,
         passphrase: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"format": FORMAT, "version": 1, "connectors": documents}
    if secrets is not None:
        if not passphrase or len(passphrase) < 8:
            raise InputErrors([FieldError("passphrase", "an export with secrets needs a passphrase of "
                                                        "at least 8 characters")])
        salt = os.urandom(16)
        key = crypto.derive(passphrase, salt)
        plain = json.dumps({n: {k: v.reveal() for k, v in s.items()} for n, s in secrets.items()}).encode()
        out["sealed_secrets"] = {"kdf": {"name": "scrypt", "salt": crypto.b64(salt), **crypto.SCRYPT},
                                 "blob": crypto.b64(crypto.seal(key, plain, FORMAT.encode()))}
        for doc in documents:
            doc["secrets"] = {k: {"sealed": True} for k in secrets.get(doc["name"], {})}
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


def open_sealed(data: Any, passphrase: str | None) -> dict[str, dict[str, Secret]]:
    if not (isinstance(data, dict) and "sealed_secrets" in data):
        return {}
    if not passphrase:
        raise InputErrors([FieldError("passphrase", "this export holds sealed secrets: give its passphrase")])
    sealed = data["sealed_secrets"]
    key = crypto.derive(passphrase, crypto.unb64(sealed["kdf"]["salt"]), sealed["kdf"])
    try:
        plain = crypto.unseal(key, crypto.unb64(sealed["blob"]), FORMAT.encode())
    except crypto.WrongKey:
        raise InputErrors([FieldError("passphrase", "is wrong for this export")]) from None
    raw = json.loads(plain)
    return {n: {k: Secret(v) for k, v in s.items()} for n, s in raw.items()}


def strip_sealed_refs(doc: Any) -> Any:
    """A document from a sealed bundle, with its ``{"sealed": true}`` markers removed."""
    if isinstance(doc, dict) and isinstance(doc.get("secrets"), dict):
        doc = dict(doc)
        doc["secrets"] = {k: v for k, v in doc["secrets"].items() if v != {"sealed": True}}
    return doc
