"""The Kivy application: assembles the screens from a registry, renders the presenter tree, forwards touches.

Holds no flow decisions (those live in kiosk/presenters). Call ``configure_kivy()`` before anything imports
kivy.core.window: the window size, fullscreen and the Noto font are fixed before the window opens.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.config import KioskSettings
    from kiosk.presenters import Kiosk

log = logging.getLogger(__name__)
# Kivy reads these when first imported (below): never parse the kiosk's own argv, no log files in ~/.kivy.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")

# screen name -> module under kiosk/screens with a SCREEN class (a thin .py + .kv pair)
SCREEN_REGISTRY: dict[str, str] = {
    "home": "kiosk.screens.home",
    "services": "kiosk.screens.services",
    "priority": "kiosk.screens.priority",
    "ticket": "kiosk.screens.ticket",
    "lookup": "kiosk.screens.lookup",
    "search": "kiosk.screens.search",
    "result": "kiosk.screens.result",
    "closed": "kiosk.screens.closed",
    "booking": "kiosk.screens.booking",
    "contact": "kiosk.screens.contact",      # "Nhắn tin khi sắp đến lượt", after a ticket is printed
    "face": "kiosk.screens.face",            # issue 15: shown only when kiosk.face is set
}


def configure_kivy(settings: KioskSettings) -> None:
    """Window size, fullscreen, no console argv parsing, mouse without multitouch dots; before Window exists."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    from kivy.config import Config

    Config.set("graphics", "width", str(settings.screen.width))
    Config.set("graphics", "height", str(settings.screen.height))
    Config.set("graphics", "fullscreen", "auto" if settings.screen.fullscreen else "0")
    Config.set("graphics", "resizable", "1")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    from kivy.core.text import DEFAULT_FONT, LabelBase

    # Every widget uses Noto Sans (full Vietnamese coverage) under Kivy's default font name.
    LabelBase.register(DEFAULT_FONT, fn_regular=settings.screen.font_regular, fn_bold=settings.screen.font_bold)


def post_to_ui(fn: Callable[[], None]) -> None:
    from kivy.clock import Clock

    Clock.schedule_once(lambda _dt: fn(), 0)


from kivy.app import App
from kivy.properties import BooleanProperty, NumericProperty


class KioskApp(App):
    u = NumericProperty(1.0)            # 1 u = 1 px on a 1080-wide portrait panel
    min_target = NumericProperty(60.0)  # pixels in 15 mm at the panel's dpi
    landscape = BooleanProperty(False)

    def __init__(self, kiosk: Kiosk, settings: KioskSettings, *, camera_url: str = "",
                 wedge: Any = None, maintain: bool = True, warm_up: Callable[[], None] | None = None,
                 camera_health: Callable[[bool], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kiosk = kiosk
        self.settings = settings
        self.title = "motcua — kiosk"
        self.camera_url = camera_url
        self.wedge = wedge
        self.maintain_enabled = maintain
        self.warm_up = warm_up
        self.camera_health = camera_health     # told whether the camera opened (device health on MQTT)
        self.sm: Any = None
        self.screens: dict[str, Any] = {}
        self._camera: Any = None
        self._halt = threading.Event()
        self.rendered: Callable[[str], None] | None = None   # benchmark/test hook: called after each render
        self.upkept: Callable[[], None] | None = None        # smoke-test hook: called after each upkeep round

    # --- assembly -----------------------------------------------------------------------------------------
    def build(self) -> Any:
        from kivy.clock import Clock
        from kivy.core.window import Window
        from kivy.uix.screenmanager import NoTransition, ScreenManager

        Window.clearcolor = (0.957, 0.965, 0.976, 1)
        self._resize(Window, *Window.size)
        Window.bind(on_resize=self._resize)
        Window.bind(on_touch_down=lambda *_a: self.kiosk.idle.touch())
        if self.wedge is not None:
            Window.bind(on_textinput=lambda _w, text: self.wedge.feed(text))
            Window.bind(on_key_down=self._key_down)
        # No slide animation: faster, and nothing moves under a hesitant finger.
        self.sm = ScreenManager(transition=NoTransition())
        for name, module_name in SCREEN_REGISTRY.items():
            screen = importlib.import_module(module_name).SCREEN(name=name)
            self.screens[name] = screen
            self.sm.add_widget(screen)
        # Render every screen once now (keyboard keys, tiles): the first tap then only updates texts.
        for screen in self.screens.values():
            screen.render(self.kiosk)
        self.kiosk.subscribe(self._on_change)
        self._on_change(self.kiosk)
        Clock.schedule_interval(lambda _dt: self.kiosk.tick(), 1.0)
        if self.warm_up is not None:
            # after the first frames: start-up first, then the printer's fonts (slow once, ~1.5 s here)
            Clock.schedule_once(lambda _dt: threading.Thread(target=self.warm_up, name="printer-warm-up",
                                                             daemon=True).start(), 0.5)
        if self.maintain_enabled:
            threading.Thread(target=self._maintain_loop, name="kiosk-maintain", daemon=True).start()
        return self.sm

    def _key_down(self, _window: Any, key: int, *_args: Any) -> bool:
        if key == 13 and self.wedge is not None:   # Enter ends a wedge-typed code
            self.wedge.feed("\n")
        return False

    def _resize(self, _window: Any, width: float, height: float) -> None:
        self.landscape = width > height
        self.u = min(width, height) / 1080.0 * (0.82 if self.landscape else 1.0)
        s = self.settings.screen
        self.min_target = s.min_target_mm / 25.4 * s.dpi

    def _on_change(self, kiosk: Kiosk) -> None:
        screen = self.screens[kiosk.screen]
        screen.render(kiosk)
        if self.sm.current != kiosk.screen:
            self.sm.current = kiosk.screen
        self._sync_camera(kiosk)
        if self.rendered is not None:
            self.rendered(kiosk.screen)

    # --- camera preview on the lookup screen -------------------------------------------------------------
    def _sync_camera(self, kiosk: Kiosk) -> None:
        want = kiosk.screen == "lookup" and kiosk.lookup.camera_on and bool(self.camera_url)
        # issue 15 hook: the face screen needs the camera while its challenge runs
        face_capture = kiosk.screen == "face" and kiosk.face is not None and kiosk.face.state == "capture"
        want = (want or face_capture) and bool(self.camera_url)
        if want and self._camera is None:
            from kiosk.devices_wiring import CameraFeed

            feed = CameraFeed(self.camera_url, on_frame=lambda f: post_to_ui(lambda: self._show_frame(f)),
                              on_code=lambda c: post_to_ui(lambda: self.kiosk.scanned(c, source="camera")))
            ok = feed.start()
            if ok:
                self._camera = feed
            if self.camera_health is not None:
                self.camera_health(ok)
        elif not want and self._camera is not None:
            feed, self._camera = self._camera, None
            threading.Thread(target=feed.stop, daemon=True).start()

    def _show_frame(self, frame: Any) -> None:
        if self._camera is None:
            return
        from kivy.graphics.texture import Texture

        try:
            import cv2
            rgb = cv2.flip(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), 0)
        except Exception:  # noqa: BLE001 - a frame that cannot be shown is skipped
            return
        texture = Texture.create(size=(rgb.shape[1], rgb.shape[0]), colorfmt="rgb")
        texture.blit_buffer(rgb.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
        if self.kiosk.screen == "face" and self.kiosk.face is not None:
            self.screens["face"].show_frame(texture)
            self.kiosk.face.frame(frame)         # liveness + template (issue 15)
            return
        self.screens["lookup"].show_frame(texture)

    # --- background upkeep -------------------------------------------------------------------------------
    def _maintain_loop(self) -> None:
        every = self.settings.offline.maintain_every_s
        while not self._halt.is_set():
            try:
                desk = self.kiosk.desk
                if hasattr(desk, "maintain"):
                    desk.maintain()
                catalog = self.kiosk.refresh_catalog()
                if hasattr(desk, "set_services") and catalog.services:
                    desk.set_services({s.code: s.prefix for s in catalog.services})
                post_to_ui(self._catalog_applier(catalog))
            except Exception:
                log.exception("kiosk upkeep failed")
            if self.upkept is not None:
                self.upkept()
            self._halt.wait(every)

    def _catalog_applier(self, catalog: Any) -> Callable[[], None]:
        return lambda: self._apply_catalog(catalog)

    def _apply_catalog(self, catalog: Any) -> None:
        # The grid updates its counts in place; a service list change never happens under a citizen's finger
        # mid-choice because tiles are rebuilt only when the codes change.
        self.kiosk.set_catalog(catalog)

    def on_stop(self) -> None:
        self._halt.set()
        if self._camera is not None:
            self._camera.stop()
