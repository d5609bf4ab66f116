"""Ed25519 keys for the audit log: the private key (outside the database) signs the chain head
on every write and the periodic checkpoints; a `Verifier` holds the public keys a verification
trusts — the signer's own, or public keys given explicitly (an auditor's copy, a rotated-out key)."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from watchkeeper.errors import InvalidInput


class Signer:
    def __init__(self, key: Ed25519PrivateKey):
        self._key = key
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def load_or_create(cls, path: Path) -> "Signer":
        """Load the PEM key at `path`, creating it (mode 0600) on first use. Creation is atomic
        (written aside, then linked into place), so processes and threads starting together
        end up with one key, never a half-written file."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(aside, path)
                return cls(key)
            except FileExistsError:
                pass  # another process or thread won: use its key
            finally:
                aside.unlink(missing_ok=True)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except ValueError:
            raise InvalidInput(
                f"audit signing key {path} is not a PEM private key; restore it from backup or point WATCHKEEPER_AUDIT_KEY_FILE at the right file",
                field="audit_key_file",
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInput(f"audit signing key {path} is not an Ed25519 key", field="audit_key_file")
        return cls(key)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._key.sign(message)).decode()

    def verify(self, message: bytes, signature: str) -> bool:
        return Verifier([self._key.public_key()]).check(self.key_id, message, signature) is True

    def public_pem(self) -> str:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class Verifier:
    """The public keys a verification trusts, by key id."""

    def __init__(self, keys: list[Ed25519PublicKey]):
        self.keys = {key_id_of(k): k for k in keys}

    @classmethod
    def of(cls, *signers: Signer) -> "Verifier":
        return cls([s._key.public_key() for s in signers])

    @classmethod
    def from_pem_files(cls, paths: list[Path]) -> "Verifier":
        keys = []
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InvalidInput(f"cannot read public key {path}: {exc.strerror}", field="public_key") from None
            try:
                key = serialization.load_pem_public_key(data)
            except ValueError:
                try:  # a private key file also carries its public half
                    key = serialization.load_pem_private_key(data, password=None).public_key()
                except (ValueError, TypeError):
                    raise InvalidInput(f"{path} is not a PEM public key; print one with `watchkeeper audit public-key`",
                                       field="public_key") from None
            if not isinstance(key, Ed25519PublicKey):
                raise InvalidInput(f"{path} is not an Ed25519 key", field="public_key")
            keys.append(key)
        return cls(keys)

    def merged(self, other: "Verifier | None") -> "Verifier":
        out = Verifier([])
        out.keys = {**self.keys, **(other.keys if other else {})}
        return out

    def check(self, key_id: str | None, message: bytes, signature: str | None) -> bool | None:
        """True when `signature` is good under key `key_id`, False when it is not, None when the
        key is not one this verifier trusts."""
        key = self.keys.get(key_id or "")
        if key is None:
            return None
        try:
            key.verify(base64.b64decode(signature or ""), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def checkpoint_message(seq: int, hash_: str) -> bytes:
    return f"watchkeeper-audit-checkpoint:{seq}:{hash_}".encode()


def head_message(seq: int, hash_: str) -> bytes:
    """What the head signature covers: the newest event's number and hash. Written with every
    event, so appending or removing events without the key breaks it."""
    return f"watchkeeper-audit-head:{seq}:{hash_}".encode()


class LazySigner:
    """The process's signer, loaded (or created) on first use. A process that cannot read or
    create the key leaves the head unsigned and says so once in the log; `audit verify` then
    reports the unsigned events until a process with the key signs a checkpoint."""

    def __init__(self, path: Path):
        self.path = path
        self._signer: Signer | None = None
        self._failed = False
        self._lock = threading.Lock()

    def get(self) -> Signer | None:
        if self._signer is not None or self._failed:
            return self._signer
        with self._lock:
            if self._signer is not None or self._failed:
                return self._signer
            try:
                self._signer = Signer.load_or_create(self.path)
            except (OSError, InvalidInput) as exc:
                import logging

                logging.getLogger(__name__).warning("audit head left unsigned: cannot load the signing key %s: %s",
                                                    self.path, exc)
                self._failed = True
            return self._signer
