"""Face lookup at the kiosk ("Tra cứu bằng khuôn mặt"): live preview with a face guide, an active liveness
challenge (blink or head turn, picked at random), 1:N match on the hub, the linked dossiers with masked names,
a polite fallback to code or QR, and withdrawal after a match with a confirmation. Also enrolment at the kiosk
from a dossier's result screen: the consent text with two explicit buttons, the same liveness challenge, then the
template waits on the hub (RAM only) until a staff member confirms it. No Kivy import.

The screen hands each camera frame to ``frame()`` (UI thread, ~10 per second). FaceMesh landmarks of each frame
feed the liveness check; the frame where the face is most frontal is kept in RAM until the check passes, turned
into a template on a worker thread, sent to the hub, and dropped. Nothing is written on the kiosk.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from devices.face.liveness import Challenge, LivenessPolicy, check
from devices.face.port import FaceEngine, FaceError
from kiosk.hub_client import HubError, HubUnavailable
from kiosk.i18n import STRINGS, t

from .context import Shell
from .lookup import DossierResult, format_date

if TYPE_CHECKING:
    import numpy as np

    from .ports import Outcome

log = logging.getLogger(__name__)

FACE_STRINGS: dict[str, tuple[str, str]] = {
    "home.face": ("Tra cứu bằng khuôn mặt", "Look up by face"),
    "face.title": ("Tra cứu bằng khuôn mặt", "Look up by face"),
    "face.guide": ("Đưa khuôn mặt vào khung hình", "Put your face inside the frame"),
    "face.challenge.blink": ("Hãy chớp mắt một lần", "Please blink once"),
    "face.challenge.turn_left": ("Hãy từ từ quay đầu sang trái", "Please slowly turn your head to your left"),
    "face.challenge.turn_right": ("Hãy từ từ quay đầu sang phải", "Please slowly turn your head to your right"),
    "face.checking": ("Đang tra cứu…", "Looking up…"),
    "face.no_face": ("Không thấy khuôn mặt. Xin đứng trước máy ảnh, cách khoảng một cánh tay.",
                     "No face seen. Please stand in front of the camera, about an arm's length away."),
    "face.many_faces": ("Có nhiều người trong khung hình. Xin chỉ một người đứng trước máy ảnh.",
                        "More than one person in view. Please, one person at a time in front of the camera."),
    "face.not_live": ("Chưa xác nhận được. Xin Ông/Bà tra cứu bằng mã hồ sơ hoặc quét mã QR trên phiếu hẹn.",
                      "We could not confirm it. Please look up by dossier code or scan the QR on your receipt."),
    "face.uncertain": (("Chưa nhận ra được khuôn mặt một cách chắc chắn. Xin Ông/Bà tra cứu bằng mã hồ sơ hoặc "
                       "quét mã QR trên phiếu hẹn."),
                       "We could not recognise you with certainty. Please look up by dossier code or scan the QR."),
    "face.hub_down": ("Không kết nối được máy chủ. Xin tra cứu bằng mã hồ sơ hoặc hỏi cán bộ.",
                      "The server cannot be reached. Please use the dossier code or ask staff."),
    "face.found": ("Hồ sơ của Ông/Bà", "Your dossiers"),
    "face.none_linked": ("Chưa có hồ sơ nào được liên kết.", "No dossier is linked yet."),
    "face.use_code": ("Tra cứu bằng mã hồ sơ", "Look up by code"),
    "face.retry": ("Thử lại", "Try again"),
    "face.withdraw": ("Xóa dữ liệu khuôn mặt của tôi", "Delete my face data"),
    "face.withdraw.confirm": (("Xóa dữ liệu khuôn mặt của Ông/Bà? Sau khi xóa, Ông/Bà sẽ không tra cứu bằng "
                              "khuôn mặt được nữa (vẫn tra cứu bằng mã hồ sơ như bình thường)."),
                              ("Delete your face data? You will no longer be able to look up by face (the code "
                              "still works).")),
    "face.withdraw.yes": ("Đồng ý xóa", "Yes, delete"),
    "face.withdraw.no": ("Không xóa", "Keep it"),
    "face.withdrawn": ("Đã xóa dữ liệu khuôn mặt của Ông/Bà.", "Your face data has been deleted."),
    "face.withdraw.failed": ("Chưa xóa được. Xin đề nghị cán bộ tại quầy xóa giúp.",
                             "Not deleted. Please ask staff at a counter to delete it."),
    "face.enrol": ("Đăng ký tra cứu bằng khuôn mặt", "Register to look up by face"),
    "face.enrol.loading": ("Đang tải nội dung đồng ý…", "Loading the consent text…"),
    "face.enrol.sent": (("Đã gửi đăng ký (mã {id}). Xin mời cán bộ kiểm tra giấy tờ và xác nhận; nếu không được "
                        "xác nhận trong 10 phút, đăng ký tự hủy."),
                        ("Sent (request {id}). A staff member checks your ID and confirms it; unconfirmed after "
                        "10 minutes, it is dropped.")),
    "face.enrol.declined": ("Ông/Bà không đồng ý: không có dữ liệu nào được lưu.",
                            "You did not agree: nothing was stored."),
    "face.dossier": ("{code} — {status}", "{code} — {status}"),
    "face.dossier.detail": ("{name} · hẹn trả {due}", "{name} · due {due}"),
}
STRINGS.update(FACE_STRINGS)

STATES = ("capture", "checking", "found", "fallback", "confirm_withdraw", "withdrawn",
          "consent", "enrol_sent", "enrol_declined")       # the last three: enrolment at the kiosk


class FaceHub(Protocol):
    """The hub calls of face lookup (kiosk.hub_client.HubClient has them)."""

    def face_match(self, template: list[float], liveness: dict[str, Any]) -> dict[str, Any]: ...
    def face_withdraw(self, token: str) -> dict[str, Any]: ...
    def face_refused(self, reason: str) -> dict[str, Any]: ...
    def face_consent(self) -> dict[str, Any]: ...
    def face_enrol_request(self, template: list[float], liveness: dict[str, Any], consent: dict[str, Any],
                           codes: list[str]) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class FaceContext:
    """What face look-up sees of the kiosk: the shell, the code keyboard for the fallback, and the dossier code
    on the result screen (the starting point of an enrolment at the kiosk)."""

    shell: Shell
    open_lookup: Callable[[], None]
    shown_dossier_code: Callable[[], str | None]


@dataclass(frozen=True, slots=True)
class FaceView:
    title: str
    state: str
    prompt: str                      # the challenge, or what happened
    is_problem: bool
    show_preview: bool
    dossiers: tuple[str, ...]        # one line per linked dossier: code — status, masked name, due date
    primary: str                     # the main button's text ("" = hidden)
    secondary: str
    withdraw: str
    back: str


class FaceLookupPresenter:
    """``window_frames``: how many frames the challenge may take (about 4 s at 10 frames/s)."""

    def __init__(self, ctx: FaceContext, engine: FaceEngine, hub: FaceHub, *, window_frames: int = 40,
                 policy: LivenessPolicy | None = None,
                 choose: Callable[[list[Challenge]], Challenge] | None = None) -> None:
        self.ctx = ctx
        self.k = ctx.shell
        self.engine = engine
        self.hub = hub
        self.window_frames = window_frames
        self.policy = policy or LivenessPolicy()
        self._choose = choose or random.SystemRandom().choice
        self.clear()

    def clear(self) -> None:
        self.state = "capture"
        self.challenge = Challenge.BLINK
        self.samples: list[Any] = []
        self.faces_seen = 0
        self.many_faces = 0
        self._best: Any = None
        self._best_yaw = 1e9
        self.problem_key: str | None = None
        self.dossiers: list[DossierResult] = []
        self._unknown: list[str] = []            # linked codes the hub could not look up
        self._token: str | None = None
        self.enrol_code: str | None = None       # set while enrolling at the kiosk (the dossier just looked up)
        self.consent: dict[str, Any] | None = None
        self.request_id = ""

    # --- citizen actions ------------------------------------------------------------------------------------
    def enter(self) -> None:
        if not self.k.tap():
            return
        self._start()

    def _start(self) -> None:
        self.clear()
        self.challenge = self._choose(list(Challenge))
        self.k.go("face")

    def retry(self) -> None:
        if not self.k.tap():
            return
        self._start()

    def use_code(self) -> None:
        if not self.k.tap():
            return
        self.clear()
        self.ctx.open_lookup()

    def back(self) -> None:
        if not self.k.tap():
            return
        self.k.reset()

    def ask_withdraw(self) -> None:
        if self.state != "found" or self._token is None or not self.k.tap():
            return
        self.state = "confirm_withdraw"
        self.k.changed()

    def cancel_withdraw(self) -> None:
        if self.state != "confirm_withdraw" or not self.k.tap():
            return
        self.state = "found"
        self.k.changed()

    def confirm_withdraw(self) -> None:
        if self.state != "confirm_withdraw" or self._token is None or not self.k.tap():
            return
        token, self._token = self._token, None
        self.state = "checking"
        self.k.changed()
        self.k.run(lambda: self.hub.face_withdraw(token), self._withdrawn)

    # --- enrolment at the kiosk (confirmed by staff on the enrolment page) -----------------------------------
    def enrol_offer(self) -> str:
        """The result screen's button text: only while a dossier is shown."""
        return t("face.enrol", self.k.lang) if self.ctx.shown_dossier_code() else ""

    def enrol_from_result(self) -> None:
        code = self.ctx.shown_dossier_code()
        if not code or not self.k.tap():
            return
        self.clear()
        self.enrol_code = code
        self.state = "consent"
        self.k.go("face")
        self.k.run(self.hub.face_consent, self._consent_loaded)

    def _consent_loaded(self, outcome: Outcome[dict[str, Any]]) -> None:
        if outcome.error is not None or not isinstance(outcome.value, dict):
            self.state, self.problem_key = "fallback", "face.hub_down"
        else:
            self.consent = outcome.value
        self.k.changed()

    def agree(self) -> None:
        """Explicit: only this button, pressed by the citizen, gives consent; nothing is pre-chosen."""
        if self.state != "consent" or self.consent is None or not self.k.tap():
            return
        self.state = "capture"
        self.challenge = self._choose(list(Challenge))
        self.k.changed()

    def decline(self) -> None:
        if self.state != "consent" or not self.k.tap():
            return
        self.state = "enrol_declined"
        self.enrol_code = None
        self.k.run(lambda: self.hub.face_refused("declined"), lambda _o: None)
        self.k.changed()

    # --- camera frames ------------------------------------------------------------------------------------
    def frame(self, frame: np.ndarray) -> None:
        """One camera frame while the challenge runs (UI thread)."""
        if self.state != "capture" or self.k.screen != "face":
            return
        self.k.touch()                   # a citizen in front of the camera is not idle
        faces = len(self.engine.detect(frame))
        if faces > 1:
            self.many_faces += 1
        sample = self.engine.sample(frame) if faces == 1 else None
        self.samples.append(sample)
        if sample is not None:
            self.faces_seen += 1
            if abs(sample.yaw_deg) < self._best_yaw and sample.ear >= 0.15:
                # the most frontal open-eyed frame makes the best template; kept in RAM only until matched
                self._best, self._best_yaw = frame.copy(), abs(sample.yaw_deg)
        result = check(self.samples, self.challenge, self.policy)
        if result.live and self._best is not None:
            self._match(self._best)
            return
        if len(self.samples) >= self.window_frames:
            reason = "liveness" if self.faces_seen >= self.policy.min_frames else \
                "many_faces" if self.many_faces else "no_face"
            self._refused(reason)
            return
        self.k.changed()

    def _refused(self, reason: str) -> None:
        self._best = None
        self.state = "fallback"
        self.problem_key = {"liveness": "face.not_live", "many_faces": "face.many_faces"}.get(reason, "face.no_face")
        self.k.run(lambda: self.hub.face_refused(reason), lambda _o: None)   # audit trail on the hub
        self.k.changed()

    def _match(self, frame: np.ndarray) -> None:
        self.state = "checking"
        self._best = None
        liveness = {"passed": True, "challenge": str(self.challenge)}
        engine, hub = self.engine, self.hub
        enrol_code, consent = self.enrol_code, self.consent

        def work() -> dict[str, Any]:
            try:
                template = [float(v) for v in engine.embed(frame)]
            except FaceError as err:
                return {"verdict": "face_error", "reason": err.code}
            if enrol_code is not None and consent is not None:
                sent = hub.face_enrol_request(template, liveness,
                                              {"accepted": True, "version": consent.get("version")}, [enrol_code])
                return {"verdict": "enrol_sent", **sent}
            return hub.face_match(template, liveness)

        self.k.changed()
        self.k.run(work, self._answered)

    def _answered(self, outcome: Outcome[dict[str, Any]]) -> None:
        err, body = outcome.error, outcome.value or {}
        if err is not None:
            self.state, self.problem_key = "fallback", ("face.hub_down" if isinstance(err, HubUnavailable)
                                                         else "face.uncertain")
            if not isinstance(err, HubError | HubUnavailable):
                log.error("face look-up failed: %r", err)
        elif body.get("verdict") == "match":
            self.state, self.problem_key = "found", None
            self._token = body.get("withdraw_token") if isinstance(body.get("withdraw_token"), str) else None
            found = body.get("dossiers")
            raw: list[Any] = found if isinstance(found, list) else []
            self.dossiers = [DossierResult.from_json(str(d.get("code", "")) if isinstance(d, dict) else "", d)
                             for d in raw if isinstance(d, dict) and "error" not in d]
            self._unknown = [str(d.get("code")) for d in raw if isinstance(d, dict) and "error" in d]
        elif body.get("verdict") == "enrol_sent":
            self.state, self.problem_key = "enrol_sent", None
            self.request_id = str(body.get("request_id") or "")
            self.enrol_code = None
        elif body.get("verdict") == "face_error":
            self.state = "fallback"
            self.problem_key = "face.many_faces" if body.get("reason") == "many_faces" else "face.no_face"
        else:
            self.state, self.problem_key = "fallback", "face.uncertain"
        self.k.changed()

    def _withdrawn(self, outcome: Outcome[dict[str, Any]]) -> None:
        ok = outcome.error is None and bool((outcome.value or {}).get("deleted"))
        self.state = "withdrawn"
        self.problem_key = None if ok else "face.withdraw.failed"
        self.dossiers = []
        self.k.changed()

    # --- what the screen shows ------------------------------------------------------------------------------
    def view(self) -> FaceView:
        lang = self.k.lang
        s = self.state
        lines: list[str] = []
        prompt, problem = "", False
        primary = secondary = withdraw = ""
        if s == "consent":
            c = self.consent
            if c is None:
                prompt = t("face.enrol.loading", lang)
            else:
                prompt = str(c.get("title_vi" if lang == "vi" else "title_en", ""))
                lines = [str(p) for p in c.get("paragraphs_vi" if lang == "vi" else "paragraphs_en", [])]
                primary = str(c.get("agree_vi" if lang == "vi" else "agree_en", ""))
                secondary = str(c.get("decline_vi" if lang == "vi" else "decline_en", ""))
        elif s == "enrol_sent":
            prompt, primary = t("face.enrol.sent", lang, id=self.request_id), t("nav.home", lang)
        elif s == "enrol_declined":
            prompt, primary = t("face.enrol.declined", lang), t("nav.home", lang)
        elif s == "capture":
            prompt = t(f"face.challenge.{self.challenge}", lang) if self.faces_seen else t("face.guide", lang)
            secondary = t("face.use_code", lang)
        elif s == "checking":
            prompt = t("face.checking", lang)
        elif s == "found":
            prompt = t("face.found", lang)
            for d in self.dossiers:
                status = d.status_vi if lang == "vi" else d.status_en
                lines.append(t("face.dossier", lang, code=d.code, status=status))
                detail = t("face.dossier.detail", lang, name=d.applicant or "—", due=format_date(d.due) or "—")
                lines.append("   " + detail)
            for code in self._unknown:
                lines.append(t("face.dossier", lang, code=code, status=t("error.unknown_dossier", lang, code=code)))
            if not lines:
                lines.append(t("face.none_linked", lang))
            primary, withdraw = t("nav.home", lang), t("face.withdraw", lang) if self._token else ""
        elif s == "fallback":
            prompt, problem = t(self.problem_key or "face.uncertain", lang), True
            primary, secondary = t("face.use_code", lang), t("face.retry", lang)
        elif s == "confirm_withdraw":
            prompt = t("face.withdraw.confirm", lang)
            primary, secondary = t("face.withdraw.yes", lang), t("face.withdraw.no", lang)
        elif s == "withdrawn":
            prompt = t(self.problem_key or "face.withdrawn", lang)
            problem = self.problem_key is not None
            primary = t("nav.home", lang)
        return FaceView(title=t("face.title", lang), state=s, prompt=prompt, is_problem=problem,
                        show_preview=s == "capture", dossiers=tuple(lines), primary=primary, secondary=secondary,
                        withdraw=withdraw, back=t("nav.back", lang))

    def press_primary(self) -> None:
        {"found": self.back, "fallback": self.use_code, "confirm_withdraw": self.confirm_withdraw,
         "withdrawn": self.back, "consent": self.agree, "enrol_sent": self.back,
         "enrol_declined": self.back}.get(self.state, lambda: None)()

    def press_secondary(self) -> None:
        {"capture": self.use_code, "fallback": self.retry, "confirm_withdraw": self.cancel_withdraw,
         "consent": self.decline}.get(self.state, lambda: None)()
