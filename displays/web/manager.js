/* Manager live board: GET /api/v1/stats/today, refreshed on every pushed event (coalesced) and every 15 s;
 * rows whose longest wait passes the threshold are highlighted. Needs the manager role. */
"use strict";

(async function managerBoard() {
  const $ = (x) => document.getElementById(x);
  const settings = await fetch("/displays/settings.json").then((r) => r.json()).catch(() => ({}));
  const threshold = Number(queryParam("warn_min", settings.wait_warning_min || 30));
  $("threshold-note").textContent = `— cảnh báo khi chờ quá ${threshold} phút`;
  let names = {};
  let counterNames = {};
  let stats = null;
  let busy = false, again = false, live = null;

  function show(loggedIn) {
    $("login").hidden = loggedIn;
    $("board").hidden = !loggedIn;
    $("logout").hidden = !loggedIn;
    $("who").textContent = loggedIn ? `${sessionStorage.getItem("motcua.username") || ""}` : "";
  }

  function fail(err) {
    const text = err instanceof MotcuaApiError ? err.vietnamese : String(err);
    $("message").textContent = text;
    $("message").dataset.code = err.code || "";
    $("message").hidden = false;
    if (err.code === "unauthenticated" || err.code === "forbidden") { MotcuaApi.token = err.code === "forbidden" ? MotcuaApi.token : null; show(false); }
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
      return el("tr", { "data-counter": id },
        el("td", { text: counterNames[id] || c.name || `Quầy ${id}` }),
        el("td", { class: `status-${c.status}`, text: (STATUS_VN[c.status] || c.status || "—") + (c.pause_reason ? ` (${c.pause_reason})` : "") }),
        el("td", { text: c.staff || "—" }),
        el("td", { text: c.current || c.current_ticket || "—" }),
        el("td", { class: "num elapsed", "data-since": c.current || c.current_ticket ? (c.since || "") : "", text: "" }));
    }));
    tick();
    $("updated").textContent = `cập nhật ${formatClock(vnNow())}`;
  }

  function tick() {
    for (const td of document.querySelectorAll("td.elapsed")) td.textContent = td.dataset.since ? elapsedText(td.dataset.since) : "—";
  }
  setInterval(tick, 1000);

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      stats = await MotcuaApi.get("/stats/today");
      $("message").hidden = true;
      render();
    } catch (err) { fail(err); }
    finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  async function enter() {
    try {
      const cfg = await MotcuaApi.get("/config");
      names = Object.fromEntries((cfg.services || []).map((s) => [s.code, s.name]));
      counterNames = Object.fromEntries((cfg.counters || []).map((c) => [c.id, c.name]));
    } catch (err) { /* names fall back to codes */ }
    show(true);
    await refresh();
    if (!live) {
      live = new MotcuaLive({ onEvent: () => refresh(), onState: () => refresh() });
      window.motcuaLive = live;
      live.start();
      setInterval(refresh, 15000);    // waits grow with no event at all
    }
  }

  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await MotcuaApi.post("/auth/login", { username: $("username").value.trim(), password: $("password").value });
      MotcuaApi.token = r.token;
      sessionStorage.setItem("motcua.username", r.username);
      sessionStorage.setItem("motcua.role", r.role);
      if (r.role === "staff") { fail(new MotcuaApiError("forbidden", "manager role needed", 403)); return; }
      $("message").hidden = true;
      await enter();
    } catch (err) { fail(err); }
  });
  $("logout").addEventListener("click", () => { MotcuaApi.token = null; show(false); });

  if (MotcuaApi.token) await enter(); else show(false);
})();
