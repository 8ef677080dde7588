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

  function show(view) {
    for (const v of ["login", "pick", "work"]) $(v).hidden = v !== view;
    const loggedIn = view !== "login";
    $("logout").hidden = !loggedIn;
    $("change-counter").hidden = view !== "work";
    $("who").textContent = loggedIn ? `${store.getItem("motcua.username") || ""} (${store.getItem("motcua.role") || ""})` : "";
    if (view === "login") $("username").focus();
  }

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
      } else if (err.code === "invalid_transition" && detail) {
        text += ` — ${detail}`;
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
      await MotcuaApi.post(`/counters/${encodeURIComponent(id)}/open`);
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
    if (!window.motcuaLive) {
      // Any event may change this counter's waiting list; refresh coalesced, never more than one in flight.
      window.motcuaLive = new MotcuaLive({ onEvent: (env) => { helpEvent(env); refresh(); }, onState: () => refresh() });
      window.motcuaLive.start();
    }
  }

  // "Cần hỗ trợ" from a kiosk: every console shows which kiosk asks until someone says they are going.
  const helpAsked = new Map();
  function helpEvent(env) {
    const kiosk = env && env.data && env.data.kiosk;
    if (!kiosk) return;
    if (env.type === "help.requested") helpAsked.set(kiosk, env.at);
    else if (env.type === "help.answered") helpAsked.delete(kiosk);
    else return;
    const box = $("help-requests");
    box.replaceChildren(...[...helpAsked.keys()].map((k) => el("div", { class: "help-request", "data-kiosk": k },
      el("span", { text: `Công dân tại kiosk ${k} cần hỗ trợ / A citizen at kiosk ${k} needs help ` }),
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

  const STATUS_VN = { open: "Đang mở", paused: "Tạm dừng", closed: "Đóng", called: "Đã gọi", serving: "Đang xử lý" };

  function render() {
    const d = detail || {};
    $("counter-status").textContent = STATUS_VN[d.status] || d.status || "—";
    $("pause-reason").textContent = d.status === "paused" && d.pause_reason ? `(${d.pause_reason})` : "";
    const number = d.current_ticket || "---";
    $("current-number").textContent = number;
    $("current-number").dataset.ticket = d.current_ticket || "";
    $("current-status").textContent = d.current_ticket ? (STATUS_VN[d.current_status] || d.current_status || "") : "";
    const busy = Boolean(d.current_ticket);
    const open = d.status === "open";
    $("act-call-next").disabled = !open;
    $("act-call").disabled = !open;
    $("act-recall").disabled = !busy || d.current_status !== "called";
    $("act-start").disabled = !busy || d.current_status !== "called";
    $("act-complete").disabled = !busy;
    $("act-no-show").disabled = !busy || d.current_status !== "called";
    $("act-transfer").disabled = !busy;
    $("act-pause").disabled = d.status !== "open";
    $("act-resume").disabled = d.status !== "paused";
    const waiting = d.waiting || [];
    $("waiting-count").textContent = String(waiting.length);
    const names = Object.fromEntries(((config && config.services) || []).map((s) => [s.code, s.name]));
    $("waiting").replaceChildren(...waiting.map((t) =>
      el("li", { "data-ticket": t.number, "data-ticket-id": t.id, title: "Bấm để gọi số này", onclick: () => act("call", { ticket_id: t.id }) },
        el("span", {}, el("strong", { text: t.number }), " ", el("span", { text: names[t.service] || t.service })),
        el("span", { class: t.priority ? "prio" : "", text: `${t.priority ? "Ưu tiên · " : ""}${(t.issued_at || "").slice(11, 16)}` }))));
    clearInterval(timerHandle);
    const tick = () => { $("timer").textContent = d.current_ticket && d.since ? elapsedText(d.since) : ""; };
    tick();
    timerHandle = setInterval(tick, 1000);
  }

  const INFO = {
    "call-next": (t) => `Đã gọi số ${t.number}`, call: (t) => `Đã gọi số ${t.number}`, recall: (t) => `Đã gọi lại số ${t.number}`,
    start: (t) => `Bắt đầu xử lý số ${t.number}`, complete: (t) => `Đã hoàn thành số ${t.number}`,
    "no-show": (t) => `Số ${t.number} vắng mặt`, transfer: (t) => `Đã chuyển số ${t.number}`,
    pause: () => "Quầy tạm dừng", resume: () => "Quầy tiếp tục làm việc",
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
    for (const f of ["call-form", "transfer-form", "pause-form"]) $(f).hidden = true;
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
  $("logout").addEventListener("click", () => {
    MotcuaApi.token = null;
    store.removeItem("motcua.counter");
    counterId = null;
    message("");
    show("login");
  });
  $("change-counter").addEventListener("click", () => pick().catch(fail));

  (async function boot() {
    if (!MotcuaApi.token) { show("login"); return; }
    try {
      if (counterId) await enterWork(); else await pick();
    } catch (err) { fail(err); show("login"); }
  })();
})();
