"""Email over SMTP with the standard library (sync; the worker runs sends in its threads).

The Message-ID is derived from the outbox row's idempotency key, so mail systems that drop
duplicate Message-IDs do so and a person can always tie a mail back to its outbox row.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

from watchkeeper.notify.channels.base import DeliveryError, SecretLookup, Sent, need_secret
from watchkeeper.notify.schemas import EmailChannel, Message


class Email:
    kind: ClassVar[str] = "email"
    resend_unconfirmed: ClassVar[bool] = False

    def send(self, settings: EmailChannel, message: Message, *, key: str, secret: SecretLookup) -> Sent:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = settings.from_
        mail["To"] = ", ".join(settings.to)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{key.replace(':', '.')}@watchkeeper>"
        mail["X-Watchkeeper-Idempotency-Key"] = key
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        timeout = settings.timeout.total_seconds()
        try:
            if settings.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
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
