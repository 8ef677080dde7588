/* Face look-up enrolment at a counter: staff log in, the citizen's explicit consent (two buttons, nothing
 * pre-chosen), dossier codes, up to three camera frames sent once to the hub (which keeps only the template), and
 * the list of enrolled citizens with deletion. Uses MotcuaApi from /displays/static/common.js (token in
 * sessionStorage). Frames live in this page's memory only until they are sent, then are dropped. */
"use strict";

(function faceEnrol() {
  const $ = (x) => document.getElementById(x);
  let consent = null;       // the text in force, from the hub
  let accepted = false;     // set only by the "agree" button
  let shots = [];

  function message(text, kind) {
    const m = $("message");
    m.textContent = text;
    m.className = `message ${kind || "error"}`;
    m.hidden = !text;
  }

  async function loadConsent() {
    consent = await MotcuaApi.get("/face/consent");
    $("consent-title").textContent = consent.title_vi;
    const box = $("consent-text");
    box.textContent = "";
    consent.paragraphs_vi.forEach((vi, i) => {
      const p = document.createElement("p");
      p.textContent = vi;
      const en = document.createElement("span");
      en.className = "en";
      en.textContent = " " + (consent.paragraphs_en[i] || "");
      p.appendChild(en);
      box.appendChild(p);
    });
  }

  async function loadSubjects() {
    const body = $("subjects");
    body.textContent = "";
    const r = await MotcuaApi.get("/face/subjects");
    for (const s of r.subjects) {
      const tr = document.createElement("tr");
      for (const text of [s.subject, s.enrolled_at.slice(0, 16).replace("T", " "), s.dossier_codes.join(", ")]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      const td = document.createElement("td");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Xóa / Delete";
      b.dataset.subject = s.subject;
      b.addEventListener("click", async () => {
        if (!window.confirm(`Xóa dữ liệu khuôn mặt ${s.subject}? / Delete?`)) return;
        try {
          await MotcuaApi.call("DELETE", `/face/subjects/${encodeURIComponent(s.subject)}`);
          message("Đã xóa / Deleted", "ok");
          await loadSubjects();
        } catch (err) { message(err.vietnamese || String(err)); }
      });
      td.appendChild(b);
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  async function loadRequests() {
    const body = $("requests");
    body.textContent = "";
    const r = await MotcuaApi.get("/face/kiosk-enrolments");
    for (const q of r.requests) {
      const tr = document.createElement("tr");
      for (const text of [q.request_id, q.device, q.dossier_codes.join(", ")]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      const td = document.createElement("td");
      for (const [decision, label] of [["approve", "Xác nhận / Confirm"], ["reject", "Từ chối / Reject"]]) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = label;
        b.dataset.decision = decision;
        b.addEventListener("click", async () => {
          try {
            await MotcuaApi.post(`/face/kiosk-enrolments/${encodeURIComponent(q.request_id)}/${decision}`, {});
            message(decision === "approve" ? "Đã xác nhận / Confirmed" : "Đã từ chối / Rejected", "ok");
          } catch (err) { message(err.vietnamese || String(err)); }
          await loadRequests();
          await loadSubjects();
        });
        td.appendChild(b);
      }
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }
  $("refresh-requests").addEventListener("click", () => loadRequests().catch((err) => message(String(err))));

  function setConsent(value) {
    accepted = value;
    $("consent-state").textContent = value ? "Đã đồng ý / agreed" : "Không đồng ý: không đăng ký / declined";
    $("capture-card").hidden = !value;
    if (value) startCamera(); else stopCamera();
    updateButtons();
  }

  let stream = null;
  async function startCamera() {
    if (stream) return;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      $("video").srcObject = stream;
    } catch (err) {
      message("Không mở được camera / camera unavailable: " + err);
    }
  }
  function stopCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    shots = [];
    $("shots").textContent = "0";
  }

  function updateButtons() {
    $("enrol").disabled = !(accepted && shots.length > 0 && $("codes").value.trim());
    $("capture").disabled = !accepted || shots.length >= 3;
  }

  $("capture").addEventListener("click", () => {
    const v = $("video");
    if (!v.videoWidth) { message("Camera chưa sẵn sàng / camera not ready"); return; }
    const c = document.createElement("canvas");
    c.width = v.videoWidth; c.height = v.videoHeight;
    c.getContext("2d").drawImage(v, 0, 0);
    shots.push(c.toDataURL("image/jpeg", 0.85));
    $("shots").textContent = String(shots.length);
    updateButtons();
  });

  $("codes").addEventListener("input", updateButtons);
  $("agree").addEventListener("click", () => setConsent(true));
  $("decline").addEventListener("click", () => setConsent(false));
  $("reset").addEventListener("click", () => { shots = []; $("shots").textContent = "0"; updateButtons(); });

  $("enrol").addEventListener("click", async () => {
    if (!accepted || !consent) return;
    const codes = $("codes").value.split(/\s+/).map((s) => s.trim()).filter(Boolean);
    const images = shots;
    shots = [];                   // the frames leave the page once, whatever the answer
    $("shots").textContent = "0";
    try {
      const body = { consent: { accepted: true, version: consent.version }, dossier_codes: codes, images,
                     channel: "counter" };
      let r;
      try {
        r = await MotcuaApi.post("/face/enrol", body);
      } catch (err) {
        const m = /already_enrolled: .* citizen (fs_[0-9a-f]+)/.exec(err.message || "");
        // the face matches someone enrolled: link only if staff confirm it is the same person (ID checked)
        if (!m || !window.confirm(`Khuôn mặt trùng với ${m[1]}. Cùng một người (đã kiểm tra CCCD)? / Same person?`)) throw err;
        r = await MotcuaApi.post("/face/enrol", { ...body, link_to: m[1] });
      }
      message(r.already_enrolled ? `Đã liên kết thêm hồ sơ cho ${r.subject} / codes linked`
                                 : `Đã đăng ký ${r.subject} / enrolled`, "ok");
      $("codes").value = "";
      setConsent(false);
      $("consent-state").textContent = "Chưa chọn / not chosen";
      await loadSubjects();
    } catch (err) {
      message(err.vietnamese || String(err));
    }
    updateButtons();
  });

  async function start() {
    MotcuaLogin.show(true);
    message("");
    await loadConsent();
    await loadSubjects();
    await loadRequests();
    updateButtons();
  }

  MotcuaLogin.mount({ main: "work", enter: start, onLogout: stopCamera,
                           fail: (err) => message(err.vietnamese || String(err)) });
})();
