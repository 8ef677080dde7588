/* Hall display: renders /api/v1/state at once, then every pushed event; speaks calls through audio.js. */
"use strict";

(async function hall() {
  // every answer of the hub carries its clock (X-Motcua-Now): the first one sets the wall clock
  const fetchSettings = () => fetch("/displays/settings.json").then((r) => { noteServerDate(r); return r.json(); });
  const settings = await fetchSettings().catch(() => ({}));
  const recentCount = Number(queryParam("calls", settings.calls_shown || 6));
  const blinkMs = Number(queryParam("blink_ms", settings.blink_ms || 6000));
  const sound = queryParam("sound", settings.sound === false ? "off" : "on") !== "off";
  const player = new ClipPlayer({ rate: Number(queryParam("voice_rate", 1)), volume: Number(settings.volume || 1) });
  const announcer = new AnnouncementQueue(player, { repeats: Number(queryParam("repeats", settings.repeats || 2)),
                                                   backlog: Number(queryParam("backlog", settings.backlog || 3)) });
  const $ = (id) => document.getElementById(id);
  let shownCallKey = null;
  let blinkTimer = null;
  // Paging: a panel whose rows (or tiles) do not all fit shows them a page at a time, turning every pageMs.
  const pageMs = Number(queryParam("page_ms", settings.page_ms || 8000));
  const countersPerPageMax = Number(queryParam("counters_per_page", 20));   // 5 columns × 4 rows stay legible
  const lostAfterMs = Number(queryParam("lost_after_ms", settings.lost_after_ms || 4000));
  const paging = { services: 0, counters: 0, servicePages: 1, counterPages: 1 };
  let lastState = null;
  let lostTimer = null;

  const DEFAULT_NOTICE = "Vui lòng giữ phiếu số thứ tự và chú ý nghe gọi số · Please keep your ticket and listen for your number";
  function showNotice(text) { $("notice").textContent = queryParam("notice", text || DEFAULT_NOTICE); }
  showNotice(settings.notice);
  function refreshNotice() {
    fetchSettings().then((s) => showNotice(s.notice)).catch(() => {});
  }

  function tick() {
    // The hub's time only: a TV box's own clock may be years off (no battery), and a wrong time on the wall
    // misleads the whole hall. Until the hub has answered once, a placeholder.
    if (!hubTimeKnown()) {
      $("clock").textContent = "--:--:--";
      $("date").textContent = "";
      return;
    }
    const now = vnNow();
    $("clock").textContent = formatClock(now);
    $("date").textContent = formatDate(now);
  }
  tick();
  setInterval(tick, 1000);

  function showCurrent(call, blink) {
    const number = $("current-number");
    const key = call ? `${call.ticket_id}|${call.recall || 0}` : null;
    number.textContent = call ? call.number : "---";
    number.dataset.ticket = call ? call.number : "";
    $("current-counter").textContent = call ? (call.counter_name || `Quầy ${call.counter}`) : "\u00a0";
    if (blink && key !== shownCallKey) {
      number.classList.remove("blink");
      void number.offsetWidth;          // restart the CSS animation for a new call
      number.classList.add("blink");
      clearTimeout(blinkTimer);
      blinkTimer = setTimeout(() => number.classList.remove("blink"), blinkMs);
    }
    shownCallKey = key;
  }

  function render(state, blink) {
    const center = state.center || {};
    if (center.name) $("center-name").textContent = center.name;
    $("center-name-en").textContent = center.name_en || "";
    if (center.name) document.title = `${center.name} — gọi số`;
    const calls = state.calls || [];
    showCurrent(calls[0] || null, blink);
    // Each ticket once, at its latest call: a recall must not fill the list with the same number.
    const seen = new Set();
    const recent = calls.filter((c) => !seen.has(c.ticket_id || c.number) && seen.add(c.ticket_id || c.number));
    $("recent-calls").replaceChildren(...recent.slice(0, recentCount).map((c) =>
      el("li", { "data-ticket": c.number, "data-counter": c.counter },
        el("span", { class: "number", text: c.number }),
        el("span", { class: "to", text: `→ ${c.counter_name || "Quầy " + c.counter}` }))));
    lastState = state;
    const open = (state.counters || []).filter((c) => c.status !== "closed");
    // Every open counter must fit whole: more columns, then smaller numbers, as counters open; past
    // countersPerPageMax they take turns a page at a time (a tile too small to read helps nobody).
    const perPage = Math.max(1, countersPerPageMax);
    const counterPages = Math.max(1, Math.ceil(open.length / perPage));
    paging.counters %= counterPages;
    paging.counterPages = counterPages;
    const counters = open.slice(paging.counters * perPage, (paging.counters + 1) * perPage);
    pageLabel("counters-page", paging.counters, counterPages);
    const shown = counterPages > 1 ? perPage : counters.length;
    const cols = shown <= 6 ? 3 : shown <= 16 ? 4 : 5;
    $("counters").style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    $("counters").style.setProperty("--rows", String(Math.max(2, Math.ceil(shown / cols))));
    $("counters").replaceChildren(...counters.map((c) =>
      el("div", { class: `counter-tile ${c.status}`, "data-counter": c.counter },
        el("span", { class: "name", text: c.name || `Quầy ${c.counter}` }),
        el("span", { class: "number", text: c.status === "paused" ? "Tạm dừng" : (!c.held_over && c.current_ticket || "—") }))));
    // Services people are waiting for first, config order kept; all of them, a page at a time if need be.
    const services = (state.services || []).filter((s) => s.waiting > 0)
      .concat((state.services || []).filter((s) => !(s.waiting > 0)));
    $("services").replaceChildren(...services.map((s) =>
      el("tr", { "data-service": s.service, class: s.waiting ? "" : "idle" },
        el("td", { text: s.name || s.service }),
        el("td", { class: "num", text: String(s.waiting) }),
        el("td", { class: "num", text: s.waiting ? waitText(s) : "—" }))));
    fitServiceRows();
    document.body.dataset.seq = String(state.seq);
  }

  // The same range the kiosk and the ticket tell ("khoảng 20–30 phút"); an old hub's single figure otherwise.
  function waitText(s) {
    if (s.served_now === false) return "Chưa có quầy";
    if (s.wait_past_close === true) return "Có thể quá giờ";   // the expected call falls after today's working hours
    if (s.wait_high_min == null) return `${s.estimated_wait_min} phút`;
    return s.wait_low_min > 0 ? `${s.wait_low_min}–${s.wait_high_min} phút` : `< ${s.wait_high_min} phút`;
  }

  function pageLabel(id, index, pages) {
    $(id).textContent = `${index + 1}/${pages}`;
    $(id).hidden = pages <= 1;
  }

  function fitServiceRows() {
    // A half-cut row reads as a wrong number from across the hall, and a row that never shows hides a whole
    // service: as many whole rows as fit make a page, and the pages take turns ("1/3").
    const panel = document.querySelector("section.services");
    const limit = panel.getBoundingClientRect().bottom - 4;
    const rows = Array.from($("services").rows);
    for (const row of rows) row.hidden = false;
    if (!rows.length) { paging.servicePages = 1; pageLabel("services-page", 0, 1); return; }
    const top = rows[0].getBoundingClientRect().top;
    const rowHeight = Math.max(1, rows[0].getBoundingClientRect().height);
    const perPage = Math.max(1, Math.floor((limit - top) / rowHeight));
    const pages = Math.ceil(rows.length / perPage);
    paging.services %= pages;
    paging.servicePages = pages;
    rows.forEach((row, i) => { row.hidden = Math.floor(i / perPage) !== paging.services; });
    pageLabel("services-page", paging.services, pages);
    $("services").dataset.page = String(paging.services);
  }
  window.addEventListener("resize", fitServiceRows);
  setInterval(() => {
    if (paging.servicePages <= 1 && paging.counterPages <= 1) return;
    paging.services += 1;
    paging.counters += 1;
    if (lastState) render(lastState, false);
  }, pageMs);

  function linkStatus(s) {
    $("link").dataset.state = s;
    // A blip is not news; a hub gone for lostAfterMs is: say so and grey the numbers, which may be stale.
    if (s === "online") {
      clearTimeout(lostTimer);
      lostTimer = null;
      $("lost").hidden = true;
      document.body.classList.remove("lost");
    } else if (!lostTimer && $("lost").hidden) {
      lostTimer = setTimeout(() => {
        lostTimer = null;
        $("lost").hidden = false;
        document.body.classList.add("lost");
      }, lostAfterMs);
    }
  }

  const unlock = $("sound-unlock");
  unlock.querySelector("button").addEventListener("click", async () => {
    await player.unlock();
    unlock.hidden = true;
  });

  const live = new MotcuaLive({
    onState: (state) => {
      render(state, false);
      // a full snapshot follows every (re)connection: a notice changed while this screen was away is caught here
      refreshNotice();
    },
    onEvent: (env, state) => {
      if (env.type === "config.changed") {
        // an admin's live change: the notice line comes from the hub's [display] (services, counters and their
        // names from the fresh /state that follows every event)
        refreshNotice();
      }
      if (!state) return;
      const isCall = env.type === "ticket.called" || env.type === "ticket.recalled";
      if (isCall) {
        // The number first, in this task; the rest of the screen in the next one, so the call is painted
        // without waiting for lists and layout.
        showCurrent((state.calls || [])[0] || null, true);
        setTimeout(() => render(live.state || state, false), 0);
      } else {
        render(state, false);
      }
      if (isCall && sound) {
        const call = callFromEnvelope(env);
        announcer.add(call);
        // Autoplay blocked (no kiosk flag, no click yet): say so on screen rather than stay silent.
        // The audio context only exists once the first clips are fetched (slow on a busy box): keep looking.
        let tries = 0;
        const check = () => {
          if (player.blocked) unlock.hidden = false;
          else if (!player.ctx && ++tries < 30) setTimeout(check, 500);
        };
        setTimeout(check, 500);
      }
    },
    onStatus: linkStatus,
  });
  window.motcuaLive = live;
  live.start();
})();
