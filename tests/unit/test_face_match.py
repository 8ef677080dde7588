"""1:N matching rule (threshold + margin), the template index, the simulator's identities, consent and retention."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from contracts.messages import VN_TZ
from devices.face.matching import MatchPolicy, TemplateIndex, Verdict, decide
from devices.face.port import ManyFaces, NoFace
from devices.face.simulator import SimulatedFaceEngine, blink_sequence, make_frame, person_template
from queue_server.app.face_service import parse_consent
from queue_server.domain.face_consent import CONSENT_VERSION, Retention, consent_text, purge_due

pytestmark = pytest.mark.unit
POLICY = MatchPolicy(threshold=0.45, margin=0.08)


def test_rule_needs_threshold_and_margin() -> None:
    assert decide(("a", 0.30), 0.80, POLICY).verdict is Verdict.MATCH
    assert decide(("a", 0.30), 0.80, POLICY).subject == "a"
    # close to two people: never a guess
    assert decide(("a", 0.30), 0.35, POLICY).verdict is Verdict.UNCERTAIN
    assert decide(("a", 0.30), 0.35, POLICY).subject is None
    # just past the threshold: uncertain (fallback), far: no match
    assert decide(("a", 0.47), None, POLICY).verdict is Verdict.UNCERTAIN
    assert decide(("a", 0.90), None, POLICY).verdict is Verdict.NO_MATCH
    assert decide(None, None, POLICY).verdict is Verdict.NO_MATCH
    assert decide(("a", 0.30), None, POLICY).verdict is Verdict.MATCH      # a one-person gallery


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        MatchPolicy(threshold=0)
    with pytest.raises(ValueError):
        MatchPolicy(margin=-0.1)


def test_index_matches_the_same_identity_across_frames_and_not_another() -> None:
    engine = SimulatedFaceEngine()
    index = TemplateIndex(capacity=2)        # grows
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"):
        index.add(name, engine.embed(make_frame(name, number=0)))
    probe = engine.embed(make_frame("Trần Thị Bình", number=7))
    result = index.match(probe, POLICY)
    assert result.verdict is Verdict.MATCH and result.subject == "Trần Thị Bình"
    stranger = engine.embed(make_frame("Phạm Văn Dũng", number=1))
    assert index.match(stranger, POLICY).verdict is Verdict.NO_MATCH
    assert index.remove("Trần Thị Bình") == 1
    assert index.match(probe, POLICY).verdict is not Verdict.MATCH
    assert "Trần Thị Bình" not in index and len(index) == 2


def test_second_best_is_another_person_not_another_template_of_the_same() -> None:
    index = TemplateIndex()
    base = person_template("A")
    index.add("A", base)
    index.add("A", base + 0.001)           # two templates of one person must not make it "uncertain"
    index.add("B", person_template("B"))
    result = index.match(base, POLICY)
    assert result.verdict is Verdict.MATCH and result.second_distance is not None
    assert result.second_distance > 0.5


def test_bulk_load_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((500, 128)).astype(np.float32) * 0.06
    index = TemplateIndex()
    index.add_many([f"s{i}" for i in range(500)], matrix)
    q = matrix[123] + 0.001
    (best, d), _ = index.nearest(q)
    assert best == "s123"
    assert d == pytest.approx(float(np.linalg.norm(matrix[123] - q)), abs=1e-3)


def test_bad_templates_are_refused() -> None:
    index = TemplateIndex()
    with pytest.raises(ValueError, match="128"):
        index.add("x", [0.1] * 127)
    with pytest.raises(ValueError, match="finite"):
        index.add("x", [float("nan")] * 128)


def test_simulator_faults() -> None:
    with pytest.raises(NoFace):
        SimulatedFaceEngine().embed(make_frame(None))
    with pytest.raises(ManyFaces):
        SimulatedFaceEngine().embed(make_frame("A", faces=2))
    with pytest.raises(NoFace):
        SimulatedFaceEngine(fault="no_face").embed(make_frame("A"))
    with pytest.raises(ManyFaces):
        SimulatedFaceEngine(fault="two_faces").embed(make_frame("A"))
    spoof = SimulatedFaceEngine(fault="spoof")
    assert {spoof.sample(f).ear for f in blink_sequence("A")} == {0.3}      # a photo never blinks
    assert SimulatedFaceEngine().detect(np.zeros((10, 10, 3), np.uint8)) == []
    with pytest.raises(ValueError):
        SimulatedFaceEngine(fault="melted")


def test_consent_must_be_explicit_true_for_the_text_in_force() -> None:
    assert parse_consent({"accepted": True, "version": CONSENT_VERSION}) == CONSENT_VERSION
    for bad in (None, {}, {"accepted": "true", "version": CONSENT_VERSION}, {"accepted": 1, "version": CONSENT_VERSION},
                {"accepted": False, "version": CONSENT_VERSION}, {"accepted": True, "version": "old"}):
        with pytest.raises(Exception, match="consent"):
            parse_consent(bad)


def test_consent_text_states_purpose_storage_retention_withdrawal_and_law() -> None:
    text = consent_text(30, 365)
    joined = " ".join(text.paragraphs_vi)
    for words in ("Mục đích", "Không lưu ảnh", "30 ngày", "365 ngày", "Rút lại đồng ý", "91/2025/QH15", "Điều 31",
                  "356/2025", "tự nguyện"):
        assert words in joined
    assert text.agree_vi == "Tôi đồng ý" and text.decline_vi == "Không đồng ý"


def test_purge_rule() -> None:
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=VN_TZ)
    rule = Retention(days_after_return=30, max_days=365)
    codes = ("A", "B")
    assert purge_due(t0, codes, {}, t0 + timedelta(days=100), rule) is None
    # one of two returned: kept
    assert purge_due(t0, codes, {"A": t0}, t0 + timedelta(days=100), rule) is None
    both = {"A": t0 + timedelta(days=5), "B": t0 + timedelta(days=10)}
    assert purge_due(t0, codes, both, t0 + timedelta(days=39), rule) is None
    assert purge_due(t0, codes, both, t0 + timedelta(days=40), rule) == "returned"
    assert purge_due(t0, codes, {}, t0 + timedelta(days=365), rule) == "max_days"


def test_second_best_found_past_the_nearest_rows_when_one_person_owns_them() -> None:
    index = TemplateIndex()
    base = person_template("A")
    for i in range(12):                      # more rows of A than the nearest-rows shortcut looks at
        index.add("A", base + 0.001 * i)
    other = person_template("B")
    index.add("B", other)
    (best, _d), second = index.nearest(base)
    assert best == "A"
    assert second == pytest.approx(float(np.linalg.norm(other - base)), abs=1e-3)
