/* Reports pages (manager role): /reports (figures, charts, detail tables, exports) and /reports/766 (Decision 766
 * estimates). Everything comes from /api/v1/reports/...; charts are SVG drawn by the hub (no chart library, no
 * CDN). Downloads are fetched with the bearer token, then saved. The picker's state is kept in the URL so a
 * report can be bookmarked or reloaded. */
"use strict";

(async function reportsPage() {
  const $ = (x) => document.getElementById(x);
  const is766 = location.pathname.startsWith("/reports/766");
  let group = "service";

  const COLS = [
    ["issued", "Đã cấp", "int"], ["served", "Đã phục vụ", "int"], ["no_show", "Vắng mặt", "int"],
    ["cancelled", "Đã hủy", "int"], ["transferred", "Chuyển", "int"],
    ["wait_p50_min", "Chờ p50 (phút)", "dec"], ["wait_p90_min", "Chờ p90 (phút)", "dec"],
    ["wait_max_min", "Chờ lâu nhất (phút)", "dec"], ["wait_over_target_share", "Chờ quá mục tiêu", "pct"],
    ["service_p50_min", "Xử lý p50 (phút)", "dec"], ["service_p90_min", "Xử lý p90 (phút)", "dec"],
    ["on_duty_h", "Giờ tại quầy", "dec"], ["pause_h", "Giờ tạm dừng", "dec"],
    ["served_per_duty_hour", "Lượt/giờ", "dec"],
  ];
  const GROUP_HEAD = { service: "Lĩnh vực", counter: "Quầy", staff: "Cán bộ", hour: "Khung giờ", day: "Ngày" };
  const DOSSIER = [
    ["received", "Đã tiếp nhận", "int"], ["carried_over", "Tồn kỳ trước", "int"], ["finished", "Đã giải quyết", "int"],
    ["finished_on_time", "Đúng/trước hạn", "int"], ["finished_late", "Trễ hạn", "int"],
    ["in_progress_not_yet_due", "Đang xử lý — chưa đến hạn", "int"], ["in_progress_nearly_due", "Đang xử lý — sắp đến hạn", "int"],
    ["in_progress_overdue", "Đang xử lý — quá hạn", "int"], ["apologised", "Có phiếu xin lỗi", "int"],
    ["on_time_rate", "Tỷ lệ đúng hạn", "pct"], ["resolution_avg_working_days", "Giải quyết TB (ngày làm việc)", "dec"],
  ];

  function fmt(v, kind) {
    if (v === null || v === undefined) return "—";
    if (kind === "pct") return `${(100 * v).toFixed(1).replace(".", ",")}%`;
    if (kind === "dec") return Number(v).toLocaleString("vi-VN", { maximumFractionDigits: 2 });
    return Number(v).toLocaleString("vi-VN");
  }

  function show(loggedIn) {
    $("login").hidden = loggedIn;
    $("page").hidden = !loggedIn;
    $("logout").hidden = !loggedIn;
    $("who").textContent = loggedIn ? sessionStorage.getItem("motcua.username") || "" : "";
  }

  function fail(err) {
    $("message").textContent = err instanceof MotcuaApiError ? err.vietnamese : String(err);
    $("message").dataset.code = err.code || "";
    $("message").hidden = false;
    if (err.code === "unauthenticated") { MotcuaApi.token = null; show(false); }
    if (err.code === "forbidden") show(false);
  }

  /* ---- the period picker, mirrored in the URL ---- */
  function today() {
    const d = vnNow();
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  }

  function readUrl() {
    const q = new URLSearchParams(location.search);
    $("period").value = q.get("from") ? "range" : (q.get("period") || (is766 ? "month" : "month"));
    // empty until the hub answered once: "today" is the hub's day, not this device's (see fillToday)
    $("anchor").value = q.get("date") || "";
    $("from").value = q.get("from") || "";
    $("to").value = q.get("to") || "";
    if (q.get("target_min") && $("target")) $("target").value = q.get("target_min");
    syncPicker();
  }

  function syncPicker() {
    const range = $("period").value === "range";
    for (const el of document.querySelectorAll(".range")) el.hidden = !range;
    $("anchor-box").hidden = range;
  }

  function periodQuery() {
    const q = new URLSearchParams();
    if ($("period").value === "range") { q.set("from", $("from").value); q.set("to", $("to").value); }
    else { q.set("period", $("period").value); q.set("date", $("anchor").value || today()); }
    return q;
  }

  function withTarget(q) {
    const out = new URLSearchParams(q);
    if ($("target") && $("target").value) out.set("target_min", $("target").value);
    return out;
  }

  async function svg(id, name, q) {
    const response = await fetch(`${API}/reports/charts/${name}?${q}`, { headers: { Authorization: `Bearer ${MotcuaApi.token}` } });
    if (!response.ok) throw new MotcuaApiError("internal", `chart ${name}: ${response.status}`, response.status);
    $(id).innerHTML = await response.text();     // drawn and escaped by the hub
  }

  function fillToday() {
    for (const id of ["anchor", "from", "to"]) if (!$(id).value) $(id).value = today();
  }

  async function load() {
    fillToday();
    const q = periodQuery();
    history.replaceState(null, "", `${location.pathname}?${withTarget(q)}`);
    $("link-766").href = `/reports/766?${q}`;
    try {
      if (is766) await load766(q); else await loadReports(q);
      $("message").hidden = true;
      document.body.dataset.loaded = String(Date.now());
    } catch (err) { fail(err); }
  }

  async function loadReports(q) {
    const s = await MotcuaApi.get(`/reports/summary?${withTarget(q)}&group=${group}`);
    $("title").textContent = `Báo cáo ${s.period.label.charAt(0).toLowerCase()}${s.period.label.slice(1)}`;
    const t = s.totals;
    const facts = [["Đã cấp", fmt(t.issued), "issued"], ["Đã phục vụ", fmt(t.served), "served"],
      ["Vắng mặt", fmt(t.no_show), "no_show"], ["Đã hủy", fmt(t.cancelled), "cancelled"],
      ["Chờ p50 / p90", `${fmt(t.wait_p50_min, "dec")} / ${fmt(t.wait_p90_min, "dec")} phút`, "wait"],
      [`Chờ quá ${s.target_min} phút`, fmt(t.wait_over_target_share, "pct"), "over"],
      ["Xử lý p50 / p90", `${fmt(t.service_p50_min, "dec")} / ${fmt(t.service_p90_min, "dec")} phút`, "service"],
      ["Lượt phục vụ / giờ tại quầy", fmt(t.served_per_duty_hour, "dec"), "productivity"],
      ["Lượt đánh giá", fmt(t.ratings.count), "ratings"], ["Tỷ lệ hài lòng", fmt(t.ratings.satisfied_share, "pct"), "satisfied"]];
    $("totals").replaceChildren(...facts.map(([label, value, key]) =>
      el("div", { "data-fact": key }, el("dt", { text: label }), el("dd", { text: value }))));
    renderDetail(s);
    const d = await MotcuaApi.get(`/reports/dossiers?${q}`);
    $("dossiers").replaceChildren(...DOSSIER.map(([key, label, kind]) =>
      el("div", { "data-fact": key }, el("dt", { text: label }), el("dd", { text: fmt(d[key], kind) }))));
    await Promise.all([svg("chart-counts", "counts", q), svg("chart-waits", "waits", q), svg("chart-heatmap", "heatmap", q),
      loadBookings(q)]);
  }

  /* ---- bookings (issue 16): only where the center takes them ---- */
  async function loadBookings(q) {
    const b = await MotcuaApi.get(`/reports/bookings?${q}`);
    $("bookings-section").hidden = !b.enabled;
    if (!b.enabled) return;
    const facts = [["Tổng số lịch hẹn", fmt(b.totals.made), "made"], ["Đã đến (xác nhận)", fmt(b.totals.checked_in), "checked_in"],
      ["Vắng", fmt(b.totals.no_show), "no_show"], ["Đã hủy", fmt(b.totals.cancelled), "cancelled"],
      ["Tỷ lệ đến", fmt(b.check_in_rate, "pct"), "check_in_rate"], ["Tỷ lệ vắng", fmt(b.no_show_rate, "pct"), "no_show_rate"],
      ["Mức sử dụng khung giờ", fmt(b.slot_utilisation, "pct"), "slot_utilisation"]];
    $("bookings-facts").replaceChildren(...facts.map(([label, value, key]) =>
      el("div", { "data-fact": key }, el("dt", { text: label }), el("dd", { text: value }))));
    const rows = b.days.map((d) => el("tr", { "data-day": d.day }, el("td", { text: d.day.split("-").reverse().join("/") }),
      ...[d.made, d.checked_in, d.no_show, d.cancelled].map((n) => el("td", { class: "num", text: fmt(n) })),
      el("td", { class: "num", text: fmt(d.check_in_rate, "pct") }), el("td", { class: "num", text: fmt(d.slot_utilisation, "pct") })));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "7", text: "Không có lịch hẹn trong kỳ / No bookings in this period" })));
    $("bookings-days").tBodies[0].replaceChildren(...rows);
  }

  function renderDetail(s) {
    const withRatings = s.rows.some((r) => r.ratings);
    const head = [GROUP_HEAD[s.group] || "", ...COLS.map((c) => c[1]), ...(withRatings ? ["Đánh giá", "Hài lòng"] : [])];
    $("detail").tHead.replaceChildren(el("tr", {}, ...head.map((h, i) => el("th", { class: i ? "num" : "", text: h }))));
    const label = (r) => (s.group === "day" ? r.key.split("-").reverse().join("/") : r.name);
    const rows = s.rows.map((r) => el("tr", { "data-key": r.key }, el("td", { text: label(r) }),
      ...COLS.map(([k, , kind]) => el("td", { class: "num", text: fmt(r[k], kind) })),
      ...(withRatings ? [el("td", { class: "num", text: fmt(r.ratings.count) }),
                         el("td", { class: "num", text: fmt(r.ratings.satisfied_share, "pct") })] : [])));
    if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: String(head.length), text: "Không có số liệu trong kỳ / No data in this period" })));
    $("detail").tBodies[0].replaceChildren(...rows);
  }

  const INPUT_VI = {
    finished_on_time: ["Đã giải quyết đúng hạn", "int"], in_progress_not_overdue: ["Đang xử lý chưa quá hạn", "int"],
    handled: ["Đã và đang giải quyết", "int"], finished: ["Đã giải quyết", "int"],
    resolution_working_minutes_total: ["Tổng thời gian giải quyết (phút làm việc)", "int"],
    overdue_rate: ["Tỷ lệ trễ hạn", "pct"], dissatisfied_share: ["Tỷ lệ «không hài lòng»", "pct"],
    ratings: ["Số lượt đánh giá", "int"],
  };

  function inputText(inputs) {
    return Object.entries(inputs).map(([name, v]) => {
      const [label, kind] = INPUT_VI[name] || [name, "dec"];
      return `${label}: ${fmt(v, kind)}`;
    }).join("; ");
  }

  function indexValue(i) {
    if (i.value === null || i.value === undefined) return "—";
    return i.unit === "ratio" ? fmt(i.value, "pct") : `${fmt(i.value, "dec")} ngày làm việc`;
  }

  async function load766(q) {
    const k = await MotcuaApi.get(`/reports/decision-766?${q}`);
    $("title").textContent = `Chỉ số Quyết định 766/QĐ-TTg — ${k.period.label}`;
    $("note").textContent = `${k.note_vi} / ${k.note_en}`;
    $("computed").replaceChildren(...k.computed.map((i) => el("tr", { "data-code": i.code },
      el("td", { text: i.code }),
      el("td", {}, el("strong", { text: i.name }), el("div", { class: "formula", lang: "en", text: i.name_en })),
      el("td", { class: "formula", text: i.formula }),
      el("td", { class: "formula", text: inputText(i.inputs) }),
      el("td", { class: "num value", text: indexValue(i) }),
      el("td", { class: "num", text: i.points === null ? "—" : `${fmt(i.points, "dec")} / ${i.max_points}` }))));
    $("not-computed").replaceChildren(...k.not_computed.map((i) => el("tr", { "data-code": i.code },
      el("td", { text: i.code }), el("td", { text: i.name }), el("td", { text: i.reason }))));
    const qms = k.qms;
    $("qms").replaceChildren(...[["Phiếu đã cấp", fmt(qms.issued)], ["Đã phục vụ", fmt(qms.served)],
      ["Chờ p50", `${fmt(qms.wait_p50_min, "dec")} phút`], ["Chờ p90", `${fmt(qms.wait_p90_min, "dec")} phút`],
      ["Vắng mặt", fmt(qms.no_show)]].map(([a, b]) => el("div", {}, el("dt", { text: a }), el("dd", { text: b }))));
  }

  async function download(kind) {
    const q = periodQuery();
    const path = kind === "xlsx" ? `/reports/export.xlsx?${withTarget(q)}` : kind === "pdf" ? `/reports/report.pdf?${q}`
      : `/reports/export.csv?${withTarget(q)}&group=${group}`;
    try {
      const response = await fetch(API + path, { headers: { Authorization: `Bearer ${MotcuaApi.token}` } });
      if (!response.ok) throw new MotcuaApiError("internal", `${response.status}`, response.status);
      const blob = await response.blob();
      const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
      const a = el("a", { href: URL.createObjectURL(blob), download: name ? name[1] : `bao-cao.${kind}` });
      document.body.append(a); a.click(); a.remove();
    } catch (err) { fail(err); }
  }

  $("period").addEventListener("change", syncPicker);
  $("picker").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  for (const b of document.querySelectorAll("[data-export]")) b.addEventListener("click", () => download(b.dataset.export));
  for (const b of document.querySelectorAll("#groups button")) {
    b.addEventListener("click", async () => {
      group = b.dataset.group;
      for (const o of document.querySelectorAll("#groups button")) o.classList.toggle("active", o === b);
      try { renderDetail(await MotcuaApi.get(`/reports/summary?${withTarget(periodQuery())}&group=${group}`)); } catch (err) { fail(err); }
    });
  }
  $("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await MotcuaApi.post("/auth/login", { username: $("username").value.trim(), password: $("password").value });
      MotcuaApi.token = r.token;
      sessionStorage.setItem("motcua.username", r.username);
      sessionStorage.setItem("motcua.role", r.role);
      if (r.role === "staff") { fail(new MotcuaApiError("forbidden", "manager role needed", 403)); return; }
      show(true);
      await load();
    } catch (err) { fail(err); }
  });
  $("logout").addEventListener("click", () => { MotcuaApi.token = null; show(false); });

  readUrl();
  if (MotcuaApi.token) {
    try { await MotcuaApi.get("/auth/me"); show(true); await load(); } catch (err) { fail(err); show(false); }
  } else show(false);
})();
