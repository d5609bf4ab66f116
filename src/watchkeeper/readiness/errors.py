"""Errors of the readiness domain, each a branch of the tree in watchkeeper/errors.py.

    NotFound      ── WaiverNotFound, AttestationNotFound
    Conflict      ── WaiverExists        an active waiver already covers the item
                  ── ConfigOwned         watchkeeper.yaml owns it; change it there
                  ── AlreadyRevoked      (code readiness.waiver_revoked / attestation_revoked)
    InvalidInput  ── UnknownCheck, NotAttestable
"""

from __future__ import annotations

from watchkeeper.errors import Conflict, InvalidInput, NotFound


class WaiverNotFound(NotFound):
    code = "readiness.waiver_not_found"


class AttestationNotFound(NotFound):
    code = "readiness.attestation_not_found"


class WaiverExists(Conflict):
    code = "readiness.waiver_exists"


class ConfigOwned(Conflict):
    code = "readiness.config_owned"


class AlreadyRevoked(Conflict):
    code = "readiness.revoked"


class UnknownCheck(InvalidInput):
    code = "readiness.unknown_check"


class NotAttestable(InvalidInput):
    code = "readiness.not_attestable"
