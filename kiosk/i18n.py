"""Every string a citizen reads on the kiosk, Vietnamese first (with its diacritics), English second.

Presenters translate through ``t(key, lang, **values)``; screens never hold text of their own. Error codes from
contracts/errors.py are translated here too (the hub's English ``message`` is never shown to a citizen).
"""
from __future__ import annotations

from typing import Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

# key -> (Vietnamese, English). Short, plain sentences: many citizens are elderly and read slowly.
STRINGS: dict[str, tuple[str, str]] = {
    # home
    "home.title": ("Xin kính chào quý vị", "Welcome"),
    "home.subtitle": ("Quý vị cần làm gì? Xin chạm vào một ô bên dưới.",
                      "What would you like to do? Please touch one of the boxes below."),
    "home.take_ticket": ("Lấy số thứ tự", "Take a queue number"),
    "home.take_ticket.hint": ("Để được gọi vào quầy", "To be called to a counter"),
    "home.lookup": ("Tra cứu hồ sơ", "Look up a dossier"),
    "home.lookup.hint": ("Bằng mã số trên phiếu hẹn", "With the code on your receipt"),
    "home.scan_hint": ("Quý vị có thể đưa mã QR trên phiếu hẹn vào máy quét bất cứ lúc nào.",
                       "You can hold the QR code of your receipt to the scanner at any time."),
    "home.booking": ("Có lịch hẹn", "I have a booking"),
    "home.booking.hint": ("Quét mã QR hoặc nhập mã đặt lịch", "Scan the QR or type the booking code"),
    "lang.toggle": ("English", "Tiếng Việt"),
    # booking check-in
    "booking.title": ("Xác nhận lịch hẹn", "Check in your booking"),
    "booking.subtitle": ("Đưa mã QR đặt lịch vào máy quét, hoặc nhập mã 6 ký tự.",
                         "Hold the booking QR to the scanner, or type the 6-character code."),
    "booking.placeholder": ("Ví dụ: K7M3QX", "Example: K7M3QX"),
    "booking.submit": ("Xác nhận", "Check in"),
    "booking.checking": ("Đang kiểm tra lịch hẹn…", "Checking your booking…"),
    "booking.invalid": ("Mã đặt lịch gồm 6 chữ và số, ví dụ K7M3QX. Xin kiểm tra lại.",
                        "A booking code has 6 letters and digits, e.g. K7M3QX. Please check it."),
    "booking.walk_in": ("Lấy số thường", "Take a walk-in ticket"),
    "booking.refused.unknown_code": ("Không tìm thấy lịch hẹn với mã này. Xin kiểm tra lại mã.",
                                     "No booking has this code. Please check it."),
    "booking.refused.too_early": (("Quý vị đến sớm. Lịch hẹn lúc {slot}; có thể xác nhận từ {opens}. "
                                  "Quý vị có thể lấy số thường ngay bây giờ."),
                                  ("You are early. Your booking is at {slot}; check-in opens at {opens}. "
                                  "You may take a walk-in ticket now.")),
    "booking.refused.too_late": (("Quý vị đến muộn: lịch hẹn lúc {slot} chỉ giữ chỗ đến {closes}. "
                                 "Quý vị có thể lấy số thường."),
                                 ("You are late: the {slot} booking was held until {closes}. "
                                 "You may take a walk-in ticket.")),
    "booking.refused.wrong_day": ("Lịch hẹn này là ngày {day}, không phải hôm nay.",
                                  "This booking is for {day}, not today."),
    "booking.refused.cancelled": ("Lịch hẹn này đã bị hủy.", "This booking was cancelled."),
    "booking.refused.already_used": ("Lịch hẹn này đã được dùng để lấy số.", "This booking was already used."),
    "nav.back": ("Quay lại", "Back"),
    "nav.home": ("Về trang đầu", "Start over"),
    # service grid
    "services.title": ("Chọn lĩnh vực", "Choose a service"),
    "services.subtitle": ("Chạm vào lĩnh vực quý vị cần giải quyết.", "Touch the service you need."),
    "services.waiting": ("Đang chờ: {n} người", "Waiting: {n}"),
    "services.waiting.none": ("Không có người chờ", "No one waiting"),
    "services.wait": ("Chờ khoảng {min} phút", "About {min} min wait"),
    "services.wait_range": ("Chờ {range}", "Wait {range}"),
    "services.closed": ("Tạm ngừng cấp số", "Not issuing now"),
    # started while the hub is down: no catalog at all is a connection problem, not an empty center
    "services.no_hub": ("Không kết nối được máy chủ. Xin hỏi cán bộ hướng dẫn.",
                        "Cannot connect to the server. Please ask the staff."),
    "services.empty": ("Hiện chưa có lĩnh vực nào. Xin hỏi cán bộ hướng dẫn.",
                       "No services are available. Please ask the staff."),
    # priority
    "priority.title": ("Quý vị có thuộc diện ưu tiên không?", "Are you entitled to priority?"),
    "priority.subtitle": ("Người được ưu tiên sẽ được gọi trước.", "Priority citizens are called first."),
    # the promise must be what the center's [policy] does (see kiosk/presenters/services.py priority_promise)
    "priority.subtitle.service": ("Người được ưu tiên được gọi trước những người khác cùng lĩnh vực.",
                                  "Priority citizens are called before others of the same service."),
    "priority.subtitle.interleave": ("Cứ {n} số thường thì có 1 số ưu tiên được gọi.",
                                     "One priority number is called after every {n} other numbers."),
    "priority.subtitle.weighted": ("Số ưu tiên được tính thêm {m} phút chờ khi xếp lượt.",
                                   "Priority numbers are credited {m} extra minutes of waiting."),
    "priority.none": ("Không, tôi lấy số thường", "No, a normal number"),
    # take ticket
    "ticket.issuing": ("Đang lấy số, xin chờ một chút…", "Getting your number, one moment…"),
    "ticket.your_number": ("Số thứ tự của quý vị", "Your number"),
    "ticket.printing": ("Đang in phiếu…", "Printing your ticket…"),
    "ticket.printed": ("Xin nhận phiếu bên dưới và ngồi chờ gọi số.",
                       "Please take your ticket below and wait to be called."),
    "ticket.print_failed": (("Máy in đang gặp sự cố, phiếu chưa được in. Xin ghi nhớ số này hoặc chụp ảnh "
                            "màn hình, rồi ngồi chờ gọi số."),
                            ("The printer has a problem and no ticket was printed. Please remember this "
                            "number or take a photo of the screen, then wait to be called.")),
    "ticket.service": ("Lĩnh vực: {name}", "Service: {name}"),
    "ticket.ahead": ("Trước quý vị còn {n} người", "{n} people ahead of you"),
    "ticket.ahead.none": ("Quý vị sẽ sớm được gọi", "You will be called soon"),
    "ticket.ahead.nobody": ("Không có ai chờ trước quý vị", "Nobody is ahead of you"),
    "ticket.wait": ("Thời gian chờ dự kiến: khoảng {min} phút", "Estimated wait: about {min} minutes"),
    "ticket.wait_range": ("Thời gian chờ dự kiến: {range}", "Estimated wait: {range}"),
    "ticket.done": ("Xong", "Done"),
    "ticket.notify": ("Nhắn tin khi sắp đến lượt", "Text me when my turn nears"),
    # the optional mobile number after printing (issue 16): "còn N người nữa" and "mời quý vị đến quầy" by text
    "contact.title": ("Nhắn tin khi sắp đến lượt", "Text me when my turn nears"),
    "contact.subtitle": (("Số {number}. Nhập số điện thoại di động của quý vị (không bắt buộc), rồi bấm Xác nhận."),
                         ("Number {number}. Type your mobile number (optional), then press Confirm.")),
    "contact.placeholder": ("Ví dụ: 0912 345 678", "Example: 0912 345 678"),
    "contact.submit": ("Xác nhận", "Confirm"),
    "contact.sending": ("Đang ghi nhận…", "Saving…"),
    "contact.empty": ("Xin nhập số điện thoại di động.", "Please type a mobile number."),
    "contact.start_zero": ("Số di động bắt đầu bằng số 0, ví dụ 0912 345 678.",
                           "A mobile number starts with 0, e.g. 0912 345 678."),
    "contact.not_mobile": ("Đây không phải số di động. Số di động bắt đầu bằng 03, 05, 07, 08 hoặc 09.",
                           "This is not a mobile number. Mobile numbers start with 03, 05, 07, 08 or 09."),
    "contact.too_short": ("Số di động gồm 10 chữ số; quý vị mới nhập {n} số.",
                          "A mobile number has 10 digits; you have typed {n}."),
    "contact.invalid": ("Số điện thoại chưa đúng. Số di động gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09.",
                        "That number is not valid. A mobile number has 10 digits starting 03, 05, 07, 08 or 09."),
    "contact.refused.ticket_not_waiting": ("Số {number} đã được gọi hoặc không còn chờ, nên không nhắn tin được nữa.",
                                           ("Number {number} has been called or is no longer waiting: no text "
                                            "can be sent.")),
    "contact.refused.contact_exists": ("Số {number} đã có số điện thoại nhận tin nhắn.",
                                       "Number {number} already has a phone number for its texts."),
    "contact.refused.unknown_ticket": ("Không tìm thấy số {number}. Xin hỏi cán bộ hướng dẫn.",
                                       "Number {number} was not found. Please ask the staff."),
    "contact.hub_down": (("Không kết nối được máy chủ nên chưa ghi nhận được số điện thoại. Quý vị vẫn giữ số thứ "
                          "tự; xin theo dõi màn hình gọi số."),
                         ("Cannot reach the server, so the number was not saved. You keep your queue number; "
                          "please watch the screens.")),
    "contact.done.title": ("Đã ghi nhận", "Saved"),
    "contact.done": (("Quý vị sẽ nhận tin nhắn khi còn {n} người nữa đến lượt, và khi được mời đến quầy "
                      "(số {masked})."),
                     "You will get a text when {n} people are ahead of you, and when you are called (to {masked})."),
    "contact.done.now": (("Quý vị sắp đến lượt: tin nhắn được gửi ngay đến số {masked}, và khi quý vị được mời đến "
                          "quầy. Xin ngồi chờ gần đây."),
                         ("Your turn is near: a text goes to {masked} now, and another when you are called. "
                          "Please wait nearby.")),
    "contact.done.called_only": ("Quý vị sẽ nhận tin nhắn khi được mời đến quầy (số {masked}).",
                                 "You will get a text when you are called (to {masked})."),
    # lookup
    "lookup.title": ("Tra cứu hồ sơ", "Look up a dossier"),
    "lookup.subtitle": ("Nhập mã số hồ sơ in trên phiếu hẹn, hoặc đưa mã QR vào máy quét.",
                        "Type the dossier code printed on your receipt, or hold its QR code to the scanner."),
    "lookup.placeholder": ("Ví dụ: 000.00.12.H38-210212-0001", "Example: 000.00.12.H38-210212-0001"),
    "lookup.search": ("Tra cứu", "Look up"),
    "key.dot": ("chấm", "dot"),
    "key.dash": ("gạch", "dash"),
    "lookup.delete": ("Xóa", "Delete"),
    "lookup.clear": ("Xóa hết", "Clear"),
    "lookup.camera": ("Quét mã QR bằng camera", "Scan the QR with the camera"),
    "lookup.camera.stop": ("Tắt camera", "Stop the camera"),
    "lookup.camera.hint": ("Đưa mã QR trên phiếu hẹn vào trước camera.",
                           "Hold the QR code on your receipt in front of the camera."),
    "lookup.searching": ("Đang tra cứu…", "Looking up…"),
    "lookup.invalid": (("Mã chưa đúng. Mã hồ sơ gồm chữ, số, dấu chấm và gạch ngang, ví dụ "
                       "000.00.12.H38-210212-0001. Xin kiểm tra lại."),
                       ("That code is not complete. A dossier code has letters, digits, dots and dashes, "
                       "e.g. 000.00.12.H38-210212-0001. Please check it.")),
    "lookup.scan_unreadable": ("Không đọc được mã vừa quét. Xin thử lại hoặc nhập mã bằng tay.",
                               "The scanned code could not be read. Please try again or type it."),
    # result
    "result.title": ("Kết quả tra cứu", "Lookup result"),
    "result.code": ("Mã hồ sơ: {code}", "Dossier code: {code}"),
    "result.status": ("Tình trạng: {status}", "Status: {status}"),
    "result.applicant": ("Người nộp: {name}", "Applicant: {name}"),
    "result.received": ("Ngày tiếp nhận: {date}", "Received: {date}"),
    "result.due": ("Ngày hẹn trả kết quả: {date}", "Appointment date: {date}"),
    "result.procedure": ("Thủ tục: {name}", "Procedure: {name}"),
    "result.synced": ("Thông tin cập nhật lúc {at}", "Information as of {at}"),
    "result.synced.stale": ("Thông tin cập nhật lúc {at} (có thể chưa mới nhất)",
                            "Information as of {at} (may not be the latest)"),
    "result.collect": ("Lấy số Trả kết quả", "Take a number to collect the result"),
    "home.help": ("Cần hỗ trợ", "Need help"),
    "home.help.asking": ("Đang báo cán bộ…", "Calling the staff…"),
    "home.help.asked": ("Đã báo cán bộ. Xin quý vị chờ tại đây, cán bộ sẽ đến hỗ trợ.",
                        "The staff have been told. Please wait here, someone is coming."),
    "home.help.failed": ("Không kết nối được máy chủ. Xin quý vị đến bàn hướng dẫn.",
                         "Cannot connect to the server. Please go to the information desk."),
    "home.help.refused": ("Chưa gửi được yêu cầu hỗ trợ từ máy này. Xin quý vị đến bàn hướng dẫn.",
                          "This kiosk could not send the request. Please go to the information desk."),
    "services.search": ("Tìm theo thủ tục", "Find by procedure"),
    "search.title": ("Tìm thủ tục", "Find a procedure"),
    "search.hint": ("Gõ vài chữ, không cần dấu (ví dụ: khai sinh). Chạm vào thủ tục để lấy số.",
                    "Type a few letters, no accents needed (e.g. khai sinh). Tap a procedure to take a number."),
    "search.none": ("Không tìm thấy thủ tục. Xin chọn lĩnh vực hoặc bấm Cần hỗ trợ.",
                    "No procedure found. Choose a service or ask for help."),
    "search.space": ("Dấu cách", "Space"),
    "result.again": ("Tra cứu mã khác", "Look up another code"),
    "result.ticket": ("Số {number}: {status}", "Number {number}: {status}"),
    "warning.overdue": ("Hồ sơ đã quá hạn", "The dossier is overdue"),
    "warning.due_soon": ("Còn dưới một ngày làm việc đến hạn", "Less than one working day left"),
    "warning.step_overdue": ("Một bước xử lý đã quá hạn", "A processing step is overdue"),
    "warning.step_due": ("Một bước xử lý đến hạn", "A processing step is due"),
    "warning.needs_supplement": ("Hồ sơ cần bổ sung giấy tờ", "The dossier needs more documents"),
    "warning.apology": ("Đã có phiếu xin lỗi và hẹn lại", "An apology with a new date was issued"),
    # ticket states, for a scanned ticket
    "status.issued": ("đang chờ gọi", "waiting to be called"),
    "status.called": ("đang được mời vào quầy {counter}", "called to counter {counter}"),
    "status.serving": ("đang được phục vụ", "being served"),
    "status.done": ("đã xong", "finished"),
    "status.no_show": ("đã qua lượt", "missed"),
    "status.cancelled": ("đã hủy", "cancelled"),
    "status.transferred": ("đã chuyển lĩnh vực", "transferred"),
    # out of hours
    "closed.title": ("Ngoài giờ cấp số", "Outside ticket hours"),
    "closed.body": ("Hiện không cấp số thứ tự. Xin quý vị quay lại trong giờ làm việc.",
                    "Queue numbers are not issued now. Please come back during working hours."),
    "closed.next.today": ("Hiện không cấp số thứ tự. Trung tâm cấp số lại từ {at} hôm nay.",
                          "Queue numbers are not issued now. Numbers are issued again from {at} today."),
    "closed.next.tomorrow": ("Hiện không cấp số thứ tự. Trung tâm cấp số lại từ {at} ngày mai ({day}).",
                             "Queue numbers are not issued now. Numbers are issued again from {at} tomorrow ({day})."),
    "closed.next.day": ("Hiện không cấp số thứ tự. Trung tâm cấp số lại từ {at} {day}.",
                        "Queue numbers are not issued now. Numbers are issued again from {at} on {day}."),
    "closed.day_off": ("Hôm nay Trung tâm nghỉ (ngày lễ, Tết hoặc nghỉ theo thông báo).",
                       "The center is closed today (public holiday or announced day off)."),
    "closed.hours": ("Giờ làm việc: {hours}", "Working hours: {hours}"),
    "closed.lookup": ("Quý vị vẫn có thể tra cứu hồ sơ.", "You can still look up a dossier."),
    # the printer cannot print (issue 12): paper tickets stop, and come back by themselves
    "printer.paused.title": ("Tạm ngừng cấp phiếu", "Tickets paused"),
    "printer.paused.body": (("{fault}. Cán bộ đã được báo và đang xử lý. Xin quý vị chờ trong giây lát: máy sẽ "
                             "tự cấp phiếu lại khi sẵn sàng."),
                            "{fault}. The staff have been alerted. Please wait a moment: the kiosk resumes by itself."),
    "printer.paused.home": ("Tạm ngừng cấp phiếu: {fault}. Cán bộ đang xử lý.",
                            "Tickets paused: {fault}. The staff are on it."),
    "printer.screen_only.home": ("Máy in đang gặp sự cố: số thứ tự chỉ hiện trên màn hình, xin quý vị ghi nhớ số.",
                                 "Printer fault: your number will only be shown on screen; please note it."),
    "printer.fault.paper_out": ("Máy in hết giấy", "The printer is out of paper"),
    "printer.fault.cover_open": ("Nắp máy in đang mở", "The printer cover is open"),
    "printer.fault.offline": ("Máy in không hoạt động", "The printer is not responding"),
    "printer.fault.other": ("Máy in đang gặp sự cố", "The printer has a fault"),
    # errors (by stable code from contracts/errors.py, plus the kiosk's own)
    "error.hub_down": ("Máy chưa kết nối được hệ thống. Xin quý vị hỏi cán bộ hướng dẫn.",
                       "The kiosk cannot reach the system. Please ask the staff for help."),
    "error.no_offline_numbers": ("Máy tạm thời chưa cấp số được. Xin quý vị hỏi cán bộ hướng dẫn.",
                                 "The kiosk cannot issue numbers right now. Please ask the staff."),
    "error.unknown_dossier": ("Không tìm thấy hồ sơ có mã {code}. Xin kiểm tra lại mã trên phiếu hẹn.",
                              "No dossier found with code {code}. Please check the code on your receipt."),
    "error.invalid_dossier_code": ("Mã chưa đúng. Xin kiểm tra lại mã trên phiếu hẹn.",
                                   "That code is not valid. Please check the code on your receipt."),
    "error.rate_limited": ("Quý vị đã tra cứu nhiều lần. Xin chờ một phút rồi thử lại.",
                           "Too many lookups. Please wait a minute and try again."),
    "error.main_system_unavailable": ("Hệ thống hồ sơ đang bận, chưa tra cứu được. Xin hỏi cán bộ tại quầy.",
                                      "The dossier system is busy. Please ask the staff at a counter."),
    "error.service_closed": ("Lĩnh vực này hiện không cấp số.", "This service is not issuing numbers now."),
    "error.quota_reached": ("Lĩnh vực này đã hết số trong ngày. Xin hỏi cán bộ hướng dẫn.",
                            "This service has no numbers left today. Please ask the staff."),
    "error.unknown_service": ("Lĩnh vực này không còn. Xin chọn lại.",
                              "This service is no longer available. Please choose again."),
    "error.generic": ("Có lỗi xảy ra. Xin thử lại hoặc hỏi cán bộ hướng dẫn.",
                      "Something went wrong. Please try again or ask the staff."),
    # staff-only status mark (tiny, corner): not a sentence for citizens
    "mode.online": ("·", "·"),
    "mode.offline": ("× {left}", "× {left}"),
}


def t(key: str, lang: Lang = "vi", **values: object) -> str:
    """The string for ``key`` in ``lang``; an unknown key shows itself (a visible bug, never a crash)."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    text = pair[0] if lang == "vi" else pair[1]
    return text.format(**values) if values else text


def error_text(error_code: str, lang: Lang = "vi", **values: object) -> str:
    """A citizen sentence for a stable error code; unknown codes fall back to a polite generic one."""
    key = f"error.{error_code}"
    if key not in STRINGS:
        key = "error.generic"
    try:
        return t(key, lang, **values)
    except (KeyError, IndexError):
        return t("error.generic", lang)


def other(lang: Lang) -> Lang:
    return "en" if lang == "vi" else "vi"


def pick(vi: str | None, en: str | None, lang: Lang) -> str:
    """Choose between a pair of names from the hub (``name`` / ``name_en``); Vietnamese when English is missing."""
    if lang == "en" and en:
        return en
    return vi or en or ""
