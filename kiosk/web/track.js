// Ticket tracking page: polls GET <api>/tickets/<id> and shows the place in the queue, Vietnamese first.
// Polling (not SSE) on purpose: see kiosk/tracking_blueprint.py. Stops once the ticket is finished.
// A ticket a booking became shows that booking (code, service, slot, status) and links to its page /b/<code>.
// Every address is taken relative to where the page was opened (<base>/t/<id>), so the page works the same on the
// center's LAN and behind the province's relay at [notifications] public_base_url, even one with a path prefix.
(function () {
  "use strict";
  var BASE = location.pathname.replace(/\/t\/[^\/]*\/?$/, "");
  var API = BASE + document.querySelector('meta[name="motcua-api"]').content;
  var POLL_MS = 1000 * (parseInt(document.querySelector('meta[name="motcua-poll-s"]').content, 10) || 10);
  var ticketId = decodeURIComponent(location.pathname.replace(/\/+$/, "").split("/").pop());
  var lang = (localStorage.getItem("motcua-lang") === "en") ? "en" : "vi";
  var last = null, failures = 0, timer = null, services = {}, centerName = ["", ""];
  var booking = null, bookingAsked = null;   // the booking this ticket came from, fetched once per code

  var T = {
    heading: ["Số thứ tự của quý vị", "Your number"],
    loading: ["Đang tải…", "Loading…"],
    issued: ["Đang chờ gọi số", "Waiting to be called"],
    called: ["Mời quý vị đến quầy {c}", "Please go to counter {c}"],
    serving: ["Quý vị đang được phục vụ", "You are being served"],
    done: ["Đã phục vụ xong. Cảm ơn quý vị!", "Finished. Thank you!"],
    no_show: ["Đã qua lượt. Xin liên hệ cán bộ hướng dẫn.", "Your turn has passed. Please ask the staff."],
    cancelled: ["Số này đã bị hủy.", "This number was cancelled."],
    transferred: ["Đã chuyển sang lĩnh vực khác, vẫn giữ số.", "Moved to another service, same number."],
    ahead: ["Trước quý vị còn {n} người", "{n} people ahead of you"],
    ahead0: ["Quý vị sẽ sớm được gọi", "You will be called soon"],
    day_over: ["Ngày làm việc của số này đã kết thúc mà chưa đến lượt. Xin quý vị lấy số mới.",
               "This number's working day ended before its turn came. Please take a new number."],
    // after the last session: numbers restart every day, so a number still waiting is no good tomorrow (a counter
    // working on after closing may still call it today: the page keeps following it)
    hours_over: ["Đã hết giờ làm việc hôm nay; số này không còn giá trị cho ngày mai — vui lòng lấy số mới.",
                 "Today's working hours are over; this number is not valid tomorrow — please take a new number."],
    // the hub's opens_at: when numbers are issued again (Monday 07:30 on a Saturday, the day after a holiday)
    opens: ["Trung tâm cấp số lại từ {h} {d}.", "Numbers are issued again from {h} on {d}."],
    lunch: ["Đang nghỉ trưa; các quầy làm việc lại lúc {h}. Số của quý vị vẫn được giữ.",
            "Lunch break: the counters resume at {h}. Your number is kept."],
    first: ["Quý vị đứng đầu hàng chờ", "You are first in line"],
    wait: ["Thời gian chờ dự kiến: khoảng {m} phút", "Estimated wait: about {m} minutes"],
    range: ["Thời gian chờ dự kiến: khoảng {a}–{b} phút", "Estimated wait: about {a}–{b} minutes"],
    under: ["Thời gian chờ dự kiến: dưới {b} phút", "Estimated wait: under {b} minutes"],
    past_close: ["Thời gian chờ dự kiến: có thể quá giờ làm việc",
                 "Estimated wait: possibly past closing time"],
    unserved: ["Hiện chưa có quầy nào đang phục vụ lĩnh vực này; số của quý vị vẫn được giữ.",
               "No counter is serving this service right now; your number is kept."],
    updated: ["Cập nhật lúc {t}", "Updated at {t}"],
    unknown: ["Không tìm thấy số thứ tự này. Có thể số đã hết hạn (số được cấp lại mỗi ngày).",
              "This number was not found. Numbers restart every day."],
    offline: ["Chưa kết nối được máy chủ, đang thử lại…", "Cannot reach the server, retrying…"],
    toggle: ["English", "Tiếng Việt"],
    service: ["Lĩnh vực: {s}", "Service: {s}"],
    bk_title: ["Số này được lấy từ lịch hẹn", "This number comes from a booking"],
    bk_code: ["Mã đặt lịch", "Booking code"],
    bk_detail: ["{s}, hẹn lúc {h} ngày {d}", "{s}, booked for {h} on {d}"],
    bk_checked_in: ["Đã xác nhận tại kiosk", "Checked in at the kiosk"],
    bk_booked: ["Đã đặt lịch", "Booked"],
    bk_cancelled: ["Đã hủy", "Cancelled"],
    bk_no_show: ["Đã quá giờ hẹn", "Missed"],
    bk_link: ["Xem lịch hẹn", "See the booking"],
    title: ["Theo dõi số thứ tự", "Follow your number"]
  };
  function t(key, vals) {
    var s = T[key][lang === "vi" ? 0 : 1];
    Object.keys(vals || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(vals[k])); });
    return s;
  }
  function $(id) { return document.getElementById(id); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function render() {
    document.documentElement.lang = lang;
    document.title = t("title");
    $("lang").textContent = t("toggle");
    $("heading").textContent = t("heading");
    $("center").textContent = centerName[lang === "vi" ? 0 : 1] || centerName[0];
    if (!last) { return; }
    var tk = last.ticket, st = tk.status, box = $("state");
    $("number").textContent = tk.number;
    var svc = services[tk.service];
    $("service").textContent = svc ? t("service", {s: svc[lang === "vi" ? 0 : 1] || svc[0]}) : "";
    // a number still waiting when its day ended was never reached: numbers restart every day
    var over = dayOver(), still = st === "issued" || st === "transferred";
    var closed = !over && still && !!last.hours_over;
    box.className = "state" + (st === "called" ? " called" : "") +
      ((st === "done" || st === "cancelled" || st === "no_show" || over || closed) ? " finished" : "");
    $("status").textContent = over ? t("day_over") : closed ? t("hours_over")
                              : (T[st] ? t(st, {c: tk.counter || ""}) : st);
    $("opens").textContent = over || closed ? opens() : "";
    var waiting = !over && !closed && still;
    // "sớm" only when an open (or briefly paused) counter serves the ticket: the hub says so in wait_served
    var unserved = waiting && last.wait_served === false;
    var lunch = waiting && last.resumes_at ? last.resumes_at.slice(11, 16) : "";   // the center's own time
    $("ahead").textContent = !waiting ? "" : (last.ahead > 0 ? t("ahead", {n: last.ahead})
                                              : (lunch ? t("first") : unserved ? "" : t("ahead0")));
    var w = "";
    if (lunch) { w = t("lunch", {h: lunch}); }
    else if (unserved) { w = t("unserved"); }
    else if (waiting && last.wait_past_close === true) { w = t("past_close"); }
    else if (waiting && last.wait_high_min != null) {
      w = last.wait_low_min > 0 ? t("range", {a: last.wait_low_min, b: last.wait_high_min})
                                : t("under", {b: last.wait_high_min});
    } else if (waiting && last.estimated_wait_min > 0) { w = t("wait", {m: last.estimated_wait_min}); }
    $("wait").textContent = w;
    renderBooking(tk.booking);
    var now = new Date();
    $("updated").textContent = t("updated", {t: pad(now.getHours()) + ":" + pad(now.getMinutes()) + ":" +
                                                pad(now.getSeconds())});
  }

  var DAYS = [["Chủ Nhật", "Sunday"], ["Thứ Hai", "Monday"], ["Thứ Ba", "Tuesday"], ["Thứ Tư", "Wednesday"],
              ["Thứ Năm", "Thursday"], ["Thứ Sáu", "Friday"], ["Thứ Bảy", "Saturday"]];
  function opens() {
    var at = last && last.opens_at;       // "2026-11-30T07:30:00+07:00": the center's own time
    if (!at) { return ""; }
    var day = new Date(Date.UTC(+at.slice(0, 4), +at.slice(5, 7) - 1, +at.slice(8, 10))).getUTCDay();
    return t("opens", {h: at.slice(11, 16), d: DAYS[day][lang === "vi" ? 0 : 1] + ", " + at.slice(8, 10) + "/" +
                                                at.slice(5, 7) + "/" + at.slice(0, 4)});
  }

  function svcName(code) {
    var svc = services[code];
    return svc ? (svc[lang === "vi" ? 0 : 1] || svc[0]) : code;
  }

  function renderBooking(code) {
    var box = $("booking");
    box.hidden = !code;
    if (!code) { return; }
    $("booking-title").textContent = t("bk_title");
    $("booking-code-label").textContent = t("bk_code");
    $("booking-code").textContent = code;
    var b = booking && booking.code === code ? booking : null;
    var at = b ? b.slot_start : "";                      // "2026-11-23T08:00:00+07:00": the center's own time
    $("booking-detail").textContent = b ? t("bk_detail", {s: svcName(b.service), h: at.slice(11, 16),
                                                         d: at.slice(8, 10) + "/" + at.slice(5, 7) + "/" +
                                                            at.slice(0, 4)}) : "";
    $("booking-status").textContent = b && T["bk_" + b.status] ? t("bk_" + b.status) : "";
    $("booking-link").textContent = t("bk_link");
    $("booking-link").href = BASE + "/b/" + encodeURIComponent(code);
    if (bookingAsked !== code) { loadBooking(code); }
  }

  function loadBooking(code) {
    bookingAsked = code;
    fetch(API + "/bookings/" + encodeURIComponent(code), {cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && body.booking) { booking = body.booking; render(); } })
      .catch(function () { bookingAsked = null; });   // asked again at the next poll
  }

  function problem(key) {
    var p = $("problem");
    if (key) { p.textContent = t(key); p.hidden = false; } else { p.hidden = true; }
  }

  function dayOver() {
    return !!(last && last.day_over && ["issued", "transferred"].indexOf(last.ticket.status) >= 0);
  }

  function finished() {
    return last && (["done", "cancelled", "no_show"].indexOf(last.ticket.status) >= 0 || dayOver());
  }

  function schedule(ms) {
    clearTimeout(timer);
    if (!finished()) { timer = setTimeout(poll, ms); }
  }

  function poll() {
    if (document.hidden) { schedule(POLL_MS); return; }
    fetch(API + "/tickets/" + encodeURIComponent(ticketId), {cache: "no-store"})
      .then(function (resp) {
        if (resp.status === 404) { last = null; problem("unknown"); $("status").textContent = ""; return null; }
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.json();
      })
      .then(function (body) {
        if (!body) { return; }
        var before = last && last.ticket.status;
        last = body; failures = 0; problem(null); render();
        if (before && before !== "called" && body.ticket.status === "called" && navigator.vibrate) {
          navigator.vibrate([300, 150, 300]);   // a phone in a pocket: the call is felt
        }
        schedule(POLL_MS);
      })
      .catch(function () {
        failures += 1;
        problem("offline");
        schedule(Math.min(60000, POLL_MS * Math.pow(2, Math.min(failures, 3))));
      });
  }

  function loadConfig() {
    fetch(API + "/config", {cache: "no-store"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (cfg) {
        if (!cfg) { return; }
        (cfg.services || []).forEach(function (s) { services[s.code] = [s.name, s.name_en]; });
        if (cfg.center) { centerName = [cfg.center.name || "", cfg.center.name_en || ""]; }
        render();
      }).catch(function () { /* the page works without names */ });
  }

  $("lang").addEventListener("click", function () {
    lang = (lang === "vi") ? "en" : "vi";
    try { localStorage.setItem("motcua-lang", lang); } catch (e) { /* private mode */ }
    render();
    if (!last) { $("status").textContent = t("loading"); }
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
  render();
  loadConfig();
  poll();
}());
