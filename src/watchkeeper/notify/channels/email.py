"""Email over SMTP with the standard library (sync; the worker runs sends in its threads).

The Message-ID is derived from the outbox row's idempotency key, so mail systems that drop
duplicate Message-IDs do so and a person can always tie a mail back to its outbox row.

Progress: "transmitting" is reported right before the DATA command (until then the server
has nothing it could deliver: connecting, EHLO, STARTTLS, AUTH, MAIL FROM and RCPT TO hand
over no message), "accepted" right after the server's 250 reply to the end of the data.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

from watchkeeper.egress import DEFAULT as DEFAULT_EGRESS
from watchkeeper.egress import Egress
from watchkeeper.notify.channels.base import DeliveryError, Progress, SecretLookup, Sent, need_secret, no_progress
from watchkeeper.notify.schemas import EmailChannel, Message, SendStage


class _Tracked:
    """Reports the DATA exchange to `progress` (mixed into smtplib's client classes)."""

    progress: Progress = staticmethod(no_progress)

    def data(self, msg):  # smtplib.SMTP.data: DATA, the message, the final dot, the reply
        self.progress(SendStage.TRANSMITTING.value)
        code, reply = super().data(msg)  # type: ignore[misc]
        self.progress(SendStage.ACCEPTED.value)  # data() raises unless the reply was 250
        return code, reply


class _SMTP(_Tracked, smtplib.SMTP):
    pass


class _SMTPSSL(_Tracked, smtplib.SMTP_SSL):
    pass


def message_id(key: str) -> str:
    """The Message-ID of the mail for an outbox row: the same on every attempt."""
    return f"<{key.replace(':', '.')}@watchkeeper>"


class Email:
    kind: ClassVar[str] = "email"

    def send(self, settings: EmailChannel, message: Message, *, key: str, secret: SecretLookup,
             progress: Progress = no_progress, repeat: bool = False, egress: Egress = DEFAULT_EGRESS) -> Sent:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = settings.from_
        mail["To"] = ", ".join(settings.to)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(key)
        mail["X-Watchkeeper-Idempotency-Key"] = key
        if repeat:
            mail["X-Watchkeeper-Possible-Duplicate"] = "yes; an earlier attempt may have been delivered (same Message-ID)"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        timeout = settings.timeout.total_seconds()
        try:
            if settings.security == "tls":
                smtp: smtplib.SMTP = _SMTPSSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                              context=ssl.create_default_context())
            else:
                smtp = _SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
            smtp.progress = progress  # type: ignore[attr-defined]
            with smtp:
                if settings.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if settings.username:
                    password = need_secret(secret, settings.password_env, "SMTP password") if settings.password_env else ""
                    smtp.login(settings.username, password)
                refused = smtp.send_message(mail)
                code, reply = smtp.noop()
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login as {settings.username!r} was refused: {exc.smtp_code} {exc.smtp_error!r}; check the password variable",
                                retryable=False, response=str(exc.smtp_code)) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP server refused every recipient: {sorted(exc.recipients)}; check the addresses",
                                retryable=False, response=str(exc.recipients)) from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"SMTP server answered {exc.smtp_code} {exc.smtp_error!r}", retryable=not permanent,
                                response=str(exc.smtp_code)) from None
        except (OSError, smtplib.SMTPException, socket.timeout) as exc:
            raise DeliveryError(f"cannot reach SMTP server {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {exc}",
                                retryable=True) from None
        note = f"; refused {sorted(refused)}" if refused else ""
        return Sent(response=f"accepted for {len(settings.to) - len(refused)} recipient(s){note}")
