/* Center admin (admin role): each section of the live center as a table of inputs; "Lưu" sends the whole section
 * to POST /api/v1/admin/config, which checks it with the rules of `motcua config check` and applies it at once.
 * A refusal is shown with the key the hub named (e.g. "services[3].prefix: ..."). Users have their own routes
 * (add, change role/name, disable, reset password). Bookings (places per slot, limits, check-in window) and the
 * message templates appear only where the config file turns them on. */
"use strict";

(async function adminPage() {
  const $ = (x) => document.getElementById(x);
  let live = null;

  const SECTIONS = {
    services: { title: "Lĩnh vực / dịch vụ", en: "Services", add: "Thêm lĩnh vực", columns: [
      ["code", "Mã", "text"], ["prefix", "Tiền tố", "text", "short"], ["name", "Tên", "text"], ["name_en", "Tên tiếng Anh", "text"],
      ["number_start", "Số đầu", "int", "short"], ["number_end", "Số cuối", "int", "short"], ["daily_quota", "Hạn mức/ngày", "int?", "short"],
      ["stop_issuing_before_close_min", "Ngừng cấp trước (phút)", "int", "short"], ["avg_service_min", "Xử lý TB (phút)", "num", "short"],
      ["procedures", "Thủ tục thường gặp (cách nhau dấu ;)", "semi"], ["_counters", "Phục vụ tại quầy (mới)", "list"]] },
    counters: { title: "Quầy và thứ tự lĩnh vực", en: "Counters and their services in order", add: "Thêm quầy", columns: [
      ["id", "Mã quầy", "text", "short"], ["name", "Tên quầy", "text"], ["services", "Lĩnh vực (theo thứ tự, cách nhau dấu phẩy)", "list"]] },
    priorities: { title: "Đối tượng ưu tiên", en: "Priority categories", add: "Thêm đối tượng", columns: [
      ["code", "Mã", "text"], ["label", "Tên", "text"], ["label_en", "Tên tiếng Anh", "text"], ["legal_basis", "Căn cứ pháp lý", "text"]] },
    working_hours: { title: "Giờ làm việc", en: "Working hours", add: "Thêm nhóm ngày", columns: [
      ["days", "Ngày (mon,tue,…)", "list"], ["sessions", "Buổi (07:30-11:30, 13:30-17:00)", "spans"]] },
    rating_scale: { title: "Thang đánh giá hài lòng", en: "Rating scale", add: "Thêm mức", columns: [
      ["value", "Giá trị", "int", "short"], ["label", "Nhãn", "text"], ["label_en", "Nhãn tiếng Anh", "text"]] },
  };

  // kind: true = done (info), false = refused (error), "pending" = under way; a page or a script waiting for
  // the answer can tell "Đang lưu…" from "Đã lưu" by the class, not only by the words
  function say(text, kind) {
    $("message").textContent = text;
    $("message").className = kind === "pending" ? "message pending" : kind ? "message info" : "message error";
    $("message").hidden = false;
  }

  function fail(err) {
    const detail = err.detail && err.detail.message ? err.detail.message : "";
    const lead = err.code === "config_invalid" ? "Không hợp lệ, chưa thay đổi gì / Refused, nothing changed: " : "";
    say(lead + (detail || err.vietnamese || String(err)), false);
    MotcuaLogin.expired(err);
  }

  const toText = (kind, v) => {
    if (v === undefined || v === null) return "";
    if (kind === "list") return v.join(", ");
    if (kind === "semi") return v.join("; ");
    if (kind === "spans") return v.map((s) => s.join("-")).join(", ");
    return String(v);
  };
  function fromText(kind, text) {
    const t = text.trim();
    if (kind === "list") return t ? t.split(",").map((x) => x.trim()).filter(Boolean) : [];
    if (kind === "semi") return t ? t.split(";").map((x) => x.trim()).filter(Boolean) : undefined;
    if (kind === "spans") return t ? t.split(",").map((x) => x.trim().split("-").map((y) => y.trim())) : [];
    if (kind === "int" || kind === "int?") return t === "" ? (kind === "int?" ? undefined : t) : (/^-?\d+$/.test(t) ? Number(t) : t);
    if (kind === "num") return t !== "" && !isNaN(Number(t)) ? Number(t) : t;
    return t;
  }

  function rowOf(name, item) {
    const spec = SECTIONS[name];
    // keys the table has no column for (e.g. offline_from) go back as they came
    return el("tr", { "data-row": "", "data-item": JSON.stringify(item) }, ...spec.columns.map(([key, , kind, cls]) =>
      el("td", {}, el("input", { "data-key": key, "data-kind": kind, class: cls || "", value: toText(kind, item[key]),
                                 "aria-label": key }))),
      el("td", {}, el("button", { type: "button", text: "Xoá", onclick: (ev) => ev.target.closest("tr").remove() })));
  }

  function renderSection(name) {
    const spec = SECTIONS[name];
    const section = $(`sec-${name}`);
    const body = el("tbody", { id: `rows-${name}` }, ...(live[name] || []).map((item) => rowOf(name, item)));
    section.replaceChildren(
      el("h2", {}, spec.title + " ", el("span", { lang: "en", text: `/ ${spec.en}` })),
      el("table", { class: "edit" }, el("thead", {}, el("tr", {}, ...spec.columns.map(([, label]) => el("th", { text: label })), el("th"))), body),
      el("div", { class: "row-actions" },
        el("button", { id: `add-${name}`, type: "button", text: spec.add, onclick: () => body.append(rowOf(name, {})) }),
        el("button", { id: `save-${name}`, type: "button", class: "primary", text: "Lưu", onclick: () => saveSection(name) })));
  }

  function collect(name) {
    return Array.from($(`rows-${name}`).querySelectorAll("tr[data-row]")).map((tr) => {
      const item = JSON.parse(tr.dataset.item || "{}");
      for (const input of tr.querySelectorAll("input[data-key]")) {
        const v = fromText(input.dataset.kind, input.value);
        if (v === undefined || (input.dataset.kind === "text" && v === "" && input.dataset.key.endsWith("_en"))) delete item[input.dataset.key];
        else item[input.dataset.key] = v;
      }
      return item;
    });
  }

  async function send(sections, done) {
    // the message says a save is under way: "Đã lưu" from an earlier save must not read as this one's answer
    say("Đang lưu… / Saving…", "pending");
    try {
      await MotcuaApi.post("/admin/config", { sections });
      // redraw first, then say "saved": an edit typed after the message is never overwritten by the redraw
      await load();
      say(`Đã lưu và áp dụng ngay: ${done} / Saved and applied`, true);
    } catch (err) { fail(err); }
  }

  async function saveSection(name) {
    const rows = collect(name);
    const sections = { [name]: rows };
    if (name === "services") {
      // a new service needs a counter that serves it: "Phục vụ tại quầy" adds it to those counters, in one change
      const counters = live.counters.map((c) => ({ ...c, services: [...c.services] }));
      for (const s of rows) {
        for (const id of s._counters || []) {
          const c = counters.find((x) => x.id === id);
          if (c && !c.services.includes(s.code)) c.services.push(s.code);
        }
        delete s._counters;
      }
      if (JSON.stringify(counters) !== JSON.stringify(live.counters)) sections.counters = counters;
    }
    await send(sections, SECTIONS[name].title);
  }

  function renderUsers(users) {
    $("users").replaceChildren(...users.map((u) => {
      const role = el("select", { "aria-label": "role" }, ...[["staff", "Cán bộ"], ["manager", "Quản lý"], ["admin", "Quản trị"]]
        .map(([v, t]) => el("option", { value: v, text: t, selected: v === u.role ? "" : null })));
      const display = el("input", { value: u.display_name, "aria-label": "display_name" });
      return el("tr", { "data-user": u.username },
        el("td", { text: u.username }), el("td", {}, role), el("td", {}, display),
        el("td", { text: u.disabled ? "Đã khoá" : "Đang dùng" }),
        el("td", {},
          el("button", { type: "button", text: "Lưu", onclick: () => userCall(`/admin/users/${encodeURIComponent(u.username)}`,
            { role: role.value, display_name: display.value }, `người dùng ${u.username}`) }),
          el("button", { type: "button", text: u.disabled ? "Mở khoá" : "Khoá", onclick: () =>
            userCall(`/admin/users/${encodeURIComponent(u.username)}`, { disabled: !u.disabled }, `người dùng ${u.username}`) }),
          el("button", { type: "button", text: "Đặt lại mật khẩu", onclick: () => {
            const pw = prompt(`Mật khẩu mới cho ${u.username} (ít nhất 8 ký tự, có chữ và số):`);
            if (pw) userCall(`/admin/users/${encodeURIComponent(u.username)}/password`, { password: pw }, `mật khẩu của ${u.username}`);
          } })));
    }));
  }

  async function userCall(path, body, what) {
    say("Đang lưu… / Saving…", "pending");
    try {
      await MotcuaApi.post(path, body);
      say(`Đã lưu: ${what} / Saved`, true);
      await load();
    } catch (err) { fail(err); }
  }

  async function load() {
    const r = await MotcuaApi.get("/admin/config");
    live = r.live;
    for (const name of Object.keys(SECTIONS)) renderSection(name);
    $("notice").value = live.display.notice || "";
    $("days-off").value = live.calendar.days_off.join("\n");
    $("makeup-days").value = live.calendar.makeup_days.join("\n");
    renderUsers(live.users);
    renderBookings();
    renderNotifications();
  }

  /* ---- [bookings] and [notifications] (issue 16): only where the config file turns them on ---- */
  const BOOKING_KEYS = ["slot_minutes", "per_person_per_day", "per_person_per_service_per_day", "early_min", "late_min",
    "days_ahead", "min_notice_min"];
  const TEMPLATE_NAMES = { booking_confirmed: "Xác nhận đặt lịch", booking_reminder: "Nhắc lịch hẹn",
    turn_near: "Sắp đến lượt", called: "Mời đến quầy", otp: "Mã xác thực" };

  function renderBookings() {
    $("sec-bookings").hidden = !live.bookings;
    if (!live.bookings) return;
    $("booking-capacity").replaceChildren(...live.services.map((s) => el("tr", { "data-service": s.code },
      el("td", { text: `${s.name} (${s.code})` }),
      el("td", {}, el("input", { class: "short", inputmode: "numeric", "aria-label": `capacity ${s.code}`,
        value: live.bookings.capacity[s.code] === undefined ? "" : String(live.bookings.capacity[s.code]) })))));
    for (const key of BOOKING_KEYS) $(`bk-${key}`).value = live.bookings[key] === undefined ? "" : String(live.bookings[key]);
  }

  const number = (text) => (/^\s*-?\d+\s*$/.test(text) ? Number(text) : text.trim());

  function collectBookings() {
    const capacity = {};
    for (const tr of $("booking-capacity").querySelectorAll("tr[data-service]")) {
      const text = tr.querySelector("input").value;
      if (text.trim() !== "") capacity[tr.dataset.service] = number(text);
    }
    const out = { capacity };
    for (const key of BOOKING_KEYS) {
      const text = $(`bk-${key}`).value;
      if (text.trim() !== "") out[key] = number(text);
    }
    return out;
  }

  function renderNotifications() {
    $("sec-notifications").hidden = !live.notifications;
    if (!live.notifications) return;
    $("templates").replaceChildren(...Object.entries(live.notifications.templates).map(([name, text]) =>
      el("label", { class: "block" }, `${TEMPLATE_NAMES[name] || name} (${name})`,
        el("textarea", { "data-template": name, rows: "2", cols: "90", "aria-label": `template ${name}` }, text))));
    $("nt-turn_near_at").value = String(live.notifications.turn_near_at);
    $("nt-reminder_before_min").value = String(live.notifications.reminder_before_min);
  }

  $("save-bookings").addEventListener("click", () => send({ bookings: collectBookings() }, "đặt lịch hẹn"));
  $("save-notifications").addEventListener("click", () => {
    const templates = {};
    for (const t of $("templates").querySelectorAll("textarea[data-template]")) templates[t.dataset.template] = t.value;
    send({ notifications: { templates, turn_near_at: number($("nt-turn_near_at").value),
      reminder_before_min: number($("nt-reminder_before_min").value) } }, "tin nhắn");
  });

  const lines = (id) => $(id).value.split("\n").map((x) => x.trim()).filter(Boolean);
  $("save-notice").addEventListener("click", () => send({ display: { notice: $("notice").value } }, "dòng thông báo"));
  $("save-calendar").addEventListener("click", () => send({ calendar: { days_off: lines("days-off"), makeup_days: lines("makeup-days") } }, "lịch"));
  $("add-user").addEventListener("click", () => userCall("/admin/users", {
    username: $("new-username").value.trim(), role: $("new-role").value,
    display_name: $("new-display").value.trim() || undefined, password: $("new-password").value,
  }, `người dùng ${$("new-username").value.trim()}`));

  await MotcuaLogin.mount({ main: "admin", fail, enter: async () => { await load(); MotcuaLogin.show(true); } });
})();
