"""The gateways a message leaves by: an SMS gateway over HTTP, Zalo ZNS over HTTP, e-mail over SMTP.

Each takes one rendered message and either returns (the gateway accepted it) or raises ``SendError`` saying whether a
retry may help (a timeout, a 5xx, a refused connection) or not (a 4xx: a bad number, a rejected template). Retrying,
ordering, deduplication and opt-out are the notification outbox's job, not a gateway's.

URLs, credentials and templates come from ``[notifications.*]``; the request bodies follow the shapes Vietnamese SMS
brandname gateways and Zalo's ZNS template API take, with the body template configurable for the SMS side because
every provider differs. Must not: log a phone number or a message text at INFO (personal data), retry by itself.
A ``SendError`` carries the gateway's own words with any phone number or e-mail address taken out
(``notifications.redact_contacts``); the outbox redacts again before it logs or stores (a gateway of another make).
"""
from __future__ import annotations

import base64
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol

from queue_server.app.notifications import redact_contacts, strip_diacritics

log = logging.getLogger(__name__)


class SendError(Exception):
    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    key: str
    channel: str
    address: str
    template: str
    text: str
    params: Mapping[str, Any] = field(default_factory=dict)


class Gateway(Protocol):
    channel: str

    def send(self, message: OutgoingMessage) -> None: ...


def _post_json(url: str, body: Any, headers: Mapping[str, str], timeout_s: float) -> tuple[int, bytes]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            return resp.status, resp.read(65536)
    except urllib.error.HTTPError as err:
        return err.code, err.read(65536) if err.fp else b""
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise SendError(f"gateway unreachable: {reason}") from err


def _check_status(status: int, body: bytes, what: str, address: str) -> None:
    if 200 <= status < 300:
        return
    # contacts out before the cut, so half a number cannot slip through it
    detail = redact_contacts(body[:4096].decode("utf-8", "replace"), address)[:200]
    # 408/425/429 and 5xx are the gateway's own trouble: worth another try; other 4xx are ours or the number's
    raise SendError(f"{what} answered {status}: {detail}", retryable=status >= 500 or status in (408, 425, 429))


@dataclass(frozen=True, slots=True)
class SmsHttpSettings:
    url: str
    auth: str = "none"                      # none | bearer | basic
    token: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    # JSON body with {to} and {text} placeholders (strings only); providers differ, so it is configuration
    body_template: str = '{"to": "{to}", "text": "{text}"}'
    strip_diacritics: bool = False          # brandname SMS on GSM-7 only: "Moi quy vi den quay 5"
    international: bool = True              # 0912345678 → 84912345678
    timeout_s: float = 5.0


class SmsHttpGateway:
    channel = "sms"

    def __init__(self, settings: SmsHttpSettings) -> None:
        self.settings = settings

    def _headers(self) -> dict[str, str]:
        s = self.settings
        if s.auth == "bearer":
            return {"Authorization": f"Bearer {s.token}"}
        if s.auth == "basic":
            raw = base64.b64encode(f"{s.username}:{s.password}".encode()).decode()
            return {"Authorization": f"Basic {raw}"}
        return {}

    def body(self, message: OutgoingMessage) -> Any:
        s = self.settings
        text = strip_diacritics(message.text) if s.strip_diacritics else message.text
        to = "84" + message.address[1:] if s.international and message.address.startswith("0") else message.address
        # fill the template after parsing it, so a quote in a message can never break the JSON
        return _fill(json.loads(s.body_template), {"to": to, "text": text, "key": message.key})

    def send(self, message: OutgoingMessage) -> None:
        status, body = _post_json(self.settings.url, self.body(message),
                                  {**self._headers(), "Idempotency-Key": message.key}, self.settings.timeout_s)
        _check_status(status, body, "SMS gateway", message.address)


def _fill(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        for name, value in values.items():
            node = node.replace("{" + name + "}", value)
        return node
    if isinstance(node, list):
        return [_fill(n, values) for n in node]
    if isinstance(node, dict):
        return {k: _fill(v, values) for k, v in node.items()}
    return node


@dataclass(frozen=True, slots=True)
class ZaloZnsSettings:
    access_token: str = field(repr=False)
    template_ids: Mapping[str, str] = field(default_factory=dict)   # our message name → the approved ZNS template
    url: str = "https://business.openapi.zalo.me/message/template"
    timeout_s: float = 5.0


class ZaloZnsGateway:
    """Zalo Notification Service: pre-approved templates filled with our parameters, sent to a phone number."""

    channel = "zalo"

    def __init__(self, settings: ZaloZnsSettings) -> None:
        self.settings = settings

    def body(self, message: OutgoingMessage) -> dict[str, Any]:
        template_id = self.settings.template_ids.get(message.template)
        if not template_id:
            raise SendError(f"no ZNS template approved for {message.template!r}", retryable=False)
        return {"phone": "84" + message.address[1:], "template_id": template_id,
                "template_data": {k: str(v) for k, v in message.params.items()}, "tracking_id": message.key}

    def send(self, message: OutgoingMessage) -> None:
        status, raw = _post_json(self.settings.url, self.body(message),
                                 {"access_token": self.settings.access_token}, self.settings.timeout_s)
        _check_status(status, raw, "Zalo ZNS", message.address)
        try:
            answer = json.loads(raw or b"{}")
        except ValueError as err:
            raise SendError("Zalo ZNS answered with something that is not JSON") from err
        # ZNS answers HTTP 200 with {"error": <code>, "message": ...}; 0 is success
        if isinstance(answer, dict) and answer.get("error", 0) != 0:
            said = redact_contacts(str(answer.get("message", "")), message.address)[:200]
            raise SendError(f"Zalo ZNS error {answer.get('error')}: {said}",
                            retryable=answer.get("error") in (-32, -124, -1))


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True
    ssl_on_connect: bool = False            # port 465
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = "motcua@localhost"
    sender_name: str = "Trung tâm Phục vụ hành chính công"
    subject: str = "Thông báo từ Trung tâm Phục vụ hành chính công"
    timeout_s: float = 10.0


class SmtpGateway:
    channel = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def build(self, message: OutgoingMessage) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        mail["From"] = formataddr((s.sender_name, s.sender))
        mail["To"] = message.address
        mail["Subject"] = s.subject
        # the key as Message-ID: a receiving server that sees the same message twice can tell
        mail["Message-ID"] = make_msgid(idstring=message.key.replace(":", ".")[:60], domain=s.sender.partition("@")[2]
                                        or "motcua.local")
        mail.set_content(message.text, charset="utf-8")
        return mail

    def send(self, message: OutgoingMessage) -> None:
        s = self.settings
        try:
            if s.ssl_on_connect:
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            with client:
                if s.starttls and not s.ssl_on_connect:
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password)
                client.send_message(self.build(message))
        except smtplib.SMTPRecipientsRefused as err:
            # the server's own words help the manager (the outbox takes any address out of them before logging)
            said = "".join(f": {code} {_said(reply, message.address)}"
                           for code, reply in list(err.recipients.values())[:1])
            raise SendError(f"mail server refused the address{said}", retryable=False) from err
        except smtplib.SMTPResponseException as err:
            raise SendError(f"mail server answered {err.smtp_code}: {_said(err.smtp_error, message.address)}",
                            retryable=err.smtp_code >= 400 and err.smtp_code < 500) from err
        except (smtplib.SMTPException, OSError) as err:
            raise SendError(f"mail server unreachable: {err}") from err


def _said(reply: bytes | str, address: str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return redact_contacts(" ".join(text.split()), address)[:200]
