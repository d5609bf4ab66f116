from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from watchkeeper.api.deps import SESSION_COOKIE, SessionDep
from watchkeeper.auth import service as auth
from watchkeeper.errors import InvalidInput, RateLimited, Unauthenticated
from watchkeeper.web.render import FormActor, PageActor, render, submit

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/services"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None):
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, session: SessionDep,
    username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/services",
):
    settings = request.app.state.container.settings
    client = request.client.host if request.client else "unknown"
    try:
        raw, _web, _actor = auth.login(
            session, username=username.strip(), password=password, client=client, hours=settings.session_hours,
            max_failures=settings.login_max_failures, window_seconds=settings.login_window_seconds,
        )
    except (Unauthenticated, RateLimited) as exc:
        session.commit()  # keep the failed attempt: it feeds the rate limit and the audit log
        status = 429 if isinstance(exc, RateLimited) else 401
        return render(request, "login.html", status_code=status, next=_safe_next(next), error=exc.message, username=username)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, raw, httponly=True, secure=settings.secure_cookies, samesite="lax",
        max_age=settings.session_hours * 3600, path="/",
    )
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, actor: PageActor):
    return render(request, "account_password.html", error=None)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request, session: SessionDep, actor: FormActor,
    current_password: Annotated[str, Form()] = "", new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
):
    def action() -> None:
        if new_password != confirm_password:
            raise InvalidInput("the two new passwords differ; type the same one twice", field="confirm_password")
        auth.change_own_password(session, actor=actor, current=current_password, new=new_password)

    return submit(session, action, done="/login?next=/services",
                  refused=lambda error: render(request, "account_password.html", status_code=422, error=error))


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: FormActor):
    auth.logout(session, cookie=request.cookies.get(SESSION_COOKIE, ""), actor=actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
