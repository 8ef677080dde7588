"""The displays blueprint with Flask's test client: pages, assets, fonts, clips and the clip plan; bad input gets
a clear 4xx, never a file outside the allowed folders."""
from __future__ import annotations

import wave
from pathlib import Path

import pytest
from flask import Flask

from displays.blueprint import DisplaySettings, make_displays_blueprint

pytestmark = pytest.mark.unit


@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    voice = tmp_path / "voice"
    voice.mkdir()
    with wave.open(str(voice / "chime.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(b"\0\0" * 10)
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    app = Flask(__name__)
    settings = DisplaySettings(repeats=3, notice="Thông báo")
    app.register_blueprint(make_displays_blueprint(voice, settings=settings, build_missing=False))
    return app.test_client()


@pytest.mark.parametrize("path", ["/display/hall", "/display/counter/5", "/console", "/manager"])
def test_pages_are_served_without_external_assets(client, path: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path)
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and 'lang="vi"' in html


def test_assets_fonts_and_settings(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/displays/static/hall.js").status_code == 200
    assert client.get("/displays/static/../blueprint.py").status_code == 404
    r = client.get("/displays/fonts/NotoSans-Bold.ttf")
    assert r.status_code == 200 and len(r.data) > 100_000
    assert client.get("/displays/fonts/DejaVuSansMono.ttf").status_code == 404
    assert client.get("/displays/settings.json").get_json()["repeats"] == 3
    assert DisplaySettings.from_object(type("S", (), {"notice": "x", "calls_shown": 4, "other": 1})()) == \
        DisplaySettings(notice="x", calls_shown=4)


def test_clips_and_plan(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/voice/chime.wav")
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    assert client.get("/voice/num-hai.wav").get_json()["error"]["code"] == "not_found"
    assert client.get("/voice/..%2Fsecret.wav").status_code == 404
    plan = client.get("/voice/plan?number=A023&counter=5").get_json()
    assert plan["text"] == "Xin mời công dân có số thứ tự A023 đến quầy số 5"
    assert plan["clips"][0] == "chime" and "num-hai" in plan["missing"]
    bad = client.get("/voice/plan?number=%3F%3F&counter=5")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_request"
    assert client.get("/voice/plan?number=A1&counter=1&recall=x").status_code == 400
