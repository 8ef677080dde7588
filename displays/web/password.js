/* "Đổi mật khẩu" for every logged-in user (staff console, manager board, admin pages): a button next to
 * "Đăng xuất" (shown whenever it is) and a dialog asking the current password and the new one twice.
 * POST /api/v1/auth/password; the hub refuses a wrong current password or a weak new one. */
"use strict";

(function passwordChange() {
  const logout = document.getElementById("logout");
  if (!logout) return;
  const button = el("button", { id: "change-password", type: "button", text: "Đổi mật khẩu" });
  button.hidden = logout.hidden;
  logout.before(button);
  new MutationObserver(() => { button.hidden = logout.hidden; }).observe(logout, { attributes: true });

  const old = el("input", { id: "pw-old", type: "password", autocomplete: "current-password", required: "" });
  const fresh = el("input", { id: "pw-new", type: "password", autocomplete: "new-password", required: "" });
  const again = el("input", { id: "pw-again", type: "password", autocomplete: "new-password", required: "" });
  const note = el("p", { id: "pw-message", class: "message error", role: "alert" });
  note.hidden = true;
  const form = el("form", { method: "dialog", class: "pw-form" },
    el("h2", { text: "Đổi mật khẩu / Change password" }),
    el("label", {}, "Mật khẩu hiện tại", old),
    el("label", {}, "Mật khẩu mới (ít nhất 8 ký tự, có chữ và số)", fresh),
    el("label", {}, "Nhập lại mật khẩu mới", again),
    note,
    el("div", { class: "inline" },
      el("button", { id: "pw-save", type: "submit", class: "primary", text: "Lưu mật khẩu" }),
      el("button", { id: "pw-cancel", type: "button", text: "Huỷ", onclick: () => dialog.close() })));
  const dialog = el("dialog", { id: "password-dialog" }, form);
  document.body.append(dialog);

  function say(text, ok) {
    note.textContent = text;
    note.className = ok ? "message info" : "message error";
    note.hidden = false;
  }

  button.addEventListener("click", () => {
    for (const input of [old, fresh, again]) input.value = "";
    note.hidden = true;
    dialog.showModal();
    old.focus();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (fresh.value !== again.value) { say("Hai lần nhập mật khẩu mới không khớp / The new passwords differ", false); return; }
    try {
      await MotcuaApi.post("/auth/password", { old_password: old.value, new_password: fresh.value });
      say("Đã đổi mật khẩu / Password changed", true);
      setTimeout(() => dialog.close(), 1200);
    } catch (err) {
      const detail = err.detail && err.detail.message ? err.detail.message : "";
      say(err.code === "bad_credentials" ? "Mật khẩu hiện tại không đúng / The current password is wrong"
        : (detail || err.vietnamese), false);
    }
  });
})();
