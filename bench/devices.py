"""Device benchmarks: ticket bytes built per second and bytes per ticket (Vietnamese, 80 mm and 58 mm); QR decodes
per second at 640x480 and 1280x720 for zxing-cpp and pyzbar. Prints a table, then one JSON line (the last line).

Targets (issue 4): a Vietnamese ticket <= 6 KB built in <= 20 ms; >= 200 QR decodes/s at 640x480 on one core.
Runs pinned to one CPU. Rates are given per wall-clock second and per CPU second (the CPU figure is steadier
on a shared machine).
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import segno
from PIL import Image

from contracts.messages import VN_TZ
from devices.camera.decoder import decode_pyzbar, decode_zxing
from devices.printer.layout import LayoutConfig, TicketLayout, render_line
from devices.printer.model import PrintableTicket

PAYLOAD = "000.00.12.H38-241023-0001"


def ticket(i: int) -> PrintableTicket:
    return PrintableTicket(
        center_name="Trung tâm Phục vụ hành chính công tỉnh Quảng Trị",
        number=f"A{i % 1000:03d}",
        service_name="Đất đai – Đăng ký biến động quyền sử dụng đất",
        people_ahead=i % 40,
        estimated_wait_min=(i % 40) * 6,
        issued_at=datetime(2026, 11, 23, 8, 5, tzinfo=VN_TZ),
        tracking_url=f"http://192.168.1.10:8080/t/01JDX3K9ZQ{i:06d}",
        footer_lines=("Xin quý vị chờ đến khi số của mình được gọi", "Hotline: 0233 3 555 555"),
        priority_label="Người cao tuổi" if i % 5 == 0 else None,
    )


def bench_tickets(dots: int, n: int = 200) -> dict[str, float]:
    layout = TicketLayout(LayoutConfig(paper_dots=dots))
    sizes = []
    render_line.cache_clear()
    t0 = time.perf_counter()
    layout.build(ticket(0))  # cold: every line rendered, fonts loaded
    cold_ms = (time.perf_counter() - t0) * 1000
    worst = max(len(layout.build(ticket(i))) for i in range(0, 50, 5))  # priority tickets included
    times, cpu_times = [], []
    for i in range(n):
        if i % 10 == 0:
            render_line.cache_clear()  # the wait line changes per ticket; keep the cache honest
        t, c = time.perf_counter(), time.process_time()
        data = layout.build(ticket(i))
        times.append(time.perf_counter() - t)
        cpu_times.append(time.process_time() - c)
        sizes.append(len(data))
    times.sort()
    cpu_times.sort()
    return {"bytes_mean": sum(sizes) / len(sizes), "bytes_max": float(worst), "build_p50_ms": times[n // 2] * 1000,
            "build_p99_ms": times[int(n * 0.99)] * 1000, "build_cold_ms": cold_ms,
            "build_cpu_p50_ms": cpu_times[n // 2] * 1000, "build_cpu_p99_ms": cpu_times[int(n * 0.99)] * 1000,
            "per_s": n / sum(times)}


def scene(size: tuple[int, int]) -> np.ndarray:
    """As in research/feasibility.md §3: gradient, code rotated 17°, lowered contrast, 3x3 blur, noise σ=6."""
    w, h = size
    buf = io.BytesIO()
    segno.make_qr(PAYLOAD, error="m").save(buf, kind="png", scale=6, border=4)
    code = np.array(Image.open(buf).convert("L"))
    frame = np.tile(np.linspace(60, 200, w, dtype=np.float32), (h, 1))
    ch, cw = code.shape
    m = cv2.getRotationMatrix2D((cw / 2, ch / 2), 17, 1.0)
    rotated = cv2.warpAffine(code, m, (cw, ch), borderValue=255).astype(np.float32)
    y, x = (h - ch) // 2, (w - cw) // 2
    frame[y:y + ch, x:x + cw] = 40 + rotated * (170 / 255)
    frame = cv2.GaussianBlur(frame, (3, 3), 0)
    frame += np.random.default_rng(6).normal(0, 6, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def bench_decoder(fn, frame: np.ndarray, seconds: float = 2.0) -> dict[str, float]:
    assert [d.text for d in fn(frame, ("QRCode",))] == [PAYLOAD], fn.__name__
    n, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < seconds:
        fn(frame, ("QRCode",))
        n += 1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"per_s": n / wall, "per_cpu_s": n / cpu if cpu > 0 else float("nan")}


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    result: dict[str, float] = {}
    for label, dots in (("80mm", 576), ("58mm", 384)):
        r = bench_tickets(dots)
        print(f"ticket {label}: mean {r['bytes_mean']:.0f} B, max {r['bytes_max']:.0f} B, "
              f"build p50 {r['build_p50_ms']:.2f} ms p99 {r['build_p99_ms']:.2f} ms (CPU p50 {r['build_cpu_p50_ms']:.2f}"
              f" p99 {r['build_cpu_p99_ms']:.2f} ms) cold {r['build_cold_ms']:.1f} ms,"
              f" {r['per_s']:.0f} tickets/s")
        result[f"ticket_{label}_bytes"] = round(r["bytes_max"])
        result[f"ticket_{label}_build_p50_ms"] = round(r["build_p50_ms"], 2)
        result[f"ticket_{label}_build_p99_ms"] = round(r["build_p99_ms"], 2)
        result[f"ticket_{label}_build_cpu_p50_ms"] = round(r["build_cpu_p50_ms"], 2)
        result[f"ticket_{label}_build_cpu_p99_ms"] = round(r["build_cpu_p99_ms"], 2)
        result[f"ticket_{label}_build_cold_ms"] = round(r["build_cold_ms"], 1)
        result[f"ticket_{label}_per_s"] = round(r["per_s"], 1)
    for label, size in (("640x480", (640, 480)), ("1280x720", (1280, 720))):
        frame = scene(size)
        z = bench_decoder(decode_zxing, frame)
        p = bench_decoder(decode_pyzbar, frame)
        ratio = z["per_cpu_s"] / p["per_cpu_s"]
        print(f"QR {label}: zxing-cpp {z['per_s']:.0f}/s ({z['per_cpu_s']:.0f}/CPU-s), "
              f"pyzbar {p['per_s']:.0f}/s ({p['per_cpu_s']:.0f}/CPU-s), ratio {ratio:.1f}x")
        result[f"qr_{label}_zxing_per_s"] = round(z["per_s"], 1)
        result[f"qr_{label}_zxing_per_cpu_s"] = round(z["per_cpu_s"], 1)
        result[f"qr_{label}_pyzbar_per_s"] = round(p["per_s"], 1)
        result[f"qr_{label}_pyzbar_per_cpu_s"] = round(p["per_cpu_s"], 1)
        result[f"qr_{label}_zxing_over_pyzbar_ratio"] = round(ratio, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
