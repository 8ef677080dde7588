/* Manager live board (manager role). Each panel has its own source, fetched again when a pushed event concerns
 * it (coalesced: at most one request in flight per source) and on a timer for figures that change with no event:
 * - services and counters: GET /stats/today, on every event and every 15 s; rows past the wait threshold in red;
 * - devices: GET /devices on device.* events (a printer out of paper is a red alert in Vietnamese) and every 5 s;
 * - ratings today: GET /ratings/aggregates on rating.* events and every 60 s;
 * - main-system link and outbox: GET /integration/health on every event (pending grows with each) and every 5 s
 *   (the oldest undelivered event ages with no event); red past outbox_warn_min;
 * - dossier on-time and resolution rates: GET /stats/dossier-rates on dossier.* events and every 60 s.
 * A panel whose route fails (an older hub) says so and the rest of the board keeps working. */
"use strict";

(async function managerBoard() {
  const $ = (x) => document.getElementById(x);
  const settings = await fetch("/displays/settings.json").then((r) => r.json()).catch(() => ({}));
  const threshold = Number(queryParam("warn_min", settings.wait_warning_min || 30));
  $("threshold-note").textContent = `— cảnh báo khi chờ quá ${threshold} phút`;
  let names = {};
  let counterNames = {};
  let stats = null;
  let live = null;

  function fail(err) {
    const text = err instanceof MotcuaApiError ? err.vietnamese : String(err);
    $("message").textContent = text;
    $("message").dataset.code = err.code || "";
    $("message").hidden = false;
    MotcuaLogin.expired(err);
    if (err.code === "forbidden") MotcuaLogin.show(false);
  }

  const STATUS_VN = { open: "Đang mở", paused: "Tạm dừng", closed: "Đóng" };
  const min = (v) => (v === null || v === undefined ? "—" : `${Math.round(v)} phút`);

  function asList(obj, key) {
    // The hub may answer a list of rows or an object keyed by code; accept both.
    if (Array.isArray(obj)) return obj;
    return Object.entries(obj || {}).map(([k, v]) => Object.assign({ [key]: k }, v));
  }

  function render() {
    if (!stats) return;
    const services = asList(stats.services, "service");
    $("services").replaceChildren(...services.map((s) => {
      const warn = (s.longest_wait_min || 0) > threshold;
      return el("tr", { class: warn ? "warn" : "", "data-service": s.service || s.code, "data-warn": warn ? "1" : "0" },
        el("td", { text: `${warn ? "⚠ " : ""}${names[s.service || s.code] || s.name || s.service || s.code}` }),
        el("td", { class: "num", text: String(s.waiting ?? 0) }),
        el("td", { class: "num", text: min(s.longest_wait_min) }),
        el("td", { class: "num", text: min(s.avg_wait_min) }),
        el("td", { class: "num", text: min(s.avg_service_min) }),
        el("td", { class: "num", text: String(s.served ?? 0) }),
        el("td", { class: "num", text: String(s.no_show ?? 0) }));
    }));
    const counters = asList(stats.counters, "counter");
    $("counters").replaceChildren(...counters.map((c) => {
      const id = c.counter || c.id;
      // silent: open, but nobody touched its console or keypad for [display] silent_counter_min
      const silent = Boolean(c.silent);
      return el("tr", { "data-counter": id, class: silent ? "silent" : "", "data-silent": silent ? "1" : "0" },
        el("td", { text: counterNames[id] || c.name || `Quầy ${id}` }),
        el("td", { class: `status-${c.status}`, text: (STATUS_VN[c.status] || c.status || "—") + (c.pause_reason ? ` (${c.pause_reason})` : "")
                                                       + (silent ? " ⚠ Không có thao tác — không tính vào thời gian chờ" : "") }),
        el("td", { text: c.staff || "—" }),
        el("td", { text: c.current || c.current_ticket || "—" }),
        el("td", { class: "num elapsed", "data-since": c.current || c.current_ticket ? (c.since || "") : "", text: "" }),
        el("td", { class: "board-actions" },
          el("button", { type: "button", class: "pause-counter", "data-counter": id, text: "Tạm dừng…",
                         disabled: c.status !== "open", onclick: () => pauseCounter(id) }),
          el("button", { type: "button", class: "close-counter", "data-counter": id, text: "Đóng quầy",
                         disabled: c.status === "closed", onclick: () => closeCounter(id) })));
    }));
    tick();
    $("updated").textContent = `cập nhật ${formatClock(vnNow())}`;
  }

  /* The manager may pause or close any counter (staff only their own); closing waits for the ticket in hand. */
  async function pauseCounter(id) {
    const reason = window.prompt(`Lý do tạm dừng ${counterNames[id] || "quầy " + id}:`, "Quản lý tạm dừng");
    if (reason === null || !reason.trim()) return;
    try { await MotcuaApi.post(`/counters/${encodeURIComponent(id)}/pause`, { reason: reason.trim() }); refresh(); }
    catch (err) { fail(err); }
  }

  async function closeCounter(id) {
    if (!window.confirm(`Đóng ${counterNames[id] || "quầy " + id}? Quầy sẽ không nhận công dân cho đến khi cán bộ mở lại.`)) return;
    try { await MotcuaApi.post(`/counters/${encodeURIComponent(id)}/close`, {}); refresh(); }
    catch (err) { fail(err); }
  }

  function tick() {
    for (const td of document.querySelectorAll("td.elapsed")) td.textContent = td.dataset.since ? elapsedText(td.dataset.since) : "—";
  }
  setInterval(tick, 1000);

  /* One loader per source: never two requests in flight; a request asked for meanwhile runs once after. */
  function loader(path, apply, onError) {
    let running = false, pending = false;
    async function run() {
      if (running) { pending = true; return; }
      running = true;
      try {
        apply(await MotcuaApi.get(path));
      } catch (err) {
        if (err.code === "unauthenticated" || err.code === "forbidden" || !onError) fail(err); else onError(err);
      } finally {
        running = false;
        if (pending) { pending = false; run(); }
      }
    }
    return run;
  }

  const refresh = loader("/stats/today", (body) => { stats = body; $("message").hidden = true; render(); });
  const refreshDevices = loader("/devices", renderDevices, (err) => panelError("devices", err));
  const refreshRatings = loader("/ratings/aggregates", renderRatings, (err) => panelError("ratings", err));
  const refreshHealth = loader("/integration/health", renderHealth, (err) => panelError("link-state", err));
  const refreshRates = loader("/stats/dossier-rates", renderRates, (err) => panelError("rate-received", err));
  let bookingsOn = false;                       // /config says whether this center takes bookings
  // from the reports' read model (the booking events, replayable), places from the calendar and capacities
  const loadBookings = loader("/reports/bookings?period=day", renderBookings, (err) => {
    // a hub without [bookings] answers 404: no panel at all
    if (err.code === "not_found" || err.status === 404) $("bookings-panel").hidden = true;
    else panelError("bookings", err);
  });
  const refreshBookings = () => { if (bookingsOn) loadBookings(); };
  const refreshAll = () => { refresh(); refreshDevices(); refreshRatings(); refreshHealth(); refreshRates(); refreshBookings(); };

  function panelError(id, err) {
    // One panel's route failing (hub too old, link down) must not hide the rest of the board.
    const target = $(id);
    const text = `Không tải được / Could not load (${err.code || err})`;
    if (target.tagName === "TBODY") {
      target.replaceChildren(el("tr", { class: "load-error" }, el("td", { colspan: "8", text })));
    } else {
      target.textContent = text;
    }
  }

  function onEvent(env) {
    const type = (env && env.type) || "";
    refresh();
    refreshHealth();                           // every stored event enters the outbox
    if (type.startsWith("device.")) refreshDevices();
    if (type.startsWith("rating.")) refreshRatings();
    if (type.startsWith("dossier.")) refreshRates();
    if (type.startsWith("booking.")) refreshBookings();
    if (type === "help.requested" || type === "help.answered") {
      // a citizen asked for help at a kiosk: on the banner until staff say they are going
      const kiosk = env.data && env.data.kiosk;
      if (kiosk) {
        if (type === "help.answered") helpAsked.delete(kiosk);
        else if (!helpAsked.has(kiosk)) helpAsked.set(kiosk, env.at);      // a second press keeps the first time
      }
      renderBanner();
    }
  }
  const helpAsked = new Map();   // kiosk → when it asked (the hub's time, +07:00)
  function helpFromState(state) {
    // the snapshot lists today's unanswered requests: a board opened (or reconnected) after a kiosk asked shows it
    helpAsked.clear();
    for (const r of (state && state.help) || []) if (r && r.kiosk) helpAsked.set(r.kiosk, r.at);
    renderBanner();
  }

  /* ---- the banner at the top: device alerts and an outbox backlog, seen without scrolling ---- */
  let bannerDevices = [], bannerLink = null;

  function renderBanner() {
    const items = bannerDevices.map((a) => el("li", { class: a.severity === "critical" ? "critical" : "warning",
                                                      "data-device": a.device_id, "data-code": a.code },
                                              `⚠ ${a.message_vi || a.code} — ${a.device_id}`));
    if (bannerLink) items.push(el("li", { class: "critical", "data-link": "outbox" }, bannerLink));
    for (const [kiosk, at] of helpAsked) {
      const since = at ? ` (từ ${at.slice(11, 16)})` : "";
      items.push(el("li", { class: "critical", "data-help": kiosk }, `🙋 Công dân tại kiosk ${kiosk} cần hỗ trợ${since}`));
    }
    const banner = $("alert-banner");
    banner.hidden = items.length === 0;
    banner.classList.toggle("critical", items.some((li) => li.classList.contains("critical")));
    banner.replaceChildren(el("ul", {}, ...items),
                           el("a", { href: "#devices-panel", text: "Xem chi tiết / Details ↓" }));
  }

  /* ---- devices ---- */
  const KIND_VN = { printer: "Máy in phiếu", scanner: "Máy quét mã", camera: "Camera", rating_pad: "Bàn phím đánh giá",
                    led_display: "Bảng LED quầy", staff_keypad: "Bàn phím cán bộ", kiosk: "Ki-ốt" };
  const AVAIL_VN = { online: "Trực tuyến", offline: "Mất kết nối", unknown: "Chưa rõ" };
  const DEVICE_STATUS_VN = { ok: "Bình thường", warning: "Cảnh báo", fault: "Lỗi", unknown: "Chưa rõ" };
  const FAULT_VN = { offline: "Mất kết nối", paper_out: "Hết giấy", paper_near_end: "Sắp hết giấy",
                     cover_open: "Nắp mở", jammed: "Kẹt giấy", not_found: "Không tìm thấy", read_error: "Lỗi đọc",
                     slow: "Phản hồi chậm" };
  const hhmm = (iso) => {
    if (!iso) return "—";
    const d = new Date(Date.parse(iso) + (new Date().getTimezoneOffset() + 420) * 60000);
    return Number.isNaN(d.getTime()) ? "—" : formatClock(d);
  };

  function renderDevices(body) {
    const alerts = (body.alerts || []).slice().sort((a, b) =>
      (a.severity === "critical" ? 0 : 1) - (b.severity === "critical" ? 0 : 1) || String(a.since).localeCompare(String(b.since)));
    $("devices-panel").dataset.alerts = String(alerts.length);
    bannerDevices = alerts;
    renderBanner();
    $("device-alerts").replaceChildren(...(alerts.length ? alerts.map((a) =>
      el("li", { class: a.severity === "critical" ? "critical" : "warning", "data-device": a.device_id,
                 "data-code": a.code, "data-severity": a.severity, role: "alert" },
         `⚠ ${a.message_vi || a.code} — ${a.device_id} (từ ${hhmm(a.since)})`,
         el("span", { class: "en", lang: "en", text: a.message_en || "" }))) :
      [el("li", { class: "none", text: "Không có cảnh báo thiết bị / No device alerts" })]));
    const devices = body.devices || [];
    $("devices-empty").hidden = devices.length > 0;
    $("devices").replaceChildren(...devices.map((d) => {
      const cls = d.status === "fault" || d.availability === "offline" ? "device-fault" : d.status === "warning" ? "device-warning" : "";
      return el("tr", { class: cls, "data-device": d.id, "data-availability": d.availability, "data-status": d.status },
        el("td", { text: d.id }),
        el("td", { text: KIND_VN[d.kind] || d.kind || "—" }),
        el("td", { class: `avail-${d.availability}`, text: AVAIL_VN[d.availability] || d.availability }),
        el("td", { text: DEVICE_STATUS_VN[d.status] || d.status }),
        el("td", { text: (d.faults || []).map((f) => FAULT_VN[f] || f).join(", ") || "—" }),
        el("td", { class: "num", text: hhmm(d.last_seen) }));
    }));
  }

  /* ---- ratings today ---- */
  const pct = (n, total) => (total ? `${Math.round((100 * n) / total)}%` : "—");

  function renderRatings(agg) {
    const levels = (agg.scale || []).slice().sort((a, b) => b.value - a.value);
    $("ratings-head").replaceChildren(el("tr", {},
      el("th", { text: "Quầy / Counter" }),
      ...levels.map((lv) => el("th", { class: "num", "data-level": lv.value }, lv.label,
                                el("br"), el("span", { lang: "en", text: lv.label_en || "" }))),
      el("th", { class: "num", text: "Tổng / Total" })));
    const row = (key, label, tally, cls) => el("tr", { class: cls || "", "data-rating-counter": key },
      el("td", { text: label }),
      ...levels.map((lv) => {
        const n = (tally.levels || {})[String(lv.value)] || 0;
        return el("td", { class: "num", "data-level": lv.value, "data-count": n },
                  String(n), el("span", { class: "lv-pct", text: pct(n, tally.count) }));
      }),
      el("td", { class: "num", "data-count": tally.count || 0, text: String(tally.count || 0) }));
    const counters = Object.entries(agg.counters || {});
    const rows = counters.map(([id, tally]) => row(id, counterNames[id] || `Quầy ${id}`, tally));
    rows.push(row("*", "Toàn trung tâm / Whole center", agg, "total"));
    $("ratings").replaceChildren(...rows);
    $("ratings-total").textContent = agg.count ? `— ${agg.count} lượt, ${pct((agg.levels || {})[String(levels[0] && levels[0].value)] || 0, agg.count)} ${levels[0] ? levels[0].label.toLowerCase() : ""}` : "— chưa có lượt đánh giá nào";
  }

  /* ---- main-system link, outbox ---- */
  const outboxWarnMin = Number(queryParam("outbox_warn_min", 5));
  $("outbox-note").textContent = `— cảnh báo khi sự kiện chờ gửi quá ${outboxWarnMin} phút`;
  const LINK_VN = { up: "Đang kết nối / Up", down: "Mất kết nối / Down", unknown: "Chưa rõ / Unknown",
                    not_configured: "Chưa cấu hình / Not configured" };

  function ageText(seconds) {
    const s = Math.max(0, Math.round(seconds || 0));
    if (s < 60) return `${s} giây`;
    const m = Math.floor(s / 60);
    return m < 60 ? `${m} phút ${s % 60} giây` : `${Math.floor(m / 60)} giờ ${m % 60} phút`;
  }

  function linkState(h) {
    // The hub's link monitor says not_configured when no look-up/sync adapter is set, even though an outbox may
    // be delivering (or failing to): then the outbox's own outcome is the link the manager cares about.
    const box = h.outbox;
    if (h.link !== "not_configured" || !box) return h.link;
    if (box.pending_count > 0 && box.last_error) return "down";
    return box.last_success_at ? "up" : "unknown";
  }

  function renderHealth(h) {
    const state = $("link-state");
    const link = linkState(h);
    state.textContent = LINK_VN[link] || link || "—";
    state.className = `link-${link}`;
    $("mirror-count").textContent = h.mirror_dossiers === undefined ? "—" : String(h.mirror_dossiers);
    const box = h.outbox;
    let warn = false;
    if (box) {
      const dead = box.dead_count ?? box.dead_letters ?? 0;
      const age = box.oldest_undelivered_age_s || 0;
      warn = box.pending_count > 0 && age > outboxWarnMin * 60;
      $("outbox-pending").textContent = String(box.pending_count ?? 0);
      $("outbox-age").textContent = box.pending_count ? ageText(age) : "—";
      $("outbox-age").dataset.seconds = String(age);
      $("outbox-dead").textContent = String(dead);
      $("outbox-dead").classList.toggle("bad", dead > 0);
      $("link-last-ok").textContent = box.last_success_at ? hhmm(typeof box.last_success_at === "number"
        ? new Date(box.last_success_at * 1000).toISOString() : box.last_success_at) : hhmm(h.last_ok_at);
    } else {
      for (const id of ["outbox-pending", "outbox-age", "outbox-dead"]) $(id).textContent = "—";
      $("outbox-pending").textContent = "Chưa cấu hình";
      $("link-last-ok").textContent = hhmm(h.last_ok_at);
    }
    const error = (box && box.last_error) || h.last_error;
    $("link-error").hidden = !error;
    $("link-error").textContent = error ? `Lỗi gần nhất / Last error: ${error}` : "";
    $("link-panel").dataset.warn = warn ? "1" : "0";
    bannerLink = warn ? `⚠ Liên thông: ${box.pending_count} sự kiện chưa gửi được lên hệ thống chính, cũ nhất ${ageText(box.oldest_undelivered_age_s)}` : null;
    renderBanner();
    $("link-panel").dataset.link = link || "";
  }

  /* ---- dossier rates ---- */
  const rateText = (r) => (r === null || r === undefined ? "—" : `${(100 * r).toFixed(1).replace(".", ",")}%`);
  const dmy = (iso) => (iso ? iso.split("-").reverse().join("/") : "");

  function renderRates(r) {
    $("rates-period").textContent = `từ ${dmy(r.from)} đến ${dmy(r.to)}`;
    $("rate-on-time").textContent = rateText(r.on_time_rate);
    $("rate-resolution").textContent = rateText(r.resolution_rate);
    $("rate-received").textContent = String(r.received ?? 0);
    $("rate-finished").textContent = String(r.finished ?? 0);
  }

  /* ---- bookings (issue 16): per slot today, check-in and no-show rates, utilisation ---- */
  function renderBookings(b) {
    $("bookings-panel").hidden = b.enabled === false;
    if (b.enabled === false) return;
    const pct = (r) => (r === null || r === undefined ? "—" : `${Math.round(100 * r)}%`);
    $("bookings-rates").textContent = `đến ${pct(b.check_in_rate)} · vắng ${pct(b.no_show_rate)} · sử dụng ${pct(b.slot_utilisation)}`;
    const slots = (b.days[0] && b.days[0].slots) || [];
    $("bookings").replaceChildren(...slots.map((s) => el("tr", { "data-slot": `${s.service}@${s.start}` },
      el("td", { text: s.start.slice(11, 16) }), el("td", { text: names[s.service] || s.service }),
      el("td", { class: "num", text: String(s.capacity) }),
      el("td", { class: "num", text: String(s.booked + s.checked_in + s.no_show) }),
      el("td", { class: "num", text: String(s.checked_in) }), el("td", { class: "num", text: String(s.no_show) }),
      el("td", { class: "num", text: pct(s.utilisation) }))));
  }

  async function enter() {
    try {
      const cfg = await MotcuaApi.get("/config");
      names = Object.fromEntries((cfg.services || []).map((s) => [s.code, s.name]));
      counterNames = Object.fromEntries((cfg.counters || []).map((c) => [c.id, c.name]));
      bookingsOn = cfg.bookings === true;
    } catch (err) { /* names fall back to codes */ }
    MotcuaLogin.show(true);
    refreshAll();
    if (!live) {
      live = new MotcuaLive({ onEvent, onState: (state) => { helpFromState(state); refreshAll(); } });
      window.motcuaLive = live;
      live.start();
      setInterval(refresh, 15000);        // waits grow with no event at all
      setInterval(refreshDevices, 5000);  // a device coming online raises no event: seen within seconds
      setInterval(refreshHealth, 5000);   // the oldest undelivered event ages with no event
      setInterval(() => { refreshRatings(); refreshRates(); refreshBookings(); }, 60000);
    }
  }

  /* ---- the date picker: today (default) is the live board; another day reads the reports model ---- */
  const isoToday = () => { const d = vnNow(); return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`; };
  // the default (today) is set once the hub answered: the device's own clock may be days off (no battery)
  $("board-day").value = queryParam("day", "");
  const pickedPast = () => {
    if (!$("board-day").value) $("board-day").value = isoToday();
    return $("board-day").value !== isoToday();
  };
  const minutes = (v) => (v === null || v === undefined ? "—" : `${String(v).replace(".", ",")} phút`);
  const hours = (v) => (v === null || v === undefined ? "—" : String(v).replace(".", ","));

  async function showDay() {
    const day = $("board-day").value || isoToday();
    const live = day === isoToday();
    $("history").hidden = live;
    for (const card of document.querySelectorAll("#board > section.card:not(#history), #board > .panels")) card.hidden = !live;
    if (live) { refreshAll(); return; }
    try {
      const [bySvc, byCounter] = await Promise.all([
        MotcuaApi.get(`/reports/summary?period=day&date=${day}&group=service`),
        MotcuaApi.get(`/reports/summary?period=day&date=${day}&group=counter`)]);
      $("history-day").textContent = dmy(day);
      $("history-services").replaceChildren(...bySvc.rows.map((r) => el("tr", { "data-service": r.key },
        el("td", { text: names[r.key] || r.name }), el("td", { class: "num", text: String(r.issued) }),
        el("td", { class: "num", text: String(r.served) }), el("td", { class: "num", text: String(r.no_show) }),
        el("td", { class: "num", text: minutes(r.wait_p50_min) }), el("td", { class: "num", text: minutes(r.wait_p90_min) }),
        el("td", { class: "num", text: minutes(r.wait_max_min) }), el("td", { class: "num", text: minutes(r.service_p50_min) }))));
      $("history-counters").replaceChildren(...byCounter.rows.map((r) => el("tr", { "data-counter": r.key },
        el("td", { text: counterNames[r.key] || r.name }), el("td", { class: "num", text: String(r.served) }),
        el("td", { class: "num", text: String(r.no_show) }), el("td", { class: "num", text: minutes(r.service_p50_min) }),
        el("td", { class: "num", text: hours(r.on_duty_h) }), el("td", { class: "num", text: hours(r.pause_h) }),
        el("td", { class: "num", text: hours(r.served_per_duty_hour) }))));
      $("message").hidden = true;
    } catch (err) { fail(err); }
  }
  $("board-day").addEventListener("change", showDay);
  $("back-today").addEventListener("click", (ev) => { ev.preventDefault(); $("board-day").value = isoToday(); showDay(); });

  // A board left open overnight: at the hub's midnight its live cards already show the new day, so a picker that
  // showed today moves to the new today with them; a past day the manager picked stays picked.
  let shownToday = null;                       // the hub's day when the picker was last set or followed
  setInterval(() => {
    if (!hubTimeKnown() || !$("board-day").value) return;
    const now = isoToday();
    if (shownToday === null) shownToday = now;
    if (now === shownToday) return;
    const followed = $("board-day").value === shownToday;
    shownToday = now;
    if (followed) { $("board-day").value = now; showDay(); }
  }, 1000);

  await MotcuaLogin.mount({ main: "board", fail, refuse: ["staff"], who: "display_name",
                           enter: async () => { await enter(); shownToday = isoToday(); if (pickedPast()) showDay(); } });
})();
