from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from watchkeeper.auth import service as auth
from watchkeeper.auth.schemas import Grant, TokenCreate, UserCreate
from watchkeeper.auth.service import Actor

SYSTEM = Actor.system("factory", "system")


@dataclasses.dataclass
class Persona:
    username: str
    password: str
    token: str
    actor: Actor

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_persona(session: Session, username: str, grants: list[str], *, scopes: list[str] | None = None) -> Persona:
    password = f"{username}-password-123"
    auth.create_user(session, data=UserCreate(username=username, password=password,
                                              grants=[Grant.parse(g) for g in grants]), actor=SYSTEM)
    token = auth.create_token(session, username=username, data=TokenCreate(name="tests", scopes=scopes or ["write"]), actor=SYSTEM)
    actor = auth.authenticate_token(session, raw=token.token)
    return Persona(username=username, password=password, token=token.token, actor=actor)
