/* The staff log-in shared by the admin, audit, manager, reports, Decision 766 and face-enrolment pages: renders
 * the log-in form into the page's placeholder <form id="login" data-heading="…" data-heading-en="…">, the
 * "#who" name and "Đăng xuất" button at the end of the header bar and the "#message" line under it, then does the
 * token handling once (POST /auth/login, the token in sessionStorage, log out, an expired token back to the form).
 * Load after common.js and before password.js (which puts "Đổi mật khẩu" next to "Đăng xuất").
 * It must not know what a page shows: each page hands MotcuaLogin.mount() its own enter() and fail(). */
"use strict";

(function renderStaffLogin() {
  const form = document.getElementById("login");
  if (!form || form.tagName !== "FORM") return;
  form.className = "card narrow";
  form.hidden = true;
  form.append(
    el("h1", {}, form.dataset.heading || "Đăng nhập", " ",
       el("span", { lang: "en", text: `/ ${form.dataset.headingEn || "Log in"}` })),
    el("label", {}, "Tên đăng nhập ", el("input", { id: "username", autocomplete: "username", required: "" })),
    el("label", {}, "Mật khẩu ",
       el("input", { id: "password", type: "password", autocomplete: "current-password", required: "" })),
    el("button", { type: "submit", class: "primary", text: "Đăng nhập" }));
  const message = el("div", { id: "message", class: "message error", role: "alert" });
  message.hidden = true;
  form.before(message);
  const logout = el("button", { id: "logout", type: "button", text: "Đăng xuất" });
  logout.hidden = true;
  const bar = document.querySelector("header.bar");
  if (bar) bar.append(el("span", { id: "who" }), logout);
})();

const MotcuaLogin = {
  /* main: the id of what the page shows once logged in. enter(): load the page (throws → back to the form, the
   * error through fail). fail(err): the page's own way of saying an error. refuse: roles sent back to the form
   * at once. who: the sessionStorage field named in the bar. onLogout(): what the page stops on log out. */
  async mount({ main, enter, fail, refuse = [], who = "username", onLogout = () => {} }) {
    const $ = (x) => document.getElementById(x);
    this.show = (loggedIn) => {
      $("login").hidden = loggedIn;
      $(main).hidden = !loggedIn;
      $("logout").hidden = !loggedIn;
      $("who").textContent = loggedIn ? (sessionStorage.getItem(`motcua.${who}`) || "") : "";
    };
    const start = async () => {
      try { await enter(); } catch (err) { this.show(false); fail(err); }
    };
    $("login").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const r = await MotcuaApi.post("/auth/login", { username: $("username").value.trim(), password: $("password").value });
        MotcuaApi.token = r.token;
        sessionStorage.setItem("motcua.username", r.username);
        sessionStorage.setItem("motcua.display_name", r.display_name || r.username);
        sessionStorage.setItem("motcua.role", r.role);
        if (refuse.includes(r.role)) { fail(new MotcuaApiError("forbidden", `${r.role} role not allowed here`, 403)); return; }
        $("message").hidden = true;
      } catch (err) { fail(err); return; }
      await start();
    });
    $("logout").addEventListener("click", async () => {
      onLogout();
      // revoke the token at the hub too: a copy of the tab (which copies sessionStorage) is logged out as well
      try { await MotcuaApi.post("/auth/logout"); } catch (err) { /* gone already */ }
      MotcuaApi.token = null;
      this.show(false);
    });
    if (MotcuaApi.token) await start(); else this.show(false);
  },

  /* For a page's fail(): an expired token (unauthenticated) brings the form back. */
  expired(err) {
    if (err.code === "unauthenticated") { MotcuaApi.token = null; this.show(false); }
  },
  show() {},
};
