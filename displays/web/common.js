/* motcua displays: shared browser code (no framework, no build, no CDN).
 * - MotcuaApi: JSON calls to the hub's /api/v1 with the bearer token from sessionStorage.
 * - MotcuaLive: the SSE stream /api/v1/stream with a local copy of GET /api/v1/state, deduplicated by seq,
 *   that reconnects by itself after the hub restarts.
 * - Vietnamese texts for the hub's stable error codes.
 */
"use strict";

const API = "/api/v1";

const ERROR_TEXT = {
  bad_request: "Yêu cầu không hợp lệ / Bad request",
  not_found: "Không tìm thấy / Not found",
  unauthenticated: "Vui lòng đăng nhập lại / Please log in again",
  forbidden: "Tài khoản không có quyền này / Not allowed for this account",
  bad_credentials: "Sai tên đăng nhập hoặc mật khẩu / Wrong username or password",
  unknown_service: "Không có lĩnh vực này / Unknown service",
  unknown_counter: "Không có quầy này / Unknown counter",
  unknown_ticket: "Không có số thứ tự này / Unknown ticket",
  nothing_to_call: "Không còn ai đang chờ để gọi / Nobody is waiting",
  counter_busy: "Quầy đang phục vụ một số khác — hãy hoàn thành hoặc đánh dấu vắng mặt trước / Finish the current ticket first",
  counter_idle: "Quầy chưa có số nào đang phục vụ / No current ticket",
  counter_not_open: "Quầy chưa mở hoặc đang tạm dừng / Counter is not open",
  invalid_transition: "Không thể thực hiện thao tác này với số hiện tại / Not possible for this ticket now",
  ticket_taken: "Số này đã được quầy khác gọi / Ticket already taken by another counter",
  service_not_served: "Quầy không phục vụ lĩnh vực của số này / This counter does not serve that service",
  transfer_target_unserved: "Nơi chuyển đến hiện không có quầy nào đang mở / Nobody serves that target now",
  service_closed: "Lĩnh vực đang ngừng cấp số / Service closed",
  rate_limited: "Thao tác quá nhanh, thử lại sau / Too many requests",
  internal: "Lỗi hệ thống, vui lòng báo quản trị / Internal error",
  method_not_allowed: "Thao tác không được hỗ trợ / Method not allowed",
  payload_too_large: "Dữ liệu gửi lên quá lớn / Request too large",
  unsupported_media_type: "Dữ liệu gửi lên không đúng định dạng JSON / Send JSON",
  unknown_priority: "Không có đối tượng ưu tiên này / Unknown priority category",
  unknown_kiosk: "Kiosk này không có trong cấu hình của trung tâm / Unknown kiosk",
  quota_reached: "Lĩnh vực đã hết số trong ngày / No numbers left today",
  counter_taken: "Quầy đang do cán bộ khác nhận / Counter is open under another staff member",
  ticket_not_waiting: "Số này không còn đang chờ / Ticket is no longer waiting",
  contact_exists: "Số này đã có thông tin liên hệ khác / Ticket already has another contact",
  lease_conflict: "Khối số ngoại tuyến bị trùng / Offline number block conflict",
  leases_on_hold: "Máy chủ vừa khôi phục, tạm chưa cấp khối số ngoại tuyến / Offline blocks on hold after a restore",
  already_rated: "Lượt này đã được đánh giá / Already rated",
  rating_window_closed: "Đã hết thời gian đánh giá / Rating window closed",
  nothing_to_rate: "Chưa có lượt phục vụ nào để đánh giá / Nothing to rate",
  invalid_dossier_code: "Mã hồ sơ không hợp lệ / Invalid dossier code",
  unknown_dossier: "Không tìm thấy hồ sơ / Unknown dossier",
  main_system_unavailable: "Hệ thống một cửa của tỉnh đang không truy cập được / Main system unavailable",
  unknown_booking: "Không tìm thấy lịch hẹn / Unknown booking",
  booking_refused: "Không đặt được lịch hẹn / Booking refused",
  device_fault: "Thiết bị gặp lỗi / Device fault",
  printer_offline: "Máy in không kết nối / Printer offline",
  paper_out: "Máy in hết giấy / Printer out of paper",
  config_invalid: "Cấu hình không hợp lệ, chưa thay đổi gì / Invalid configuration, nothing changed",
  storage_full: "Ổ đĩa máy chủ đã đầy, chưa ghi được — báo quản trị / Hub disk full",
  network: "Mất kết nối tới máy chủ, đang thử lại / Hub unreachable",
};

// a hub message already written Vietnamese first (most refusals a person meets) says more than the code's text
const VIETNAMESE_LETTERS = /[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]/i;

class MotcuaApiError extends Error {
  constructor(code, message, status, detail) {
    super(message);
    this.code = code;
    this.status = status;
    this.detail = detail || {};
  }
  get vietnamese() {
    if (this.detail.message && VIETNAMESE_LETTERS.test(this.detail.message)) return this.detail.message;
    const base = ERROR_TEXT[this.code] || this.message || this.code;
    return this.detail.message && !ERROR_TEXT[this.code] ? `${base} (${this.detail.message})` : base;
  }
}

const MotcuaApi = {
  tokenKey: "motcua.token",
  get token() { return sessionStorage.getItem(this.tokenKey); },
  set token(value) {
    if (value) sessionStorage.setItem(this.tokenKey, value); else sessionStorage.removeItem(this.tokenKey);
  },
  async call(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.token) headers["Authorization"] = `Bearer ${this.token}`;
    let response;
    try {
      response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new MotcuaApiError("network", String(err), 0);
    }
    noteServerDate(response);
    let payload = null;
    try { payload = await response.json(); } catch (err) { payload = null; }
    if (!response.ok) {
      const e = (payload && payload.error) || {};
      throw new MotcuaApiError(e.code || (response.status >= 500 ? "internal" : "bad_request"),
                               e.message || response.statusText, response.status, e);
    }
    return payload;
  },
  get(path) { return this.call("GET", path); },
  post(path, body) { return this.call("POST", path, body === undefined ? {} : body); },
};

/* Live state from the hub. onState(state) after every full snapshot; onEvent(envelope, state) for every new
 * event (seq above what is applied). Dedupe by seq: the stream may replay after a reconnect. */
class MotcuaLive {
  constructor({ onState, onEvent, onStatus } = {}) {
    this.onState = onState || (() => {});
    this.onEvent = onEvent || (() => {});
    this.onStatus = onStatus || (() => {});
    this.state = null;
    this.seq = 0;
    this.source = null;
    this.retryMs = 500;
    this.refetching = null;
    this.refetchAgain = false;
  }

  start() {
    // Render at once from GET /state (the stream's first event carries the same, whichever comes first wins).
    this.refetch();
    this.connect();
  }

  connect() {
    if (this.source) this.source.close();
    const source = new EventSource(`${API}/stream`);
    this.source = source;
    source.addEventListener("open", () => { this.retryMs = 500; this.onStatus("online"); });
    source.addEventListener("state", (msg) => this.applyState(JSON.parse(msg.data), true));
    source.addEventListener("event", (msg) => this.applyEnvelope(JSON.parse(msg.data)));
    source.addEventListener("message", (msg) => {
      // Tolerate a hub that sends unnamed messages: an envelope has "type", a state has "counters".
      const data = JSON.parse(msg.data);
      if (data && data.type && data.seq) this.applyEnvelope(data); else if (data && data.counters) this.applyState(data, true);
    });
    source.addEventListener("error", () => {
      this.onStatus("offline");
      // EventSource retries by itself while readyState is CONNECTING; a refused or non-200 answer closes it
      // for good, so reopen with a capped backoff. Either way the next "state" event re-renders everything.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(() => { if (this.source === source) this.connect(); }, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 5000);
      }
    });
  }

  applyState(state, fromStream) {
    if (!state || typeof state.seq !== "number") return;
    // A GET racing the stream must not roll the screen back; a snapshot that opens a stream connection is
    // authoritative even when seq went down (the hub came back with another store).
    if (!fromStream && this.state && state.seq < this.seq) return;
    this.state = state;
    this.seq = state.seq;
    this.onState(state);
  }

  applyEnvelope(env) {
    if (!env || typeof env.seq !== "number") return;
    if (env.seq <= this.seq) return;
    const gap = this.state && env.seq > this.seq + 1;
    this.seq = env.seq;
    if (this.state) applyEnvelopeToState(this.state, env);
    this.onEvent(env, this.state);
    // Waiting counts and estimates are computed by the hub: take them from a fresh snapshot, coalesced. After a
    // call the number is already on screen; the counts follow a moment later so a burst of calls is not slowed.
    if (!gap && (env.type === "ticket.called" || env.type === "ticket.recalled")) {
      clearTimeout(this.callRefetch);
      this.callRefetch = setTimeout(() => this.scheduleRefetch(), 150);
    } else {
      this.scheduleRefetch();
    }
  }

  scheduleRefetch() {
    if (this.refetching) { this.refetchAgain = true; return; }
    this.refetch();
  }

  async refetch() {
    this.refetching = (async () => {
      try {
        const state = await MotcuaApi.get("/state");
        this.applyState(state);
      } catch (err) {
        /* the stream's reconnect will bring a state */
      }
    })();
    await this.refetching;
    this.refetching = null;
    if (this.refetchAgain) { this.refetchAgain = false; this.refetch(); }
  }
}

/* Apply what an envelope says directly, so a call shows without waiting for a refetch. */
function applyEnvelopeToState(state, env) {
  const data = env.data || {};
  const ticket = data.ticket;
  if ((env.type === "ticket.called" || env.type === "ticket.recalled") && ticket) {
    const call = callFromEnvelope(env);
    state.calls = [call, ...(state.calls || []).filter((c) => c.ticket_id !== call.ticket_id)].slice(0, 20);
    const counter = (state.counters || []).find((c) => c.counter === call.counter);
    if (counter) {
      counter.current_ticket = call.number;
      counter.current_ticket_id = call.ticket_id;
      counter.current_status = "called";
      counter.held_over = false;            // a call is today's
      counter.since = env.at;
    }
  } else if (env.type.startsWith("counter.") && data.counter) {
    const idx = (state.counters || []).findIndex((c) => c.counter === data.counter);
    if (idx >= 0) state.counters[idx] = Object.assign({}, state.counters[idx], data);
    else (state.counters = state.counters || []).push(data);
  } else if (ticket && data.counter) {
    const counter = (state.counters || []).find((c) => c.counter === data.counter);
    if (counter && ["done", "no_show", "transferred", "cancelled"].includes(ticket.status)) {
      if (counter.current_ticket_id === ticket.id) {
        counter.current_ticket = null; counter.current_ticket_id = null; counter.current_status = null;
      }
    } else if (counter && ticket.status === "serving") {
      counter.current_status = "serving";
    }
  }
}

function callFromEnvelope(env) {
  const data = env.data || {};
  const t = data.ticket || {};
  const counter = data.counter || t.counter || "";
  return {
    ticket_id: t.id, number: t.number, service: t.service, counter: String(counter),
    counter_name: data.counter_name || `Quầy ${counter}`, at: env.at, recall: t.recalls || 0,
  };
}

/* Small helpers used by several pages. */
const VN_DAYS = ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"];

/* TV sticks and old office PCs often have no battery clock: follow the hub's clock rather than the device's, for
 * the wall clock and for timers. The hub sends its own clock as X-Motcua-Now (the same clock that stamps calls);
 * the HTTP Date header (1 s resolution) is the fallback. */
let serverOffsetMs = 0;
let serverTimeKnown = false;

function noteServerDate(response) {
  const date = response.headers.get("X-Motcua-Now") || response.headers.get("Date");
  const at = date ? Date.parse(date) : NaN;
  if (!Number.isNaN(at)) {
    const offset = at - Date.now();
    // The header has whole seconds: only move when the device is off by more than that.
    if (!serverTimeKnown || Math.abs(offset - serverOffsetMs) > 1500) serverOffsetMs = offset;
    serverTimeKnown = true;
  }
}

function hubNowMs() { return Date.now() + serverOffsetMs; }

/* False until a hub answer has told its time: a wall clock shows a placeholder rather than the device's guess. */
function hubTimeKnown() { return serverTimeKnown; }

function vnNow() {
  // The center's time is Vietnam time whatever the TV's time zone is set to.
  const now = new Date(hubNowMs());
  return new Date(now.getTime() + (now.getTimezoneOffset() + 420) * 60000);
}

function pad2(n) { return String(n).padStart(2, "0"); }

function formatDate(d) { return `${VN_DAYS[d.getDay()]}, ${pad2(d.getDate())}/${pad2(d.getMonth() + 1)}/${d.getFullYear()}`; }

function formatClock(d) { return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`; }

function elapsedText(sinceIso) {
  if (!sinceIso) return "";
  const secs = Math.max(0, Math.floor((hubNowMs() - Date.parse(sinceIso)) / 1000));
  const m = Math.floor(secs / 60), s = secs % 60;
  return m >= 60 ? `${Math.floor(m / 60)}:${pad2(m % 60)}:${pad2(s)}` : `${pad2(m)}:${pad2(s)}`;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function queryParam(name, fallback) {
  const v = new URLSearchParams(location.search).get(name);
  return v === null ? fallback : v;
}
