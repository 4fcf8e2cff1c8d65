"""Signature and timestamp checks, as the fake Binance server makes them (pure).

Deliberately *not* ``binance_twisted.signing``: the fake verifies with ``hmac`` and
``cryptography`` directly, from the rules in binance-platform.md §4.4/§4.5, so a signing bug
in the client shows up as ``-1022`` instead of being mirrored by shared code.

* WebSocket API payload: every param except ``signature``, sorted by name, ``name=value``
  joined with ``&``, values not percent-encoded, booleans ``true``/``false``.
* REST payload: the query string exactly as received (percent-encoded as sent), then the
  request body exactly as received, with the ``signature=…`` field taken out of whichever
  of the two carried it.
* HMAC-SHA256 signatures are hex (any case); RSA (PKCS#1 v1.5, SHA-256) and Ed25519 ones
  are base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote_plus

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from binance_twisted.testing._errors import ApiError, illegal_characters, mandatory

__all__ = [
    "SENSITIVE",
    "Credential",
    "check_timestamp",
    "make_credential",
    "redact",
    "redact_params",
    "redact_text",
    "rest_payload",
    "wsapi_payload",
]

#: Parameter names whose values never reach the log in full.
SENSITIVE = frozenset({"signature", "apiKey", "listenToken", "listenKey"})
_DIGITS = re.compile(r"[0-9]{1,20}")
_MAX_RECV_WINDOW = Decimal(60000)
_DEFAULT_RECV_WINDOW = Decimal(5000)
_AHEAD_MS = 1000
_MICROSECONDS = 10**15  # a timestamp this large is in µs (ms would be the year 33658)
_LONG_TOKEN = re.compile(r"[A-Za-z0-9]{40,}")
_SENSITIVE_JSON = re.compile(r'("(?:signature|apiKey|listenToken|listenKey)"\s*:\s*")([^"]*)"')


@attrs.frozen
class Credential:
    """How one API key's signatures are checked: ``key_type`` is HMAC, RSA or Ed25519."""

    key_type: str
    _secret: bytes | None = attrs.field(default=None, repr=False, alias="secret")
    _public_key: Any = attrs.field(default=None, repr=False, alias="public_key")

    def verify(self, payload: bytes, signature: str) -> bool:
        """Whether ``signature`` (hex for HMAC, base64 otherwise) signs ``payload``."""
        if self.key_type == "HMAC":
            assert self._secret is not None
            expected = hmac.new(self._secret, payload, hashlib.sha256).hexdigest()
            return hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8"))
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        try:
            if self.key_type == "RSA":
                self._public_key.verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())
            else:
                self._public_key.verify(raw, payload)
        except InvalidSignature:
            return False
        return True


def make_credential(
    secret: str | None, rsa_public_key_pem: bytes | None, ed25519_public_key_pem: bytes | None
) -> Credential:
    """The credential of exactly one of the three key kinds.

    Raises:
        ValueError: none or several given, or a PEM that is not a key of that kind.
    """
    given = [x is not None for x in (secret, rsa_public_key_pem, ed25519_public_key_pem)]
    if sum(given) != 1:
        raise ValueError("give exactly one of secret, rsa_public_key_pem, ed25519_public_key_pem")
    if secret is not None:
        return Credential("HMAC", secret=secret.encode("utf-8"))
    pem = rsa_public_key_pem if rsa_public_key_pem is not None else ed25519_public_key_pem
    assert pem is not None
    key = serialization.load_pem_public_key(pem)
    if rsa_public_key_pem is not None:
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("rsa_public_key_pem is not an RSA public key")
        return Credential("RSA", public_key=key)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise ValueError("ed25519_public_key_pem is not an Ed25519 public key")
    return Credential("Ed25519", public_key=key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def wsapi_payload(params: Mapping[str, Any]) -> bytes:
    """The WebSocket API signature payload of ``params`` (``signature`` left out)."""
    fields = sorted((name, value) for name, value in params.items() if name != "signature")
    return "&".join(f"{name}={_value(value)}" for name, value in fields).encode("utf-8")


def _without_signature(raw: bytes) -> tuple[bytes, str | None]:
    kept, signature = [], None
    for field in raw.split(b"&") if raw else []:
        name, _, value = field.partition(b"=")
        if name == b"signature":
            signature = unquote_plus(value.decode("latin-1"))
        else:
            kept.append(field)
    return b"&".join(kept), signature


def rest_payload(query: bytes, body: bytes) -> tuple[bytes, str | None]:
    """``(payload, signature)`` of a REST request: raw query + raw body, signature taken out.

    The signature is form-decoded (``%2B`` is ``+``, and an unencoded ``+`` is a space, as
    on Binance); ``None`` if neither part carried one.
    """
    query, in_query = _without_signature(query)
    body, in_body = _without_signature(body)
    return query + body, in_query if in_query is not None else in_body


def _integer(params: Mapping[str, Any], name: str) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise mandatory(name)
    text = _value(value)
    if not _DIGITS.fullmatch(text):
        raise illegal_characters(name)
    return int(text)


def check_timestamp(params: Mapping[str, Any], server_ms: int) -> None:
    """Binance's timing security (§4.5) on ``timestamp`` and the optional ``recvWindow``.

    Raises:
        ApiError: -1102/-1100 for a missing or non-numeric timestamp, -1131 for a bad
            recvWindow, -1021 when the timestamp is 1000 ms or more ahead of ``server_ms``
            or older than the window.
    """
    timestamp = _integer(params, "timestamp")
    if timestamp >= _MICROSECONDS:
        timestamp //= 1000
    window = _DEFAULT_RECV_WINDOW
    if params.get("recvWindow") not in (None, ""):
        try:
            window = Decimal(_value(params["recvWindow"]))
        except InvalidOperation:
            raise ApiError(400, -1131, "recvWindow must be less than 60000") from None
        if not 0 < window <= _MAX_RECV_WINDOW:
            raise ApiError(400, -1131, "recvWindow must be less than 60000")
    if timestamp >= server_ms + _AHEAD_MS:
        msg = "Timestamp for this request was 1000ms ahead of the server's time."
        raise ApiError(400, -1021, msg)
    if server_ms - timestamp > window:
        raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")


def redact(value: Any) -> str:
    """The first four characters of a secret-ish value, then an ellipsis."""
    return _value(value)[:4] + "…"


def redact_params(params: Any) -> Any:
    """``params`` with every :data:`SENSITIVE` value redacted (non-dicts unchanged)."""
    if not isinstance(params, dict):
        return params
    return {name: redact(v) if name in SENSITIVE else v for name, v in params.items()}


def redact_text(text: str) -> str:
    """Redact listen keys (long alphanumeric runs) and sensitive JSON fields in free text."""
    text = _SENSITIVE_JSON.sub(lambda m: f'{m[1]}{m[2][:4]}…"', text)
    return _LONG_TOKEN.sub(lambda m: m[0][:4] + "…", text)
