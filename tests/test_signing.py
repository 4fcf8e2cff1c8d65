"""Tests for binance_twisted.signing: payloads, HMAC/RSA/Ed25519 signers, key loading, secrecy."""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import pathlib
import pickle
import urllib.parse
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from binance_twisted.signing import (
    Ed25519Signer,
    HmacSigner,
    RsaSigner,
    Signer,
    load_signer,
    rest_payload,
    sign_rest_params,
    sign_ws_params,
    ws_api_payload,
)
from tests.vectors import (
    API_KEY,
    REST_PARAMS,
    REST_PAYLOAD,
    REST_SIGNATURE,
    SECRET,
    WS_PAYLOAD,
    WS_SIGNATURE,
)

PASSWORD = b"correct horse battery staple"


def ws_order_params() -> dict[str, Any]:
    """The §4.4 WS API order params, deliberately not in sorted order and without apiKey."""
    return {
        "type": "LIMIT",
        "timestamp": 1645423376532,
        "symbol": "BTCUSDT",
        "timeInForce": "GTC",
        "side": "SELL",
        "recvWindow": 100,
        "quantity": "0.01000000",
        "price": "52000.00",
    }


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def pem(
    key: Any,
    password: bytes | None = None,
    fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password is not None
        else serialization.NoEncryption()
    )
    data: bytes = key.private_bytes(serialization.Encoding.PEM, fmt, encryption)
    return data


def pem_lines(data: bytes) -> list[str]:
    return [line for line in data.decode("ascii").splitlines() if line.strip()]


def verify_rsa(key: rsa.RSAPrivateKey, signature: str, payload: bytes) -> None:
    raw = base64.b64decode(signature, validate=True)
    key.public_key().verify(raw, payload, padding.PKCS1v15(), hashes.SHA256())


def verify_ed25519(key: ed25519.Ed25519PrivateKey, signature: str, payload: bytes) -> None:
    key.public_key().verify(base64.b64decode(signature, validate=True), payload)


class SecretFreeMixin:
    """Assertions that a text shows none of the given secrets."""

    def assertSecretFree(self, text: str, secrets: list[str]) -> None:
        case: Any = self
        case.assertTrue(secrets, "nothing to look for")
        for secret in secrets:
            case.assertNotIn(secret, text)


class HmacVectorTests(SynchronousTestCase):
    """The two HMAC test vectors of binance-platform.md §4.4."""

    def test_ws_api_payload_sorted(self) -> None:
        """The WS API payload sorts every param, apiKey included, regardless of input order."""
        params = {**ws_order_params(), "apiKey": API_KEY}
        self.assertNotEqual(list(params), sorted(params))
        self.assertEqual(ws_api_payload(params), WS_PAYLOAD)

    def test_ws_api_signature(self) -> None:
        """sign_ws_params adds apiKey and the documented signature aa1b5712…."""
        signed = sign_ws_params(ws_order_params(), API_KEY, HmacSigner(SECRET))
        self.assertEqual(signed["apiKey"], API_KEY)
        self.assertEqual(signed["signature"], WS_SIGNATURE)
        self.assertEqual(ws_api_payload(signed), WS_PAYLOAD)

    def test_rest_payload_as_sent(self) -> None:
        """The REST payload keeps the order sent and renders numbers with str()."""
        self.assertEqual(rest_payload(REST_PARAMS), REST_PAYLOAD)

    def test_rest_signature(self) -> None:
        """sign_rest_params appends the documented signature c8db5682… after the params."""
        signed = sign_rest_params(REST_PARAMS, HmacSigner(SECRET))
        self.assertEqual(signed[:-1], [(name, str(value)) for name, value in REST_PARAMS])
        self.assertEqual(signed[-1], ("signature", REST_SIGNATURE))
        self.assertEqual(
            urllib.parse.urlencode(signed), f"{REST_PAYLOAD}&signature={REST_SIGNATURE}"
        )

    def test_bytes_secret(self) -> None:
        """A bytes secret signs exactly like the same secret as str."""
        self.assertEqual(HmacSigner(SECRET.encode()).sign(REST_PAYLOAD.encode()), REST_SIGNATURE)

    def test_load_signer_secret(self) -> None:
        """load_signer treats a plain string as the HMAC secret."""
        signer = load_signer(SECRET)
        self.assertIsInstance(signer, HmacSigner)
        self.assertEqual(signer.key_type, "HMAC")
        self.assertEqual(signer.sign(WS_PAYLOAD.encode()), WS_SIGNATURE)

    def test_str_payload_refused(self) -> None:
        """sign() wants bytes, so an unencoded str is a TypeError rather than a guess."""
        self.assertRaises(TypeError, HmacSigner(SECRET).sign, WS_PAYLOAD)

    def test_empty_secret_refused(self) -> None:
        """An empty or blank secret is refused by the signer and by load_signer."""
        for secret in ("", b"", "  \n"):
            exc = self.assertRaises(ValueError, HmacSigner, secret)
            self.assertEqual(str(exc), "secret must not be empty")
            exc = self.assertRaises(ValueError, load_signer, secret)
            self.assertEqual(str(exc), "private_key_or_secret must not be empty")


class WsApiPayloadTests(SynchronousTestCase):
    """Rendering rules of the WebSocket API payload."""

    def test_bools(self) -> None:
        """Booleans render as JSON literals, not Python's True/False."""
        self.assertEqual(ws_api_payload({"b": False, "a": True}), "a=true&b=false")

    def test_lists_and_dicts_compact_json(self) -> None:
        """Lists, tuples and dicts render as compact JSON."""
        params = {"symbols": ["BTCUSDT", "BNBUSDT"], "t": ("x", 1), "d": {"k": [1, 2]}}
        self.assertEqual(
            ws_api_payload(params),
            'd={"k":[1,2]}&symbols=["BTCUSDT","BNBUSDT"]&t=["x",1]',
        )

    def test_none_skipped(self) -> None:
        """None values are left out, as they are not sent."""
        self.assertEqual(ws_api_payload({"a": 1, "b": None, "c": "x"}), "a=1&c=x")

    def test_not_percent_encoded(self) -> None:
        """Reserved and non-ASCII characters stay raw, as in Binance's documentation sample."""
        payload = ws_api_payload({"clientOrderId": "a+b/c d=é", "list": ["é/+"]})
        self.assertEqual(payload, 'clientOrderId=a+b/c d=é&list=["é/+"]')

    def test_signature_excluded(self) -> None:
        """An existing signature param is not part of the payload."""
        self.assertEqual(ws_api_payload({"signature": "old", "b": 2, "a": 1}), "a=1&b=2")

    def test_other_mappings(self) -> None:
        """Any Mapping is accepted, not just dict."""
        self.assertEqual(ws_api_payload(MappingProxyType({"z": 1, "y": 2})), "y=2&z=1")

    def test_non_str_name_refused(self) -> None:
        """A param name that is not a str is a TypeError."""
        self.assertRaises(TypeError, ws_api_payload, {1: "x"})


class SignWsParamsTests(SynchronousTestCase):
    """sign_ws_params returns a fresh, signed copy."""

    def test_input_not_modified(self) -> None:
        """The caller's dict is left untouched and a new dict is returned."""
        params = ws_order_params()
        before = dict(params)
        signed = sign_ws_params(params, API_KEY, HmacSigner(SECRET))
        self.assertEqual(params, before)
        self.assertIsNot(signed, params)
        self.assertEqual(signed, {**before, "apiKey": API_KEY, "signature": WS_SIGNATURE})

    def test_existing_api_key_kept(self) -> None:
        """An apiKey already in params wins over the api_key argument and is what gets signed."""
        params = {**ws_order_params(), "apiKey": API_KEY}
        signed = sign_ws_params(params, "other-key", HmacSigner(SECRET))
        self.assertEqual(signed["apiKey"], API_KEY)
        self.assertEqual(signed["signature"], WS_SIGNATURE)

    def test_existing_signature_replaced(self) -> None:
        """A stale signature is neither signed nor kept."""
        params = {**ws_order_params(), "signature": "stale"}
        signed = sign_ws_params(params, API_KEY, HmacSigner(SECRET))
        self.assertEqual(signed["signature"], WS_SIGNATURE)
        self.assertEqual(params["signature"], "stale")

    def test_logon_payload(self) -> None:
        """session.logon/subscribe.signature params sign "apiKey=..&timestamp=.." (§3.2, §4.6)."""
        key = ed25519_key()
        signed = sign_ws_params({"timestamp": 1747385641636}, API_KEY, Ed25519Signer(key))
        self.assertEqual(list(signed), ["timestamp", "apiKey", "signature"])
        verify_ed25519(
            key, signed["signature"], f"apiKey={API_KEY}&timestamp=1747385641636".encode()
        )

    def test_empty_api_key_refused(self) -> None:
        """An empty api_key is a ValueError naming the argument."""
        exc = self.assertRaises(ValueError, sign_ws_params, {}, "", HmacSigner(SECRET))
        self.assertIn("api_key", str(exc))

    @settings(deadline=None)
    @given(
        params=st.dictionaries(
            st.text(st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1)
            | st.sampled_from(["apiKey", "signature", "timestamp"]),
            st.text(st.characters(categories=("L", "N", "P", "S", "Zs"))),
        ),
        api_key=st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1),
        secret=st.text(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1
        ),
    )
    def test_signature_property(self, params: dict[str, str], api_key: str, secret: str) -> None:
        """For any printable params the signature is HMAC over the sorted raw payload."""
        before = dict(params)
        signed = sign_ws_params(params, api_key, HmacSigner(secret))
        self.assertEqual(params, before)
        expected_params = {"apiKey": api_key, **params}
        expected_params.pop("signature", None)
        payload = "&".join(f"{name}={expected_params[name]}" for name in sorted(expected_params))
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(signed["signature"], expected))
        self.assertEqual(signed, {**expected_params, "signature": expected})


class RestPayloadTests(SynchronousTestCase):
    """REST payloads: percent-encoded, in the order sent, query then body."""

    def test_percent_encoded(self) -> None:
        """Reserved characters are percent-encoded exactly as urlencode sends them."""
        self.assertEqual(
            rest_payload([("id", "a+b/c d"), ("symbols", ["BTCUSDT", "ETHUSDT"])]),
            "id=a%2Bb%2Fc+d&symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D",
        )

    def test_query_then_body_without_separator(self) -> None:
        """The body follows the query string directly, with no '&' between them."""
        self.assertEqual(
            rest_payload(REST_PARAMS[:4], REST_PARAMS[4:]),
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
            "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
        )

    def test_body_only(self) -> None:
        """A body with no query string is the whole payload."""
        self.assertEqual(rest_payload(body=[("b", 2), ("a", 1)]), "b=2&a=1")

    def test_order_kept(self) -> None:
        """REST params are not sorted."""
        self.assertEqual(rest_payload([("z", 1), ("a", 2), ("m", 3)]), "z=1&a=2&m=3")

    def test_rendering(self) -> None:
        """Bools render as true/false and None values are dropped, as in the WS API payload."""
        self.assertEqual(rest_payload([("a", True), ("b", None), ("c", False)]), "a=true&c=false")

    def test_mapping_accepted(self) -> None:
        """A dict is taken in its insertion order."""
        self.assertEqual(rest_payload({"z": 1, "a": 2}), "z=1&a=2")

    def test_str_refused(self) -> None:
        """A pre-built query string is refused: it cannot be re-rendered as sent."""
        self.assertRaises(TypeError, rest_payload, "a=1")

    def test_sign_rest_params_strings(self) -> None:
        """sign_rest_params renders values to str and drops None, matching what it signed."""
        signed = sign_rest_params([("a", True), ("b", None), ("c", 1.5)], HmacSigner(SECRET))
        expected = hmac.new(SECRET.encode(), b"a=true&c=1.5", hashlib.sha256).hexdigest()
        self.assertEqual(signed, [("a", "true"), ("c", "1.5"), ("signature", expected)])

    def test_base64_signature_percent_encoded_in_url(self) -> None:
        """A base64 signature survives urlencode and parses back to the signed value."""
        key = rsa_key()
        params = [("symbol", "BTCUSDT"), ("timestamp", 1499827319559)]
        signed = sign_rest_params(params, RsaSigner(key))
        signature = signed[-1][1]
        query = urllib.parse.urlencode(signed)
        self.assertEqual(urllib.parse.parse_qsl(query)[-1], ("signature", signature))
        # RSA-2048 signatures always end in "==", so the sent form always differs from the raw one.
        self.assertNotEqual(query.rpartition("signature=")[2], signature)
        verify_rsa(key, signature, b"symbol=BTCUSDT&timestamp=1499827319559")

    def test_existing_signature_refused(self) -> None:
        """Signing params that already carry a signature is a ValueError."""
        self.assertRaises(
            ValueError, sign_rest_params, [("a", 1), ("signature", "x")], HmacSigner(SECRET)
        )


class AsymmetricSignerTests(SynchronousTestCase):
    """RSA and Ed25519 signers: signatures verify with the public key."""

    def test_rsa_signature_verifies(self) -> None:
        """RsaSigner signs PKCS#1 v1.5 SHA-256, base64-encoded, verifiable with the public key."""
        key = rsa_key()
        signer = RsaSigner(key)
        signature = signer.sign(WS_PAYLOAD.encode())
        self.assertEqual(len(base64.b64decode(signature, validate=True)), 256)
        verify_rsa(key, signature, WS_PAYLOAD.encode())
        self.assertRaises(InvalidSignature, verify_rsa, key, signature, REST_PAYLOAD.encode())
        self.assertEqual(signer.key_type, "RSA")

    def test_ed25519_signature_verifies(self) -> None:
        """Ed25519Signer signs the payload bytes, base64-encoded, verifiable with the public key."""
        key = ed25519_key()
        signer = Ed25519Signer(key)
        signature = signer.sign(WS_PAYLOAD.encode())
        self.assertEqual(len(base64.b64decode(signature, validate=True)), 64)
        verify_ed25519(key, signature, WS_PAYLOAD.encode())
        self.assertRaises(InvalidSignature, verify_ed25519, key, signature, b"other")
        self.assertEqual(signer.key_type, "ED25519")

    def test_sign_ws_params_rsa(self) -> None:
        """sign_ws_params with an RSA signer signs the sorted payload."""
        key = rsa_key()
        signed = sign_ws_params(ws_order_params(), API_KEY, RsaSigner(key))
        verify_rsa(key, signed["signature"], WS_PAYLOAD.encode())

    def test_signers_satisfy_protocol(self) -> None:
        """Every signer is a Signer with the documented key_type."""
        signers = [HmacSigner(SECRET), RsaSigner(rsa_key()), Ed25519Signer(ed25519_key())]
        self.assertEqual([s.key_type for s in signers], ["HMAC", "RSA", "ED25519"])
        for signer in signers:
            self.assertIsInstance(signer, Signer)

    def test_signer_accepts_pem(self) -> None:
        """RsaSigner and Ed25519Signer also take PEM text, encrypted or not."""
        rsa_signer = RsaSigner(pem(rsa_key(), PASSWORD), PASSWORD)
        verify_rsa(rsa_key(), rsa_signer.sign(b"x"), b"x")
        ed_signer = Ed25519Signer(pem(ed25519_key()).decode())
        verify_ed25519(ed25519_key(), ed_signer.sign(b"x"), b"x")

    def test_signer_wrong_key_type(self) -> None:
        """A key object of another type is a TypeError; PEM of another type a ValueError."""
        self.assertRaises(TypeError, RsaSigner, ed25519_key())
        self.assertRaises(TypeError, Ed25519Signer, rsa_key())
        exc = self.assertRaises(ValueError, Ed25519Signer, pem(rsa_key()))
        self.assertIn("Ed25519", str(exc))

    def test_small_rsa_refused(self) -> None:
        """RSA keys under 2048 bits are refused."""
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        exc = self.assertRaises(ValueError, RsaSigner, small)
        self.assertIn("2048", str(exc))
        self.assertRaises(ValueError, load_signer, pem(small))


class LoadSignerTests(SecretFreeMixin, SynchronousTestCase):
    """load_signer: PEM text, key files, passwords, type detection and refusals."""

    def write(self, data: bytes) -> str:
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(data)
        return path

    def check_rsa(self, signer: Signer) -> None:
        self.assertIsInstance(signer, RsaSigner)
        verify_rsa(rsa_key(), signer.sign(WS_PAYLOAD.encode()), WS_PAYLOAD.encode())

    def check_ed25519(self, signer: Signer) -> None:
        self.assertIsInstance(signer, Ed25519Signer)
        verify_ed25519(ed25519_key(), signer.sign(WS_PAYLOAD.encode()), WS_PAYLOAD.encode())

    def test_pem_str_and_bytes(self) -> None:
        """PEM given as str or bytes loads, and the key type is detected."""
        for key, check in ((rsa_key(), self.check_rsa), (ed25519_key(), self.check_ed25519)):
            data = pem(key)
            check(load_signer(data))
            check(load_signer(data.decode("ascii")))

    def test_traditional_rsa(self) -> None:
        """A traditional ("BEGIN RSA PRIVATE KEY") PEM loads, plain or encrypted."""
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
        plain = pem(rsa_key(), fmt=fmt)
        self.assertIn(b"BEGIN RSA PRIVATE KEY", plain)
        self.check_rsa(load_signer(plain))
        self.check_rsa(load_signer(pem(rsa_key(), PASSWORD, fmt), password=PASSWORD))

    def test_file_paths(self) -> None:
        """A key file loads from a str path and from an os.PathLike."""
        for key, check in ((rsa_key(), self.check_rsa), (ed25519_key(), self.check_ed25519)):
            path = self.write(pem(key))
            check(load_signer(path))
            check(load_signer(pathlib.Path(path)))

    def test_encrypted(self) -> None:
        """An encrypted PEM loads with its password, from text and from a file."""
        for key, check in ((rsa_key(), self.check_rsa), (ed25519_key(), self.check_ed25519)):
            data = pem(key, PASSWORD)
            self.assertIn(b"ENCRYPTED", data)
            check(load_signer(data, password=PASSWORD))
            check(load_signer(self.write(data), PASSWORD))

    def test_password_problems(self) -> None:
        """Missing, wrong and superfluous passwords are ValueErrors that say which."""
        encrypted = pem(ed25519_key(), PASSWORD)
        exc = self.assertRaises(ValueError, load_signer, encrypted)
        self.assertIn("no password", str(exc))
        exc = self.assertRaises(ValueError, load_signer, encrypted, b"wrong")
        self.assertIn("password is wrong", str(exc))
        exc = self.assertRaises(ValueError, load_signer, pem(ed25519_key()), PASSWORD)
        self.assertIn("not encrypted", str(exc))
        exc = self.assertRaises(ValueError, load_signer, SECRET, PASSWORD)
        self.assertIn("PEM", str(exc))
        self.assertRaises(TypeError, load_signer, encrypted, "str password")

    def test_ec_refused(self) -> None:
        """An EC P-256 key is refused with a message naming the supported key types."""
        data = pem(ec.generate_private_key(ec.SECP256R1()))
        for source in (data, data.decode(), self.write(data)):
            exc = self.assertRaises(ValueError, load_signer, source)
            self.assertIn("EC", str(exc))
            self.assertIn("RSA", str(exc))
            self.assertIn("Ed25519", str(exc))
            self.assertSecretFree(str(exc), pem_lines(data))

    def test_public_key_refused(self) -> None:
        """A public key PEM is not a private key."""
        data = (
            ed25519_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        exc = self.assertRaises(ValueError, load_signer, data)
        self.assertIn("no PEM private key", str(exc))

    def test_non_pem_file_refused(self) -> None:
        """A file that is not PEM is refused; the error names the path, not the contents."""
        content = "ThisFileHoldsSomethingPrivate0123456789"
        path = self.write(content.encode())
        for source in (path, pathlib.Path(path)):
            exc = self.assertRaises(ValueError, load_signer, source)
            self.assertIn(path, str(exc))
            self.assertSecretFree(str(exc), [content, content[:16]])

    def test_malformed_pem_refused(self) -> None:
        """A corrupted PEM is a ValueError quoting none of its lines."""
        lines = pem_lines(pem(rsa_key()))
        corrupted = "\n".join([lines[0], *(line[::-1] for line in lines[1:-1]), lines[-1]])
        exc = self.assertRaises(ValueError, load_signer, corrupted)
        self.assertIn("malformed", str(exc))
        self.assertSecretFree(str(exc), pem_lines(corrupted.encode()))

    def test_missing_key_file_not_a_secret(self) -> None:
        """A str that looks like a missing key file is refused rather than used as a secret."""
        path = self.mktemp() + ".pem"
        exc = self.assertRaises(ValueError, load_signer, path)
        self.assertIn("no such key file", str(exc))
        self.assertRaises(FileNotFoundError, load_signer, pathlib.Path(path))

    def test_wrong_type_refused(self) -> None:
        """Anything but str, bytes or a path is a TypeError naming the argument."""
        exc = self.assertRaises(TypeError, load_signer, 12345)
        self.assertIn("private_key_or_secret", str(exc))


class SecrecyTests(SecretFreeMixin, SynchronousTestCase):
    """Secrets never show in reprs, attributes, pickles or error messages."""

    def signers(self) -> list[tuple[Signer, str, list[str]]]:
        """Each signer with its expected repr and the secret texts it must never show."""
        rsa_pem = pem(rsa_key())
        ed_pem = pem(ed25519_key(), PASSWORD)
        return [
            (load_signer(SECRET), "<HmacSigner>", [SECRET, SECRET[:16]]),
            (load_signer(rsa_pem), "<RsaSigner>", pem_lines(rsa_pem)),
            (load_signer(ed_pem, PASSWORD), "<Ed25519Signer>", [*pem_lines(ed_pem), "correct"]),
        ]

    def test_repr_and_str(self) -> None:
        """repr() and str() show only the signer's type."""
        for signer, expected, secrets in self.signers():
            self.assertEqual(repr(signer), expected)
            self.assertEqual(str(signer), expected)
            self.assertSecretFree(repr(signer) + str(signer), secrets)

    def test_no_attribute_holds_secret(self) -> None:
        """No attribute of the HMAC signer, public or private, is or contains the secret."""
        signer = HmacSigner(SECRET)
        raw = {SECRET, SECRET.encode()}
        for name in dir(signer):
            if name.startswith("__"):
                continue
            value = getattr(signer, name)
            self.assertNotIn(value, raw, name)
            self.assertNotIn(SECRET, repr(value), name)
        self.assertFalse(hasattr(signer, "__dict__"))

    def test_no_public_key_attribute(self) -> None:
        """Asymmetric signers expose no public attribute but key_type and sign."""
        for signer in (RsaSigner(rsa_key()), Ed25519Signer(ed25519_key())):
            public = {name for name in dir(signer) if not name.startswith("_")}
            self.assertEqual(public, {"key_type", "sign"})

    def test_not_picklable(self) -> None:
        """Pickling a signer is refused; copying returns the same immutable object."""
        for signer, _, secrets in self.signers():
            exc = self.assertRaises(TypeError, pickle.dumps, signer)
            self.assertIn("holds a secret", str(exc))
            self.assertSecretFree(str(exc), secrets)
            self.assertIs(copy.copy(signer), signer)
            self.assertIs(copy.deepcopy(signer), signer)

    def test_key_type_read_only(self) -> None:
        """key_type cannot be overwritten on an instance."""
        signer = HmacSigner(SECRET)
        self.assertRaises(AttributeError, setattr, signer, "key_type", "RSA")

    def test_error_messages(self) -> None:
        """No refusal quotes the secret, password or a PEM line, nor chains an error that might."""
        rsa_pem = pem(rsa_key(), PASSWORD)
        ec_pem = pem(ec.generate_private_key(ec.SECP256R1()))
        secrets = [*pem_lines(rsa_pem), *pem_lines(ec_pem), SECRET, PASSWORD.decode()]
        failures: list[Callable[[], object]] = [
            lambda: load_signer(rsa_pem),
            lambda: load_signer(rsa_pem, b"wrong password"),
            lambda: load_signer(rsa_pem.decode().replace("A", "B")),
            lambda: load_signer(ec_pem),
            lambda: load_signer(ec_pem.decode(), PASSWORD),
            lambda: load_signer(SECRET, PASSWORD),
            lambda: Ed25519Signer(rsa_pem, PASSWORD),
            lambda: RsaSigner(ec_pem),
            lambda: HmacSigner(SECRET).sign(SECRET),  # type: ignore[arg-type]
        ]
        for failure in failures:
            exc = self.assertRaises((ValueError, TypeError), failure)
            self.assertSecretFree(str(exc), secrets)
            self.assertIsNone(exc.__cause__)
            if exc.__context__ is not None:
                self.assertTrue(exc.__suppress_context__)
