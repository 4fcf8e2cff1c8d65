"""Request signing for Binance's REST and WebSocket APIs: HMAC-SHA256, RSA and Ed25519.

Binance rejects a bad signature with ``-1022`` and says nothing about which byte was wrong, so
the two payload builders here follow the platform rules exactly (``binance-platform.md`` §4.4):

- WebSocket API: every param except ``signature`` (``apiKey`` included), sorted by name, joined
  as ``name=value`` with ``&`` and *not* percent-encoded (:func:`ws_api_payload`).
- REST (since 2026-01-15): the query string and the body, each percent-encoded exactly as sent,
  concatenated without a separator, in the order sent (:func:`rest_payload`).

Signers hold secrets, so none of them shows its key in a ``repr``, an error message or a public
attribute, and none can be pickled by accident. The HMAC signer keeps only a pre-keyed HMAC
state, never the secret itself.

This module is pure: no I/O beyond reading a key file it is given, no logging, and no imports
from the rest of the package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, runtime_checkable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

__all__ = [
    "Ed25519Signer",
    "HmacSigner",
    "RsaSigner",
    "Signer",
    "load_signer",
    "rest_payload",
    "sign_rest_params",
    "sign_ws_params",
    "ws_api_payload",
]

# Binance accepts 2048- and 4096-bit RSA keys; anything smaller is weak and refused up front.
_MIN_RSA_BITS = 2048
# A PEM private key is a few KiB at most; refuse to slurp anything much bigger (e.g. a device).
_MAX_KEY_FILE_BYTES = 64 * 1024
_PEM_MARKER = b"-----BEGIN"
# Suffixes that make a string a file name, never an HMAC secret (those are alphanumeric).
_KEY_FILE_SUFFIXES = (".pem", ".key", ".der", ".p8")
_SUPPORTED = "supported key types: HMAC secret, RSA or Ed25519 PEM private key"


@runtime_checkable
class Signer(Protocol):
    """What the REST and WebSocket API clients need to sign a request, whatever the key type."""

    key_type: str
    """``"HMAC"``, ``"RSA"`` or ``"ED25519"``: ``session.logon`` accepts only Ed25519."""

    def sign(self, payload: bytes) -> str:
        """Return the signature of ``payload`` in the form Binance expects for this key type."""
        ...


class _SecretHolder:
    """Shared behaviour of signers: a repr with no secret, and no pickling or copying out."""

    __slots__ = ()
    key_type: str = ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        # A pickle of a signer would be the secret written to disk or sent over a wire.
        raise TypeError(f"{type(self).__name__} holds a secret and cannot be pickled")

    def __copy__(self) -> _SecretHolder:
        # Signers are immutable, so a copy may simply be the same object.
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _SecretHolder:
        return self


def _check_payload(payload: bytes) -> None:
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"payload must be bytes (encode the str as UTF-8), not {type(payload).__name__}"
        )


class HmacSigner(_SecretHolder):
    """HMAC-SHA256 with the API secret; lowercase hex output (Binance accepts either case)."""

    __slots__ = ("_mac",)
    key_type = "HMAC"

    def __init__(self, secret: str | bytes) -> None:
        """Key an HMAC-SHA256 state with ``secret``; only the keyed state is kept."""
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        elif not isinstance(secret, bytes):
            raise TypeError(f"secret must be str or bytes, not {type(secret).__name__}")
        if not secret.strip():
            raise ValueError("secret must not be empty")
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)

    def sign(self, payload: bytes) -> str:
        """Return ``hex(HMAC_SHA256(secret, payload))``."""
        _check_payload(payload)
        mac = self._mac.copy()
        mac.update(payload)
        return mac.hexdigest()


class RsaSigner(_SecretHolder):
    """RSASSA-PKCS1-v1_5 with SHA-256; base64 output (percent-encode it in a URL)."""

    __slots__ = ("_key",)
    key_type = "RSA"

    def __init__(
        self, private_key: rsa.RSAPrivateKey | str | bytes, password: bytes | None = None
    ) -> None:
        """Take an RSA private key object, or a PEM private key (optionally encrypted)."""
        key = _key_argument(private_key, password)
        if not isinstance(key, rsa.RSAPrivateKey):
            _wrong_key(private_key, key, "RSA")
        if key.key_size < _MIN_RSA_BITS:
            raise ValueError(
                f"private_key: RSA key is {key.key_size} bits; {_MIN_RSA_BITS} is the minimum"
            )
        self._key = key

    def sign(self, payload: bytes) -> str:
        """Return ``base64(RSA_PKCS1v15_SHA256(payload))``."""
        _check_payload(payload)
        signature = self._key.sign(bytes(payload), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")


class Ed25519Signer(_SecretHolder):
    """Ed25519; base64 output. The only key type ``session.logon`` accepts."""

    __slots__ = ("_key",)
    key_type = "ED25519"

    def __init__(
        self, private_key: ed25519.Ed25519PrivateKey | str | bytes, password: bytes | None = None
    ) -> None:
        """Take an Ed25519 private key object, or a PEM private key (optionally encrypted)."""
        key = _key_argument(private_key, password)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            _wrong_key(private_key, key, "Ed25519")
        self._key = key

    def sign(self, payload: bytes) -> str:
        """Return ``base64(Ed25519(payload))``."""
        _check_payload(payload)
        return base64.b64encode(self._key.sign(bytes(payload))).decode("ascii")


def _key_argument(private_key: object, password: bytes | None) -> object:
    """The key object given, or the one parsed from the PEM text given."""
    if isinstance(private_key, (str, bytes)):
        return _load_pem(_to_bytes(private_key), password, "private_key")
    if password is not None:
        raise ValueError("password is only used with a PEM private key")
    return private_key


def _wrong_key(given: object, key: object, wanted: str) -> NoReturn:
    message = f"private_key must be an {wanted} private key, not {_key_name(key)}"
    # Wrong content in a PEM is a bad value; a wrong object is a bad type.
    raise (ValueError if isinstance(given, (str, bytes)) else TypeError)(message)


def _to_bytes(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text


def _key_name(key: object) -> str:
    """A short, secret-free name for a key object's type."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC ({key.curve.name})"
    return type(key).__name__


def _load_pem(data: bytes, password: bytes | None, where: str) -> object:
    """Parse a PEM private key; errors name ``where`` (an argument or a path), never the key."""
    if password is not None and not isinstance(password, bytes):
        raise TypeError(f"password must be bytes or None, not {type(password).__name__}")
    reason: str | None = None
    try:
        return serialization.load_pem_private_key(data, password=password)
    except TypeError:
        # cryptography signals a password mismatch with TypeError.
        if password is None:
            reason = "the key is encrypted and no password was given"
        else:
            reason = "a password was given but the key is not encrypted"
    except UnsupportedAlgorithm:
        reason = "the key uses an unsupported algorithm"
    except ValueError:
        if b"PRIVATE KEY-----" not in data:
            reason = "no PEM private key found (a public key or certificate is not enough)"
        elif password is not None:
            reason = "the data is malformed or the password is wrong"
        else:
            reason = "the data is malformed"
    # Raised outside the except block so the cryptography error is not chained onto ours.
    raise ValueError(f"{where}: cannot load the PEM private key: {reason}")


def _signer_from_pem(data: bytes, password: bytes | None, where: str) -> Signer:
    key = _load_pem(data, password, where)
    if isinstance(key, rsa.RSAPrivateKey):
        return RsaSigner(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key)
    raise ValueError(f"{where}: unsupported private key type {_key_name(key)}; {_SUPPORTED}")


def _signer_from_file(
    path: str | os.PathLike[str] | os.PathLike[bytes], password: bytes | None
) -> Signer:
    """Load a PEM key file; errors name the path but never quote the file's contents."""
    where = f"key file {os.fsdecode(path)!r}"
    with open(path, "rb") as f:
        data = f.read(_MAX_KEY_FILE_BYTES + 1)
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise ValueError(f"{where} is too large to be a private key")
    if _PEM_MARKER not in data:
        raise ValueError(f"{where} is not a PEM private key")
    return _signer_from_pem(data, password, where)


def load_signer(
    private_key_or_secret: str | bytes | os.PathLike[str] | os.PathLike[bytes],
    password: bytes | None = None,
) -> Signer:
    """Build the right signer from whatever the user has: a secret, a PEM key, or a key file.

    - ``str``/``bytes`` containing ``-----BEGIN``: a PEM private key (PKCS#8 or traditional);
      RSA and Ed25519 are detected, other key types are refused.
    - an ``os.PathLike``, or a ``str`` naming an existing file: that file's PEM private key.
    - anything else: the HMAC secret.

    Errors never include the secret or the key text.
    """
    what = "private_key_or_secret"
    if isinstance(private_key_or_secret, os.PathLike):
        return _signer_from_file(private_key_or_secret, password)
    if not isinstance(private_key_or_secret, (str, bytes)):
        raise TypeError(
            f"{what} must be str, bytes or os.PathLike, not {type(private_key_or_secret).__name__}"
        )
    if not private_key_or_secret.strip():
        raise ValueError(f"{what} must not be empty")
    data = _to_bytes(private_key_or_secret)
    if _PEM_MARKER in data:
        return _signer_from_pem(data, password, what)
    if isinstance(private_key_or_secret, str):
        if os.path.isfile(private_key_or_secret):
            return _signer_from_file(private_key_or_secret, password)
        if private_key_or_secret.lower().endswith(_KEY_FILE_SUFFIXES):
            # A mistyped key path must not silently become an HMAC secret.
            raise ValueError(f"{what}: no such key file {private_key_or_secret!r}")
    if password is not None:
        raise ValueError(f"{what}: password is only used with a PEM private key")
    return HmacSigner(private_key_or_secret)


def _render(value: Any) -> str:
    """Render one param value the way it is sent: JSON literals for bools, lists and dicts."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"param names must be str, not {type(name).__name__}")
    return name


def _rendered_pairs(
    pairs: Sequence[tuple[str, Any]] | Mapping[str, Any], what: str
) -> list[tuple[str, str]]:
    """Pairs in the given order with values rendered and ``None`` values dropped."""
    if isinstance(pairs, (str, bytes)):
        raise TypeError(
            f"{what} must be a sequence of (name, value) pairs, not {type(pairs).__name__}"
        )
    items: Iterable[tuple[str, Any]] = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [(_check_name(name), _render(value)) for name, value in items if value is not None]


def ws_api_payload(params: Mapping[str, Any]) -> str:
    """The WebSocket API signing payload: sorted ``name=value`` pairs, not percent-encoded.

    Every param except ``signature`` takes part (``apiKey`` included); ``None`` values are
    skipped, as they are not sent. This is the raw form of Binance's documentation sample; the
    official SDK percent-encodes instead, and the two differ only for reserved characters.
    """
    names = sorted(_check_name(name) for name in params)
    return "&".join(
        f"{name}={_render(params[name])}"
        for name in names
        if name != "signature" and params[name] is not None
    )


def sign_ws_params(params: Mapping[str, Any], api_key: str, signer: Signer) -> dict[str, Any]:
    """Return a new params dict with ``apiKey`` (unless present) and its ``signature`` added.

    ``params`` itself is left untouched, so a caller can re-sign it with a fresh timestamp.
    """
    if not isinstance(api_key, str) or not api_key:
        raise ValueError("api_key must be a non-empty str")
    signed = {name: value for name, value in params.items() if name != "signature"}
    signed.setdefault("apiKey", api_key)
    signed["signature"] = signer.sign(ws_api_payload(signed).encode("utf-8"))
    return signed


def rest_payload(
    query: Sequence[tuple[str, Any]] | Mapping[str, Any] = (),
    body: Sequence[tuple[str, Any]] | Mapping[str, Any] = (),
) -> str:
    """The REST signing payload: the query string then the body, percent-encoded as sent.

    Neither part is sorted and they are joined without a separator; the server rebuilds the
    payload from the bytes it receives, so this must be exactly what goes on the wire.
    """
    return urllib.parse.urlencode(_rendered_pairs(query, "query")) + urllib.parse.urlencode(
        _rendered_pairs(body, "body")
    )


def sign_rest_params(
    params: Sequence[tuple[str, Any]] | Mapping[str, Any], signer: Signer
) -> list[tuple[str, str]]:
    """Render ``params`` for a query string and append their ``signature``.

    Send the result with ``urllib.parse.urlencode`` (which also percent-encodes a base64
    signature) so that the query string is exactly what was signed.
    """
    rendered = _rendered_pairs(params, "params")
    if any(name == "signature" for name, _ in rendered):
        raise ValueError("params must not already contain 'signature'")
    signature = signer.sign(rest_payload(rendered).encode("ascii"))
    return [*rendered, ("signature", signature)]
