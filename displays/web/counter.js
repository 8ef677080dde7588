/* Counter display: one counter's name, its current number, "Tạm dừng" when paused. Live over SSE. */
"use strict";

(function counterDisplay() {
  const id = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
  const $ = (x) => document.getElementById(x);
  let shown = null;

  function render(state, blink) {
    const c = (state.counters || []).find((x) => x.counter === id);
    const name = c ? (c.name || `Quầy ${id}`) : `Quầy ${id}`;
    $("counter-name").textContent = name;
    document.title = `${name} — motcua`;
    const status = c ? c.status : "closed";
    document.body.dataset.status = status;
    const number = status === "open" && c && c.current_ticket && !c.held_over ? c.current_ticket : "---";
    $("number").textContent = number;
    $("number").dataset.ticket = number === "---" ? "" : number;
    $("status").textContent = status === "paused"
      ? "Tạm dừng" : status === "closed" ? "Quầy đóng · Closed" : "";
    $("status").title = c && c.pause_reason ? c.pause_reason : "";
    if (blink && number !== shown) {
      $("number").classList.remove("blink");
      void $("number").offsetWidth;
      $("number").classList.add("blink");
    }
    shown = number;
  }

  const live = new MotcuaLive({
    onState: (s) => render(s, false),
    onEvent: (env, s) => {
      if (!s) return;
      const data = env.data || {};
      const mine = String(data.counter || "") === id;
      render(s, mine && (env.type === "ticket.called" || env.type === "ticket.recalled"));
    },
    onStatus: (st) => { $("link").dataset.state = st; },
  });
  window.motcuaLive = live;
  live.start();
})();
