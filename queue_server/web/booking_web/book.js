// The booking page: /dat-lich books (service → day → slot → one-time code → book); /b/<code> shows and cancels.
// Vietnamese first, English by the button. Talks only to the hub's public booking API (same origin).
// Every address is taken relative to where the page was opened (<base>/dat-lich or <base>/b/<code>), so it works
// the same on the center's LAN and behind the province's relay at [notifications] public_base_url (path prefix too).
"use strict";
(function () {
  const BASE = location.pathname.replace(/\/(dat-lich|b\/[A-Za-z0-9]{6})\/?$/, "");
  const API = BASE + document.querySelector('meta[name="motcua-api"]').content;
  let lang = "vi";
  let chosen = null;          // the chosen slot's start (ISO)
  let shown = null;           // the booking on screen (after booking, or /b/<code>)
  const $ = (id) => document.getElementById(id);
  const T = {
    sent: ["Đã gửi mã xác thực. Xin kiểm tra tin nhắn hoặc e-mail.", "A code was sent. Please check your messages."],
    booked: ["Quý vị đã đặt lịch thành công.", "Your booking is confirmed."],
    free: ["còn {n} chỗ", "{n} left"],
    full: ["hết chỗ", "full"],
    noSlots: ["Ngày này không còn giờ nhận đặt lịch.", "No time is open for booking on this day."],
    pickSlot: ["Xin chọn giờ hẹn.", "Please choose a time."],
    needCode: ["Xin nhập mã xác thực 6 chữ số.", "Please type the 6-digit code."],
    detail: ["{service}, lúc {time} ngày {day}", "{service}, at {time} on {day}"],
    hint: ["Khi đến, quét mã QR hoặc nhập mã này tại kiosk (từ {opens} đến {closes}).",
           "When you arrive, scan the QR or type this code at the kiosk (from {opens} to {closes})."],
    st_booked: ["Đã đặt lịch", "Booked"], st_cancelled: ["Đã hủy", "Cancelled"],
    st_checked_in: ["Đã lấy số", "Checked in"], st_no_show: ["Đã quá giờ hẹn", "Missed"],
    cancelled: ["Lịch hẹn đã được hủy. Chỗ của quý vị đã dành cho người khác.", "The booking is cancelled."],
    confirmCancel: ["Hủy lịch hẹn này?", "Cancel this booking?"],
    unknown: ["Không tìm thấy lịch hẹn với mã này.", "No booking has this code."],
    down: ["Chưa kết nối được hệ thống. Xin thử lại sau.", "The system cannot be reached. Please try again."],
    closed: ["Trung tâm chưa nhận đặt lịch qua trang này.", "This center does not take bookings on this page."],
    err_bad_credentials: ["Mã xác thực chưa đúng hoặc đã hết hạn.", "The code is wrong or has expired."],
    err_rate_limited: ["Quý vị đã yêu cầu nhiều lần. Xin chờ ít phút rồi thử lại.", "Too many tries. Please wait."],
    err_bad_request: ["Thông tin chưa đúng: {m}", "Please check: {m}"],
    r_full: ["Giờ này vừa hết chỗ, xin chọn giờ khác.", "This time just filled up; please choose another."],
    r_person_day_limit: ["Quý vị đã đặt đủ số lịch cho phép trong ngày này.", "You have the most bookings allowed that day."],
    r_person_service_limit: ["Quý vị đã có lịch cho lĩnh vực này trong ngày.", "You already have a booking for this service that day."],
    r_in_the_past: ["Giờ này đã qua, xin chọn giờ khác.", "This time has passed; please choose another."],
  };
  const tr = (key, vals) => {
    const pair = T[key] || [key, key];
    let s = pair[lang === "vi" ? 0 : 1];
    for (const [k, v] of Object.entries(vals || {})) s = s.replace("{" + k + "}", v);
    return s;
  };
  const hhmm = (iso) => iso.slice(11, 16);
  const dmy = (iso) => iso.slice(8, 10) + "/" + iso.slice(5, 7) + "/" + iso.slice(0, 4);
  let services = [];

  function say(text) { $("message").textContent = text; $("message").hidden = !text; $("problem").hidden = true; }
  function problem(text) { $("problem").textContent = text; $("problem").hidden = !text; $("message").hidden = true; }

  async function call(method, path, body) {
    let resp;
    try {
      resp = await fetch(API + path, { method, headers: body ? { "Content-Type": "application/json" } : {},
                                       body: body ? JSON.stringify(body) : undefined, cache: "no-store" });
    } catch (e) { throw { text: tr("down") }; }
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (resp.ok) return data;
    const err = (data && data.error) || {};
    if (err.reason && T["r_" + err.reason]) throw { text: tr("r_" + err.reason) };
    if (err.reason) throw { text: lang === "vi" ? (err.message_vi || err.message) : err.message };
    if (err.code === "unknown_booking") throw { text: tr("unknown") };
    if (T["err_" + err.code]) throw { text: tr("err_" + err.code, { m: err.message || "" }) };
    throw { text: tr("down") };
  }

  function relabel() {
    document.documentElement.lang = lang;
    $("lang").textContent = lang === "vi" ? "English" : "Tiếng Việt";
    document.querySelectorAll("[data-vi]").forEach((el) => { el.textContent = el.dataset[lang]; });
    fillServices();
    if (shown) showBooking(shown);
  }

  function fillServices() {
    const sel = $("service"), keep = sel.value;
    sel.innerHTML = "";
    for (const s of services) {
      const o = document.createElement("option");
      o.value = s.code; o.textContent = lang === "en" && s.name_en ? s.name_en : s.name;
      sel.appendChild(o);
    }
    if (keep) sel.value = keep;
  }

  let slotLoads = 0;                                  // only the latest of overlapping loads may draw the slots
  async function loadSlots(keep) {
    const before = keep === true ? chosen : null;      // after a refusal the same time stays chosen if still free
    const mine = ++slotLoads;
    chosen = null;
    const box = $("slots");
    box.innerHTML = "";
    if (!$("service").value || !$("day").value) return;
    let data;
    try { data = await call("GET", `/bookings/slots?service=${encodeURIComponent($("service").value)}&day=${$("day").value}`); }
    catch (e) { if (mine === slotLoads) problem(e.text); return; }
    if (mine !== slotLoads) return;                    // a newer choice (service or day) is loading: it draws
    box.innerHTML = "";
    const open = data.slots.filter((s) => s.open);
    if (!open.length) { box.textContent = tr("noSlots"); return; }
    for (const s of open) {
      const b = document.createElement("button");
      b.type = "button"; b.setAttribute("role", "radio"); b.setAttribute("aria-checked", "false");
      b.dataset.start = s.start;
      b.textContent = hhmm(s.start);
      b.title = s.free ? tr("free", { n: s.free }) : tr("full");
      b.disabled = s.free <= 0;
      const pick = () => {
        box.querySelectorAll("button").forEach((x) => x.setAttribute("aria-checked", "false"));
        b.setAttribute("aria-checked", "true");
        chosen = s.start;
      };
      b.addEventListener("click", pick);
      box.appendChild(b);
      if (before === s.start && !b.disabled) pick();
    }
  }

  function showBooking(info) {
    shown = info;
    const b = info.booking;
    const svc = services.find((s) => s.code === b.service);
    const name = svc ? (lang === "en" && svc.name_en ? svc.name_en : svc.name) : b.service;
    $("book").hidden = true;
    $("done").hidden = false;
    $("done-title").textContent = info.justBooked ? tr("booked") : "";
    $("booking-code").textContent = b.code;
    $("booking-detail").textContent = tr("detail", { service: name, time: hhmm(b.slot_start), day: dmy(b.slot_start) });
    $("booking-status").textContent = tr("st_" + b.status);
    $("booking-hint").textContent = b.status === "booked" && info.check_in_opens
      ? tr("hint", { opens: hhmm(info.check_in_opens), closes: hhmm(info.check_in_closes) }) : "";
    $("cancel").hidden = b.status !== "booked";
    // checked in: the ticket it became is followed on the tracking page, from anywhere
    $("ticket-link").hidden = !b.ticket_id;
    if (b.ticket_id) $("ticket-link").href = BASE + "/t/" + encodeURIComponent(b.ticket_id);
  }

  async function openBooking(code) {
    try { showBooking(await call("GET", `/bookings/${encodeURIComponent(code)}`)); }
    catch (e) { problem(e.text); }
  }

  async function start() {
    $("lang").addEventListener("click", () => { lang = lang === "vi" ? "en" : "vi"; relabel(); });
    let data;
    try { data = await call("GET", "/bookings/services"); } catch (e) { problem(e.text); return; }
    services = data.services;
    $("center").textContent = data.center || "";
    const m = location.pathname.match(/\/b\/([A-Za-z0-9]{6})\/?$/);
    if (m) { await openBooking(m[1].toUpperCase()); }
    else if (!data.self_service) { problem(tr("closed")); return; }
    else {
      fillServices();
      for (const d of data.days) {
        const o = document.createElement("option"); o.value = d; o.textContent = dmy(d); $("day").appendChild(o);
      }
      $("book").hidden = false;
      await loadSlots();
    }
    $("service").addEventListener("change", () => loadSlots());
    $("day").addEventListener("change", () => loadSlots());
    $("send").addEventListener("click", async () => {
      try { await call("POST", "/bookings/otp", { contact: $("contact").value }); say(tr("sent")); $("code").focus(); }
      catch (e) { problem(e.text); }
    });
    $("book").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!chosen) { problem(tr("pickSlot")); return; }
      if (!/^\d{6}$/.test($("code").value.trim())) { problem(tr("needCode")); return; }
      const body = { service: $("service").value, slot_start: chosen, contact: $("contact").value,
                     code: $("code").value.trim() };
      if ($("person").value.trim()) body.person_id = $("person").value.trim();
      $("submit").disabled = true;
      try {
        const made = await call("POST", "/bookings", body);
        say("");
        $("message").hidden = true;
        history.replaceState(null, "", BASE + "/b/" + made.booking.code);
        const full = await call("GET", `/bookings/${made.booking.code}`);
        full.justBooked = true;
        showBooking(full);
      } catch (e) { problem(e.text); await loadSlots(true); }
      finally { $("submit").disabled = false; }
    });
    $("cancel").addEventListener("click", async () => {
      if (!window.confirm(tr("confirmCancel"))) return;
      try {
        const r = await call("POST", `/bookings/${shown.booking.code}/cancel`);
        showBooking({ booking: r.booking });
        say(tr("cancelled"));
      } catch (e) { problem(e.text); }
    });
  }
  start();
})();
