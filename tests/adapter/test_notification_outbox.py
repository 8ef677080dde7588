"""The notification outbox against real gateways on loopback: the mock SMS/ZNS gateway over real HTTP (with its
faults) and a real SMTP server (aiosmtpd). Every message exactly once, in order per recipient, opt-out honoured."""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from queue_server.adapters.notification_outbox import MIGRATIONS, NotificationOutbox, RetryPolicy
from queue_server.adapters.notifiers import (
    OutgoingMessage,
    SendError,
    SmsHttpGateway,
    SmsHttpSettings,
    SmtpGateway,
    SmtpSettings,
    ZaloZnsGateway,
    ZaloZnsSettings,
)
from queue_server.app.notifications import DEFAULT_TEMPLATES, Contact, Notification
from queue_server.broker import free_port
from queue_server.mock_gateway import MockGateway
from runtime.sqlite import connect, migrate

pytestmark = [pytest.mark.adapter, pytest.mark.timeout(120)]

FAST = RetryPolicy(max_attempts=50, base_backoff_s=0.02, max_backoff_s=0.1)


def called(ticket: str, address: str, number: str) -> Notification:
    return Notification(f"called:{ticket}", "sms", address, "called",
                        {"center": "TT HCC", "number": number, "counter": "Quầy 5"})


def near(ticket: str, address: str, number: str, ahead: int) -> Notification:
    return Notification(f"turn_near:{ticket}", "sms", address, "turn_near",
                        {"center": "TT HCC", "number": number, "ahead": ahead, "service": "Hộ tịch",
                         "track_url": f"http://hcc/t/{ticket}"})


def wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


@pytest.fixture
def gateway():  # type: ignore[no-untyped-def]
    mock = MockGateway(port=free_port()).start()
    yield mock
    mock.stop()


def sms(mock: MockGateway, **kw: object) -> SmsHttpGateway:
    return SmsHttpGateway(SmsHttpSettings(url=mock.url + "/sms", auth="bearer", token="t0k3n", timeout_s=1.0,
                                          **kw))  # type: ignore[arg-type]


def test_every_message_once_and_in_order_per_recipient_through_a_flaky_gateway(gateway: MockGateway,
                                                                               tmp_path: Path) -> None:
    outbox = NotificationOutbox(tmp_path / "notify.sqlite3", {"sms": sms(gateway)}, DEFAULT_TEMPLATES, retry=FAST,
                                poll_interval_s=0.05).start()
    try:
        phones = [f"09{i:08d}" for i in range(1, 11)]
        gateway.mode, gateway.error_every = "error", 2           # every second request fails with 503
        for round_ in range(3):
            for i, phone in enumerate(phones):
                outbox.enqueue([near(f"t{i}-{round_}", phone, f"A{i:03d}", 3 - round_)])
        gateway.go_down()                                         # then nothing answers at all for a while
        for i, phone in enumerate(phones):
            outbox.enqueue([called(f"t{i}-x", phone, f"A{i:03d}")])
        time.sleep(0.5)
        gateway.come_up()
        assert gateway.wait_for(40, timeout=60), f"{len(gateway.received)} of 40"
        wait(lambda: outbox.metrics()["pending"] == 0, 30, "outbox drained")
        time.sleep(0.2)
        assert len(gateway.received) == 40
        for i, phone in enumerate(phones):
            to = "84" + phone[1:]
            keys = [r.key for r in gateway.received if r.body["to"] == to]
            assert keys == [f"turn_near:t{i}-0", f"turn_near:t{i}-1", f"turn_near:t{i}-2", f"called:t{i}-x"]
        assert outbox.metrics()["sent"] == 40
    finally:
        outbox.close()


def test_enqueueing_the_same_key_twice_sends_once_even_across_a_restart(gateway: MockGateway, tmp_path: Path) -> None:
    path = tmp_path / "notify.sqlite3"
    first = NotificationOutbox(path, {"sms": sms(gateway)}, DEFAULT_TEMPLATES, retry=FAST)
    assert first.enqueue([called("t1", "0912345678", "A001")]) == 1
    assert first.enqueue([called("t1", "0912345678", "A001")]) == 0
    first.close()                                                  # the hub stops before sending anything
    second = NotificationOutbox(path, {"sms": sms(gateway)}, DEFAULT_TEMPLATES, retry=FAST)
    assert second.enqueue([called("t1", "0912345678", "A001")]) == 0
    assert second.run_once() == 1
    assert second.run_once() == 0
    second.close()
    assert [r.key for r in gateway.received] == ["called:t1"] and gateway.duplicates == 0
    body = gateway.received[0].body
    assert body == {"to": "84912345678", "text": "TT HCC: mời quý vị có số A001 đến Quầy 5."}


def test_opt_out_is_honoured_also_for_queued_messages(gateway: MockGateway, tmp_path: Path) -> None:
    outbox = NotificationOutbox(tmp_path / "n.sqlite3", {"sms": sms(gateway)}, DEFAULT_TEMPLATES, retry=FAST)
    outbox.enqueue([near("t1", "0912345678", "A001", 2), near("t2", "0987654321", "A002", 2)])
    outbox.opt_out("sms", "0912345678")
    outbox.run_once()
    assert [r.body["to"] for r in gateway.received] == ["84987654321"]
    assert outbox.history("sms", "0912345678") == [("turn_near:t1", "skipped")]
    outbox.close()


def test_a_permanent_refusal_is_a_dead_letter_and_the_next_message_goes(gateway: MockGateway, tmp_path: Path) -> None:
    outbox = NotificationOutbox(tmp_path / "n.sqlite3", {"sms": sms(gateway)}, DEFAULT_TEMPLATES, retry=FAST)
    gateway.mode = "reject"
    outbox.enqueue([near("t1", "0912345678", "A001", 2)])
    outbox.run_once()
    assert outbox.dead_letters()[0]["key"] == "turn_near:t1" and "400" in outbox.dead_letters()[0]["error"]
    gateway.mode = "up"
    outbox.enqueue([called("t1", "0912345678", "A001")])
    outbox.run_once()
    assert [r.key for r in gateway.received] == ["called:t1"]
    assert outbox.requeue_dead() == 1 and outbox.run_once() == 1
    outbox.close()


def test_one_recipients_trouble_does_not_hold_up_another(tmp_path: Path) -> None:
    sent: list[str] = []

    class Picky:
        channel = "sms"

        def send(self, message: OutgoingMessage) -> None:
            if message.address == "0911111111":
                raise SendError("handset unreachable")
            sent.append(message.key)

    outbox = NotificationOutbox(tmp_path / "n.sqlite3", {"sms": Picky()}, DEFAULT_TEMPLATES,
                                retry=RetryPolicy(max_attempts=3, base_backoff_s=0.0))
    outbox.enqueue([near("a", "0911111111", "A001", 1), called("a", "0911111111", "A001"),
                    near("b", "0922222222", "A002", 1), called("b", "0922222222", "A002")])
    for _ in range(8):
        outbox.run_once()
    assert sent == ["turn_near:b", "called:b"]
    # the stuck recipient's messages gave up in order, the first before the second was tried
    assert outbox.history("sms", "0911111111") == [("turn_near:a", "dead"), ("called:a", "dead")]
    outbox.close()


def test_strip_diacritics_and_a_provider_specific_body(gateway: MockGateway) -> None:
    gw = sms(gateway, strip_diacritics=True,
             body_template='{"msisdn": "{to}", "content": "{text}", "brandname": "HCC-QTRI", "ref": "{key}"}')
    gw.send(OutgoingMessage("called:t9", "sms", "0912345678", "called", 'Mời "quý vị" đến Quầy 5'))
    assert gateway.received[0].body == {"msisdn": "84912345678", "content": 'Moi "quy vi" den Quay 5',
                                        "brandname": "HCC-QTRI", "ref": "called:t9"}


def test_zalo_zns_template_request(gateway: MockGateway) -> None:
    zns = ZaloZnsGateway(ZaloZnsSettings(access_token="oa-token", template_ids={"called": "301234"},
                                         url=gateway.url + "/zns"))
    zns.send(OutgoingMessage("called:t1", "zalo", "0912345678", "called", "…",
                             {"number": "A023", "counter": "Quầy 5"}))
    assert gateway.received[0].body == {"phone": "84912345678", "template_id": "301234",
                                        "template_data": {"number": "A023", "counter": "Quầy 5"},
                                        "tracking_id": "called:t1"}
    with pytest.raises(SendError, match="no ZNS template") as err:
        zns.send(OutgoingMessage("otp:1", "zalo", "0912345678", "otp", "…"))
    assert not err.value.retryable


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.messages.append(envelope.original_content)
        return "250 OK"


def test_email_through_a_real_smtp_server(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        gw = SmtpGateway(SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="thongbao@hcc.example.vn"))
        outbox = NotificationOutbox(tmp_path / "n.sqlite3", {"email": gw}, DEFAULT_TEMPLATES, retry=FAST)
        outbox.enqueue([Notification("called:t1", "email", "hoa@example.vn", "called",
                                     {"center": "TT HCC Quảng Trị", "number": "A023", "counter": "Quầy 5"})])
        assert outbox.run_once() == 1
        outbox.close()
        mail = message_from_bytes(inbox.messages[0])
        assert mail["To"] == "hoa@example.vn"
        assert str(make_header(decode_header(mail["Subject"]))) == "Thông báo từ Trung tâm Phục vụ hành chính công"
        assert mail.get_payload(decode=True).decode("utf-8").strip() == \
            "TT HCC Quảng Trị: mời quý vị có số A023 đến Quầy 5."
    finally:
        controller.stop()


def test_an_unreachable_mail_server_is_retried_not_lost(tmp_path: Path) -> None:
    gw = SmtpGateway(SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, timeout_s=1.0))
    outbox = NotificationOutbox(tmp_path / "n.sqlite3", {"email": gw}, DEFAULT_TEMPLATES, retry=FAST)
    outbox.enqueue([Notification("called:t1", "email", "a@b.vn", "called", {"number": "A1", "counter": "Q1"})])
    assert outbox.run_once() == 0
    assert outbox.metrics()["pending"] == 1
    outbox.close()


def test_contacts_are_purged_with_the_day(tmp_path: Path) -> None:
    outbox = NotificationOutbox(tmp_path / "n.sqlite3", {}, DEFAULT_TEMPLATES)
    outbox.add_contact("20261122-ho-tich-1", Contact("sms", "0912345678"), "2026-11-22")
    outbox.add_contact("20261123-ho-tich-1", Contact("sms", "0987654321"), "2026-11-23")
    assert outbox.purge_contacts_before("2026-11-23") == 1
    assert outbox.contact_for("20261122-ho-tich-1") is None
    assert outbox.waiting_with_contacts() == ["20261123-ho-tich-1"]
    outbox.close()


# ---- a gateway that names the citizen in its error: neither a log line nor a stored row may keep it --------------
PHONE, MAIL = "0912345678", "hoa.nguyen@example.vn"


def assert_no_contact(text: str, where: str) -> None:
    squeezed = re.sub(r"[\s.\-+()]", "", text)
    assert "912345678" not in squeezed, f"a phone number in {where}: {text!r}"
    assert "hoa.nguyen" not in text.lower() and "hoa%2enguyen" not in text.lower(), f"an address in {where}: {text!r}"


def hub_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the hub's own loggers wrote (the test SMTP server's log, mail.log, is the stand-in's, not ours)."""
    return "\n".join(caplog.handler.format(r) for r in caplog.records if r.name.startswith("queue_server"))


def assert_rows_clean(path: Path) -> None:
    """Every stored column but the recipient's own (which the outbox needs to send) is free of contacts."""
    with sqlite3.connect(path) as conn:
        cursor = conn.execute("SELECT * FROM notify_items")
        columns = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
    assert rows
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            if column != "address":
                assert_no_contact(str(value), f"notify_items.{column}")


def test_a_gateway_echoing_the_number_leaves_it_in_no_log_and_no_row(gateway: MockGateway, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    zalo = ZaloZnsGateway(ZaloZnsSettings(access_token="oa", template_ids={"called": "301234"},
                                          url=gateway.url + "/zns"))
    outbox = NotificationOutbox(tmp_path / "n.sqlite3", {"sms": sms(gateway), "zalo": zalo}, DEFAULT_TEMPLATES,
                                retry=RetryPolicy(max_attempts=2, base_backoff_s=0.0), wall=lambda: 1000.0)
    gateway.mode, gateway.echo_status = "echo", 503            # first a refusal worth retrying, then for good
    outbox.enqueue([called("t1", PHONE, "A001"),
                    Notification("called:t2", "zalo", PHONE, "called", {"number": "A002", "counter": "Quầy 2"})])
    for _ in range(3):
        outbox.run_once()
    assert gateway.requests >= 3 and gateway.received == []
    assert [d["key"] for d in outbox.dead_letters()] == ["called:t2", "called:t1"]
    errors = [d["error"] for d in outbox.dead_letters()]
    assert all("[phone]" in e and "503" in e for e in errors), errors     # the gateway's words, kept, redacted
    assert "will retry" in hub_log(caplog) and "dead after" in hub_log(caplog)
    assert_no_contact(hub_log(caplog), "the log")
    for letter in outbox.dead_letters():
        assert_no_contact(str(letter), "a dead letter")
    outbox.close()
    assert_rows_clean(tmp_path / "n.sqlite3")


class RefusingInbox:
    """An SMTP server that first says the mailbox is over quota (try later), then that it does not exist; both
    replies name the address and the phone number the citizen gave."""

    def __init__(self) -> None:
        self.replies = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        self.replies += 1
        if self.replies == 1:
            envelope.rcpt_tos.append(address)
            return "250 OK"
        return f"550 5.1.1 <{address}>: no such user here; SMS 0912 345 678 instead"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        return f"451 4.2.2 {envelope.rcpt_tos[0]} is over quota (owner +84 912.345.678)"


def test_a_mail_server_echoing_the_address_leaves_it_in_no_log_and_no_row(tmp_path: Path,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    inbox = RefusingInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        gw = SmtpGateway(SmtpSettings(host="127.0.0.1", port=port, starttls=False, sender="thongbao@hcc.example.vn"))
        outbox = NotificationOutbox(tmp_path / "n.sqlite3", {"email": gw}, DEFAULT_TEMPLATES, wall=lambda: 1000.0,
                                    retry=RetryPolicy(max_attempts=5, base_backoff_s=0.0))
        outbox.enqueue([Notification("called:t1", "email", MAIL, "called", {"number": "A023", "counter": "Quầy 5"})])
        assert outbox.run_once() == 0 and outbox.metrics()["pending"] == 1      # 451: tried again later
        assert outbox.run_once() == 0 and outbox.metrics()["dead"] == 1          # 550: given up
        assert inbox.replies == 2
        [letter] = outbox.dead_letters()
        assert letter["error"].startswith("mail server refused the address: 550") and "[email]" in letter["error"]
        assert "451" in hub_log(caplog) and "will retry" in hub_log(caplog) and "dead after" in hub_log(caplog)
        assert_no_contact(hub_log(caplog), "the log")
        assert_no_contact(str(letter), "the dead letter")
        outbox.close()
    finally:
        controller.stop()
    assert_rows_clean(tmp_path / "n.sqlite3")


def test_a_gateway_crashing_with_the_address_in_its_error_leaves_it_in_no_log(tmp_path: Path,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    class Broken:
        channel = "sms"

        def send(self, message: OutgoingMessage) -> None:
            raise ValueError(f"cannot route {message.address} (0{message.address[1:4]}-{message.address[4:]})")

    outbox = NotificationOutbox(tmp_path / "n.sqlite3", {"sms": Broken()}, DEFAULT_TEMPLATES, wall=lambda: 1000.0)
    outbox.enqueue([called("t1", PHONE, "A001")])
    assert outbox.run_once() == 0 and outbox.metrics()["pending"] == 1     # a bug is retried, not dropped
    assert "crashed: ValueError: cannot route [phone] ([phone])" in hub_log(caplog)
    assert "in send" in hub_log(caplog)                                   # where it failed is still told
    assert_no_contact(hub_log(caplog), "the log")
    outbox.close()
    assert_rows_clean(tmp_path / "n.sqlite3")


def test_errors_stored_before_redaction_lose_their_contacts_at_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"
    conn = connect(path)
    migrate(conn, "notifications", MIGRATIONS, upto=1)                # a file from before the redaction
    conn.execute("INSERT INTO notify_items (key, channel, address, template, text, params, created_at, status,"
                 " last_error) VALUES ('called:t1', 'sms', ?, 'called', 'x', '{}', 1000, 'dead',"
                 " 'SMS gateway answered 400: {\"message\": \"Thuê bao 84912345678 không hợp lệ\"}')", (PHONE,))
    conn.close()
    outbox = NotificationOutbox(path, {}, DEFAULT_TEMPLATES)
    assert outbox.dead_letters()[0]["error"] == \
        'SMS gateway answered 400: {"message": "Thuê bao [phone] không hợp lệ"}'
    outbox.close()
    assert_rows_clean(path)
