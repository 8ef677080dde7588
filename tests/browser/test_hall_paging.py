"""Hall display paging when the waiting rows really do not fit: a center with 25 services (the example's 13 fit at
1920×1080 and at 1366×768, so test_hall_display.py never pages them). In real Chromium at both TV sizes the rows
take turns labelled "k/N", every service is seen, only whole rows are shown, and the page turns by itself."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from hub_support import HubOptions

Hub = Any
pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

EXTRA_PREFIXES = "IJOPQRSUVWXY"


@pytest.fixture
def hub_options(hub_options: HubOptions) -> HubOptions:
    """The browser hub with 12 more services (each served by counter 1), 25 in all."""
    base = hub_options.settings

    def settings(tmp: Path) -> Any:
        s = base(tmp)
        center = s.center
        template = center.services[0]
        extra = tuple(dataclasses.replace(template, code=f"linh-vuc-{p.lower()}", name=f"Lĩnh vực thử {p}",
                                          name_en=f"Test service {p}", prefix=p, procedures=())
                      for p in EXTRA_PREFIXES)
        first = center.counters[0]
        counters = (dataclasses.replace(first, services=(*first.services, *(e.code for e in extra))),
                    *center.counters[1:])
        return dataclasses.replace(s, center=dataclasses.replace(center, services=(*center.services, *extra),
                                                                 counters=counters))

    return dataclasses.replace(hub_options, settings=settings)


@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_more_services_than_fit_take_turns_labelled(hub: Hub, page_factory: Any, artifacts_dir: Path,
                                                    size: tuple[int, int]) -> None:
    codes = [s.code for s in hub.settings.center.services]
    assert len(codes) == 25
    for code in codes:
        hub.issue(code)
    page = page_factory(*size)
    page.goto(f"{hub.url}/display/hall?sound=off&page_ms=600")
    page.wait_for_function("document.querySelectorAll('#services tr').length === 25")
    seen: set[str] = set()
    labels: set[str] = set()
    for _ in range(80):
        visible = page.evaluate("""() => {
          const panel = document.querySelector('section.services').getBoundingClientRect();
          return Array.from(document.querySelectorAll('#services tr')).filter((r) => !r.hidden).map((r) => {
            const b = r.getBoundingClientRect();
            return [r.dataset.service, b.top >= panel.top && b.bottom <= panel.bottom];
          });
        }""")
        assert visible and all(whole for _, whole in visible), visible      # only whole rows, none cut
        assert len(visible) < 25                                            # 25 rows never fit on one page
        seen.update(code for code, _ in visible)
        assert page.is_visible("#services-page")
        labels.add(page.text_content("#services-page") or "")
        if seen == set(codes) and len(labels) > 1:
            break
        page.wait_for_timeout(200)
    assert seen == set(codes)                                               # none vanishes
    assert all(re.fullmatch(r"[1-9]/[2-9]", label) for label in labels), labels
    totals = {label.split("/")[1] for label in labels}
    assert len(totals) == 1 and len(labels) == int(totals.pop()), labels    # "1/N" … "N/N", every page shown
    page.screenshot(path=str(artifacts_dir / f"hall-paging-25-{size[0]}x{size[1]}.png"))
