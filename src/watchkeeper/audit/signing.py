"""Ed25519 keys for audit checkpoints. The private key lives outside the database."""

from __future__ import annotations

import base64
import hashlib
import os
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
        """Load the PEM key at `path`, creating it (mode 0600) on first use."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            return cls(key)
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
        public: Ed25519PublicKey = self._key.public_key()
        try:
            public.verify(base64.b64decode(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def checkpoint_message(seq: int, hash_: str) -> bytes:
    return f"watchkeeper-audit-checkpoint:{seq}:{hash_}".encode()
