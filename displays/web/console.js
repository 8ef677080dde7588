/* Staff counter console: log in, pick a counter, then one button and one key per action.
 * Token in sessionStorage (gone when the tab closes); every refusal is shown in Vietnamese from its error code. */
"use strict";

(function staffConsole() {
  const $ = (x) => document.getElementById(x);
  const store = sessionStorage;
  let config = null;
  let counterId = store.getItem("motcua.counter");
  let detail = null;
  let timerHandle = null;
  let refreshing = false;
  let refreshAgain = false;
  let heartbeatHandle = null;
  const HEARTBEAT_MS = 60000;   // well under the smallest sensible [display] silent_counter_min

  function show(view) {
    for (const v of ["login", "pick", "work"]) $(v).hidden = v !== view;
    const loggedIn = view !== "login";
    $("logout").hidden = !loggedIn;
    $("change-counter").hidden = view !== "work";
    $("end-day").hidden = view !== "work";
    // the display name, never the login (a login is half a credential)
    $("who").textContent = loggedIn ? `${store.getItem("motcua.display_name") || ""} (${ROLE_VN[store.getItem("motcua.role")] || ""})` : "";
    if (view !== "work") { clearInterval(heartbeatHandle); heartbeatHandle = null; }
    if (view === "login") $("username").focus();
  }

  const ROLE_VN = { staff: "cán bộ", manager: "quản lý", admin: "quản trị" };

  function message(text, kind) {
    const m = $("message");
    m.textContent = text;
    m.className = `message ${kind || "error"}`;
    m.hidden = !text;
    m.dataset.code = kind === "error" ? (message.code || "") : "";
  }

  function fail(err) {
    if (err instanceof MotcuaApiError) {
      message.code = err.code;
      let text = err.vietnamese;
      const detail = (err.detail && err.detail.message) || "";
      let m;
      // The hub's messages are English; the refusals staff meet every day get a Vietnamese sentence.
      if ((m = detail.match(/recall \S+ (\d+) more time/))) {
        text = `Cần gọi lại thêm ${m[1]} lần trước khi đánh dấu vắng mặt / Recall ${m[1]} more time(s) first`;
      } else if (err.code === "rate_limited" && (m = detail.match(/failed logins.*wait (\d+) s/))) {
        const min = Math.max(1, Math.ceil(Number(m[1]) / 60));
        text = `Đăng nhập sai quá nhiều lần, vui lòng chờ ${min} phút rồi thử lại / Too many failed logins: wait ${min} min`;
      } else if ((m = detail.match(/again in (\d+) s/))) {
        text = `Vui lòng chờ ${m[1]} giây nữa rồi gọi lại / Wait ${m[1]} s before recalling`;
      } else if (err.code === "invalid_transition" && detail && text !== detail) {
        text += ` — ${detail}`;
      }
      if (err.code === "forbidden" && /open under another staff member/.test(detail)) {
        // taken over from another console: this one no longer acts for the counter
        text = "Quầy này đã được cán bộ khác nhận — hãy chọn quầy / Another staff member took this counter";
        message(text, "error");
        store.removeItem("motcua.counter");
        pick().catch(() => {});
        return;
      }
      message(text, "error");
      if (err.code === "unauthenticated") { MotcuaApi.token = null; show("login"); }
    } else {
      message.code = "internal";
      message(String(err), "error");
    }
  }

  async function loadConfig() {
    if (!config) config = await MotcuaApi.get("/config");
    return config;
  }

  async function login(ev) {
    ev.preventDefault();
    try {
      const r = await MotcuaApi.post("/auth/login", { username: $("username").value.trim(), password: $("password").value });
      MotcuaApi.token = r.token;
      store.setItem("motcua.username", r.username);
      store.setItem("motcua.role", r.role);
      store.setItem("motcua.display_name", r.display_name || r.username);
      $("password").value = "";
      message("");
      await pick();
    } catch (err) { fail(err); }
  }

  async function pick() {
    const cfg = await loadConfig();
    const names = Object.fromEntries((cfg.services || []).map((s) => [s.code, s.name]));
    $("counter-select").replaceChildren(...(cfg.counters || []).map((c) =>
      el("option", { value: c.id, text: `${c.name} — ${(c.services || []).map((s) => names[s] || s).join(", ")}` })));
    if (counterId) $("counter-select").value = counterId;
    show("pick");
    $("counter-select").focus();
  }

  async function openCounter(ev) {
    ev.preventDefault();
    const id = $("counter-select").value;
    try {
      try {
        await MotcuaApi.post(`/counters/${encodeURIComponent(id)}/open`, {});
      } catch (err) {
        if (!(err instanceof MotcuaApiError) || err.code !== "counter_taken") throw err;
        // Someone else has this counter open: taking it over is a deliberate act, recorded with both names.
        const holder = ((err.detail && err.detail.message) || "").match(/open under (.+); confirm/);
        const name = holder ? holder[1] : "cán bộ khác";
        if (!window.confirm(`Quầy này đang do ${name} mở.\nAnh/chị có chắc muốn nhận quầy thay ${name} không? Việc nhận quầy sẽ được ghi lại.`)) {
          message.code = "counter_taken";
          message(`Quầy đang do ${name} mở — chưa nhận quầy / Counter kept by ${name}`, "error");
          return;
        }
        await MotcuaApi.post(`/counters/${encodeURIComponent(id)}/open`, { takeover: true });
      }
      counterId = id;
      store.setItem("motcua.counter", id);
      message("");
      await enterWork();
    } catch (err) { fail(err); }
  }

  async function enterWork() {
    const cfg = await loadConfig();
    const counter = (cfg.counters || []).find((c) => c.id === counterId);
    $("counter-title").textContent = counter ? counter.name : `Quầy ${counterId}`;
    const targets = [
      ...(cfg.services || []).map((s) => el("option", { value: `service:${s.code}`, text: `Lĩnh vực: ${s.name}` })),
      ...(cfg.counters || []).filter((c) => c.id !== counterId).map((c) => el("option", { value: `counter:${c.id}`, text: `Quầy: ${c.name}` })),
    ];
    $("transfer-target").replaceChildren(...targets);
    show("work");
    await refresh();
    clearInterval(heartbeatHandle);
    heartbeatHandle = setInterval(heartbeat, HEARTBEAT_MS);
    if (!window.motcuaLive) {
      // Any event may change this counter's waiting list; refresh coalesced, never more than one in flight.
      window.motcuaLive = new MotcuaLive({
        onEvent: (env) => {
          helpEvent(env);
          refresh();
          if (((env && env.type) || "").startsWith("device.")) refreshAlerts();
        },
        onState: (state) => { helpFromState(state); refresh(); refreshAlerts(); },
      });
      window.motcuaLive.start();
      setInterval(refreshAlerts, 15000);
    }
    refreshAlerts();
  }

  // "Cần hỗ trợ" from a kiosk: every console shows which kiosk asks, and since when, until someone says they are
  // going. The snapshot lists the open ones (a console opened or reconnected later shows them too); events follow.
  const helpAsked = new Map();
  function helpFromState(state) {
    helpAsked.clear();
    for (const r of (state && state.help) || []) if (r && r.kiosk) helpAsked.set(r.kiosk, r.at);
    renderHelp();
  }
  function helpEvent(env) {
    const kiosk = env && env.data && env.data.kiosk;
    if (!kiosk) return;
    if (env.type === "help.requested") { if (!helpAsked.has(kiosk)) helpAsked.set(kiosk, env.at); }
    else if (env.type === "help.answered") helpAsked.delete(kiosk);
    else return;
    renderHelp();
  }
  function renderHelp() {
    const box = $("help-requests");
    // "at" is the hub's time with +07:00: its HH:MM is the center's wall clock
    const since = (at) => (at ? ` (từ ${at.slice(11, 16)} / since ${at.slice(11, 16)})` : "");
    box.replaceChildren(...[...helpAsked].map(([k, at]) => el("div", { class: "help-request", "data-kiosk": k },
      el("span", { text: `Công dân tại kiosk ${k} cần hỗ trợ${since(at)} / A citizen at kiosk ${k} needs help ` }),
      el("button", { type: "button", text: "Tôi đến hỗ trợ / I'm going", onclick: () =>
        MotcuaApi.post("/help/answer", { kiosk: k }).catch(fail) }))));
    box.hidden = helpAsked.size === 0;
  }

  async function refresh() {
    if (!counterId || $("work").hidden) return;
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    try {
      detail = await MotcuaApi.get(`/counters/${encodeURIComponent(counterId)}`);
      render();
    } catch (err) {
      if (err.code === "unauthenticated") fail(err);
    } finally {
      refreshing = false;
      if (refreshAgain) { refreshAgain = false; refresh(); }
    }
  }

  async function heartbeat() {
    // tells the hub someone is at this counter (else it is flagged silent on the board after a while)
    if (!counterId || $("work").hidden) return;
    try {
      await MotcuaApi.post(`/counters/${encodeURIComponent(counterId)}/heartbeat`, {});
    } catch (err) {
      if (err instanceof MotcuaApiError && err.code === "forbidden") fail(err);   // taken over meanwhile
    }
  }

  async function refreshAlerts() {
    if ($("work").hidden) return;
    try {
      renderAlerts(await MotcuaApi.get("/devices/alerts"));
    } catch (err) { /* an older hub has no such route: no banner */ }
  }

  function renderAlerts(body) {
    const alerts = (body && body.alerts) || [];
    const box = $("device-alerts");
    box.hidden = alerts.length === 0;
    box.replaceChildren(el("ul", {}, ...alerts.map((a) =>
      el("li", { "data-device": a.device_id, "data-code": a.code, text: `⚠ ${a.message_vi || a.code} — ${a.device_id}` }))));
  }

  const STATUS_VN = { open: "Đang mở", paused: "Tạm dừng", closed: "Đóng", called: "Đã gọi", serving: "Đang xử lý" };

  function render() {
    const d = detail || {};
    $("counter-status").textContent = STATUS_VN[d.status] || d.status || "—";
    $("pause-reason").textContent = d.status === "paused" && d.pause_reason ? `(${d.pause_reason})` : "";
    const number = d.current_ticket || "---";
    $("current-number").textContent = number;
    $("current-number").dataset.ticket = d.current_ticket || "";
    $("current-status").textContent = d.current_ticket ? (STATUS_VN[d.current_status] || d.current_status || "") : "";
    // left in hand at an earlier day's closing: today's same number is another citizen (the hall shows none)
    const day = d.held_over && d.current && d.current.day ? d.current.day.split("-").reverse().join("/") : "";
    if (day) $("current-status").textContent += ` · Phiếu ngày ${day}: hoàn thành hoặc đánh dấu vắng mặt`;
    $("staff-name").textContent = d.staff ? `· Cán bộ: ${d.staff}` : "";
    $("silent-note").hidden = !d.silent;
    const cur = d.current || null;
    $("current-priority").textContent = cur && cur.priority ? `Ưu tiên: ${priorityLabel(cur.priority)}` : "";
    $("current-unprinted").textContent = cur && cur.printed === false ? "Chưa in phiếu" : "";
    // Each action only when it applies: one ticket at a time, a call before service, service before done.
    const busy = Boolean(d.current_ticket);
    const open = d.status === "open";
    const called = busy && d.current_status === "called";
    const canCall = open && !busy;
    $("act-call-next").disabled = !canCall;
    $("act-call").disabled = !canCall;
    $("act-recall").disabled = !called || Boolean(d.held_over);
    $("act-start").disabled = !called;
    $("act-complete").disabled = !(busy && d.current_status === "serving");
    $("act-no-show").disabled = !called;
    $("act-transfer").disabled = !busy;
    $("act-pause").disabled = !open;
    $("act-resume").disabled = d.status !== "paused";
    $("act-close").disabled = busy || d.status === "closed";
    const waiting = d.waiting || [];
    $("waiting-count").textContent = String(waiting.length);
    const names = Object.fromEntries(((config && config.services) || []).map((s) => [s.code, s.name]));
    $("waiting").replaceChildren(...waiting.map((t) =>
      el("li", { "data-ticket": t.number, "data-ticket-id": t.id, class: canCall ? "" : "disabled",
                 title: canCall ? "Bấm để gọi số này" : "Đang có số trong tay / A ticket is in hand",
                 onclick: (ev) => { if (canCall && !ev.target.closest("button")) act("call", { ticket_id: t.id }); } },
        el("span", {}, el("strong", { text: t.number }), " ", el("span", { text: names[t.service] || t.service }),
          t.priority ? el("span", { class: "tag prio", text: `Ưu tiên: ${priorityLabel(t.priority)}` }) : "",
          t.printed === false ? el("span", { class: "tag unprinted", text: "Chưa in phiếu" }) : ""),
        el("span", { class: "row-actions" }, el("span", { text: (t.issued_at || "").slice(11, 16) }),
          el("button", { type: "button", class: "cancel-ticket", "data-ticket": t.number, text: "Huỷ…",
                         onclick: () => openCancel(t) })))));
    const noShows = d.no_shows || [];
    $("no-show-count").textContent = String(noShows.length);
    $("no-shows").replaceChildren(...noShows.map((t) =>
      el("li", { "data-ticket": t.number, "data-ticket-id": t.id, class: "disabled" },
        el("span", {}, el("strong", { text: t.number }), " ", el("span", { text: names[t.service] || t.service }),
          t.priority ? el("span", { class: "tag prio", text: `Ưu tiên: ${priorityLabel(t.priority)}` }) : ""),
        el("span", { class: "row-actions" },
          el("button", { type: "button", class: "reactivate", "data-ticket": t.number, text: "Kích hoạt lại",
                         onclick: () => reactivate(t) })))));
    clearInterval(timerHandle);
    const tick = () => { $("timer").textContent = d.current_ticket && d.since ? elapsedText(d.since) : ""; };
    tick();
    timerHandle = setInterval(tick, 1000);
  }

  function priorityLabel(code) {
    const p = ((config && config.priorities) || []).find((x) => x.code === code);
    return p ? p.label : code;
  }

  let cancelling = null;
  function openCancel(t) {
    cancelling = t;
    $("cancel-number").textContent = t.number;
    openForm("cancel-form", "cancel-reason");
  }

  async function ticketAction(path, body, done) {
    try {
      const r = await MotcuaApi.post(path, body);
      message.code = "";
      message(done(r.ticket || {}), "info");
      hideForms();
      await refresh();
    } catch (err) { fail(err); }
  }

  function reactivate(t) {
    return ticketAction(`/tickets/${encodeURIComponent(t.id)}/reactivate`, {},
                        (x) => `Đã kích hoạt lại số ${x.number || t.number}: về cuối hàng chờ`);
  }

  /* Closing: refused by the hub while a ticket is in hand (finish or transfer it first). */
  async function closeCounter() {
    if (!counterId) return true;
    try {
      const state = await MotcuaApi.get(`/counters/${encodeURIComponent(counterId)}`);
      if (!state.mine || state.status === "closed") return true;   // someone else's now, or already closed
      await MotcuaApi.post(`/counters/${encodeURIComponent(counterId)}/close`, {});
      return true;
    } catch (err) {
      if (err instanceof MotcuaApiError && err.code === "counter_busy") {
        message.code = "counter_busy";
        message("Hãy hoàn thành, chuyển hoặc đánh dấu vắng mặt số đang phục vụ trước khi đóng quầy / Finish the current ticket before closing", "error");
        return false;
      }
      if (err instanceof MotcuaApiError && err.code === "unauthenticated") return true;
      fail(err);
      return false;
    }
  }

  const INFO = {
    "call-next": (t) => `Đã gọi số ${t.number}`, call: (t) => `Đã gọi số ${t.number}`, recall: (t) => `Đã gọi lại số ${t.number}`,
    start: (t) => `Bắt đầu xử lý số ${t.number}`, complete: (t) => `Đã hoàn thành số ${t.number}`,
    "no-show": (t) => `Số ${t.number} vắng mặt`, transfer: (t) => `Đã chuyển số ${t.number}`,
    pause: () => "Quầy tạm dừng", resume: () => "Quầy tiếp tục làm việc", close: () => "Đã đóng quầy",
  };

  async function act(action, body, onError) {
    try {
      const r = await MotcuaApi.post(`/counters/${encodeURIComponent(counterId)}/${action}`, body);
      const t = r && r.ticket ? r.ticket : {};
      message.code = "";
      message(INFO[action] ? INFO[action](t) : "Xong", "info");
      hideForms();
      await refresh();
    } catch (err) {
      if (!(onError && err instanceof MotcuaApiError && onError(err))) fail(err);
    }
  }

  function hideForms() {
    // A hidden input keeps focus in Chromium and would swallow the next shortcut key: move focus out first.
    if (document.activeElement && document.activeElement.closest("form.inline")) document.activeElement.blur();
    for (const f of ["call-form", "transfer-form", "pause-form", "cancel-form"]) $(f).hidden = true;
  }

  function openForm(form, input) {
    hideForms();
    $(form).hidden = false;
    $(input).focus();
    if ($(input).select) $(input).select();
  }

  const ACTIONS = {
    "act-call-next": () => act("call-next"),
    "act-recall": () => act("recall"),
    "act-start": () => act("start"),
    "act-complete": () => act("complete"),
    "act-no-show": () => act("no-show"),
    "act-call": () => openForm("call-form", "call-number"),
    "act-transfer": () => openForm("transfer-form", "transfer-target"),
    "act-pause": () => openForm("pause-form", "pause-text"),
    "act-resume": () => act("resume"),
    "act-close": async () => {
      if (!window.confirm("Đóng quầy? Quầy sẽ không nhận công dân nữa cho đến khi mở lại.")) return;
      if (await closeCounter()) { message.code = ""; message("Đã đóng quầy / Counter closed", "info"); await pick(); }
    },
  };
  for (const [id, fn] of Object.entries(ACTIONS)) $(id).addEventListener("click", fn);

  $("call-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const number = $("call-number").value.trim().toUpperCase();
    if (!/^[A-ZĐ]*\d+$/.test(number)) { message.code = "bad_request"; message("Nhập số thứ tự, ví dụ A023", "error"); return; }
    act("call", { number });
  });
  $("transfer-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const [kind, value] = $("transfer-target").value.split(/:(.*)/s);
    const body = kind === "service" ? { service: value } : { counter: value };
    // a closed counter or a service nobody serves now: the hub refuses unless staff confirm, knowingly
    act("transfer", body, (err) => {
      if (err.code !== "transfer_target_unserved") return false;
      if (window.confirm("Hiện không có quầy nào đang mở phục vụ nơi này: công dân sẽ phải chờ đến khi quầy mở. " +
                         "Vẫn chuyển? / Nobody serves it now. Transfer anyway?")) {
        act("transfer", { ...body, confirm: true });
      } else {
        fail(err);
      }
      return true;
    });
  });
  $("pause-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const reason = $("pause-text").value.trim();
    if (!reason) { message.code = "bad_request"; message("Nhập lý do tạm dừng", "error"); return; }
    act("pause", { reason });
  });
  $("cancel-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const reason = $("cancel-reason").value.trim();
    if (!reason) { message.code = "bad_request"; message("Nhập lý do huỷ số", "error"); return; }
    const t = cancelling;
    if (!t) return;
    ticketAction(`/tickets/${encodeURIComponent(t.id)}/cancel`, { reason, counter: counterId },
                 (x) => `Đã huỷ số ${x.number || t.number}`);
  });
  for (const b of document.querySelectorAll("form.inline .cancel")) b.addEventListener("click", hideForms);
  // Enter on a <select> does not submit a form by itself; staff expect it to.
  $("transfer-target").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); $("transfer-form").requestSubmit(); }
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { hideForms(); return; }
    if ($("work").hidden || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    const tag = (ev.target && ev.target.tagName) || "";
    if (["INPUT", "SELECT", "TEXTAREA"].includes(tag)) return;     // typing a number or a reason
    const button = document.querySelector(`.actions button[data-key="${ev.key.toLowerCase()}"]`);
    if (button && !button.disabled) { ev.preventDefault(); button.click(); }
  });

  $("login").addEventListener("submit", login);
  $("pick").addEventListener("submit", openCounter);
  // Logging out or changing counter CLOSES the counter (not a hand-over): a counter nobody sits at must not stay
  // "Đang mở" on the hall display and in the waits; whoever comes next opens it under their own name.
  $("logout").addEventListener("click", async () => {
    if (!$("work").hidden && !(await closeCounter())) return;
    try { await MotcuaApi.post("/auth/logout", {}); } catch (err) { /* the token may be gone already */ }
    MotcuaApi.token = null;
    store.removeItem("motcua.counter");
    counterId = null;
    message("");
    show("login");
  });
  $("end-day").addEventListener("click", async () => {
    if (!window.confirm("Kết thúc ngày làm việc: đóng quầy và đăng xuất?")) return;
    $("logout").click();
  });
  $("change-counter").addEventListener("click", async () => {
    if (!(await closeCounter())) return;
    store.removeItem("motcua.counter");
    pick().catch(fail);
  });

  (async function boot() {
    if (!MotcuaApi.token) { show("login"); return; }
    try {
      if (counterId) await enterWork(); else await pick();
    } catch (err) { fail(err); show("login"); }
  })();
})();
