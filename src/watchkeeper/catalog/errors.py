from watchkeeper.errors import Conflict, NotFound


class ServiceNotFound(NotFound):
    code = "service.not_found"


class TeamNotFound(NotFound):
    code = "team.not_found"


class InvalidTransition(Conflict):
    code = "service.invalid_transition"
