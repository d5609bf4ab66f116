from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.auth import service as auth
from watchkeeper.auth.schemas import Grant, TokenCreate, TokenCreated, TokenRead, UserCreate, UserRead

router = APIRouter(tags=["auth"])


class Me(BaseModel):
    name: str
    grants: list[str]
    token_scopes: list[str] | None


class PasswordChange(BaseModel):
    current_password: str
    new_password: str


class UserCreated(UserRead):
    password: str | None = None


class GrantRequest(BaseModel):
    grant: str


@router.get("/me", response_model=Me, summary="Who am I")
def me(actor: CurrentActor):
    return Me(name=actor.name, grants=[str(g) for g in actor.grants],
              token_scopes=list(actor.token_scopes) if actor.token_scopes is not None else None)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT,
             summary="Change my password (the way out of a one-time password; ends all my sessions)")
def change_my_password(body: PasswordChange, session: SessionDep, actor: CurrentActor) -> None:
    auth.change_own_password(session, actor=actor, current=body.current_password, new=body.new_password)


@router.get("/users", response_model=list[UserRead], summary="List users")
def list_users(session: SessionDep, actor: CurrentActor):
    return auth.list_users(session, actor=actor)


@router.post("/users", response_model=UserCreated, status_code=status.HTTP_201_CREATED,
             summary="Create a user (a generated password is returned once)")
def create_user(body: UserCreate, session: SessionDep, actor: CurrentActor):
    user, password = auth.create_user(session, data=body, actor=actor)
    return UserCreated(**user.model_dump(), password=None if body.password else password)


@router.post("/users/{username}/grants", response_model=UserRead, summary="Grant a role")
def grant(username: str, body: GrantRequest, session: SessionDep, actor: CurrentActor):
    return auth.grant_role(session, username=username, grant=_parse(body.grant), actor=actor)


@router.delete("/users/{username}/grants/{grant}", response_model=UserRead, summary="Revoke a role")
def revoke(username: str, grant: str, session: SessionDep, actor: CurrentActor):
    return auth.revoke_role(session, username=username, grant=_parse(grant), actor=actor)


@router.post("/users/{username}/deactivate", response_model=UserRead, summary="Deactivate a user")
def deactivate(username: str, session: SessionDep, actor: CurrentActor):
    return auth.deactivate_user(session, username=username, actor=actor)


@router.get("/tokens", response_model=list[TokenRead], summary="List my API tokens")
def list_tokens(session: SessionDep, actor: CurrentActor):
    return auth.list_tokens(session, username=actor.name, actor=actor)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED,
             summary="Create an API token for myself (the secret is shown once)")
def create_token(body: TokenCreate, session: SessionDep, actor: CurrentActor):
    return auth.create_token(session, username=actor.name, data=body, actor=actor)


@router.delete("/tokens/{prefix}", response_model=TokenRead, summary="Revoke a token")
def revoke_token(prefix: str, session: SessionDep, actor: CurrentActor):
    return auth.revoke_token(session, prefix=prefix, actor=actor)


def _parse(text: str) -> Grant:
    from watchkeeper.errors import InvalidInput

    try:
        return Grant.parse(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="grant") from None
