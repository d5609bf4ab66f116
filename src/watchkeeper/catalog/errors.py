"""Errors of the catalog, each a branch of the tree in watchkeeper/errors.py.

    NotFound  ── ServiceNotFound, TeamNotFound, PersonNotFound
    Conflict  ── InvalidTransition   (a stage skip, a failed gate, a move the wrong way)
"""

from watchkeeper.errors import Conflict, NotFound


class ServiceNotFound(NotFound):
    code = "service.not_found"


class TeamNotFound(NotFound):
    code = "team.not_found"


class PersonNotFound(NotFound):
    code = "person.not_found"


class InvalidTransition(Conflict):
    code = "service.invalid_transition"
