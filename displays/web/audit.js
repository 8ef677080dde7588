/* Audit page (admin role): who did what on a day — GET /api/v1/admin/audit with day/user/kind filters — and the
 * same rows as CSV (UTF-8 with BOM, Vietnamese headers) fetched with the token and saved as a file. */
"use strict";

(async function auditPage() {
  const $ = (x) => document.getElementById(x);
  const KIND_VI = {
    "ticket.called": "Gọi số", "ticket.recalled": "Gọi lại", "ticket.serving": "Bắt đầu phục vụ",
    "ticket.completed": "Hoàn thành", "ticket.no_show": "Vắng mặt", "ticket.transferred": "Chuyển",
    "ticket.cancelled": "Huỷ phiếu", "ticket.reactivated": "Kích hoạt lại", "counter.opened": "Mở quầy",
    "counter.closed": "Đóng quầy", "counter.paused": "Tạm dừng quầy", "counter.resumed": "Tiếp tục quầy",
    "config.changed": "Thay đổi cấu hình",
  };

  function fail(err) {
    $("message").textContent = err.detail && err.detail.message && err.code === "bad_request" ? err.detail.message : err.vietnamese || String(err);
    $("message").hidden = false;
    MotcuaLogin.expired(err);
  }

  function query() {
    const q = new URLSearchParams();
    if ($("day").value) q.set("day", $("day").value);
    if ($("user").value.trim()) q.set("user", $("user").value.trim());
    if ($("kind").value) q.set("kind", $("kind").value);
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  async function load() {
    const r = await MotcuaApi.get(`/admin/audit${query()}`);
    $("message").hidden = true;
    $("count").textContent = `${r.rows.length} thao tác${r.truncated ? " (chỉ hiện phần đầu)" : ""}`;
    $("rows").replaceChildren(...r.rows.map((row) => el("tr", { "data-kind": row.kind, "data-user": row.user || "" },
      el("td", { text: row.at.replace("T", " ").slice(0, 19) }), el("td", { text: KIND_VI[row.kind] || row.kind }),
      el("td", { text: row.user || "—" }), el("td", { text: row.counter || "" }), el("td", { text: row.ticket || "" }),
      el("td", { text: row.detail }))));
  }

  $("filters").addEventListener("submit", async (ev) => { ev.preventDefault(); try { await load(); } catch (err) { fail(err); } });
  $("csv").addEventListener("click", async () => {
    const response = await fetch(`${API}/admin/audit.csv${query()}`, { headers: { Authorization: `Bearer ${MotcuaApi.token}` } });
    if (!response.ok) { fail(new MotcuaApiError("bad_request", (await response.json()).error.message, response.status, {})); return; }
    const name = (response.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : "nhat-ky.csv" });
    document.body.append(link);
    link.click();
    link.remove();
  });

  await MotcuaLogin.mount({ main: "audit", fail, enter: async () => { await load(); MotcuaLogin.show(true); } });
})();
