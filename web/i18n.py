"""The console's words, Vietnamese first (with diacritics) and English, and how times are shown.

A plain catalogue (key → (vi, en)) rather than gettext/Babel: two languages, about a hundred
strings, no plural rules beyond what a number in front gives, and no compile step (.po → .mo) for
anyone who adds a page. A test checks that every key a template uses is here in both languages.
Times are stored in UTC and shown in Asia/Ho_Chi_Minh (UTC+7 all year: Vietnam has no DST).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from agent.vntime import VN_TZ, format_local
from alerts.text import CLASS_TEXT
from web.i18n_people import PEOPLE_MESSAGES

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "app_title": ("Giám sát CNTT xã", "Commune IT monitor"),
    "nav_overview": ("Toàn tỉnh", "Province"),
    "nav_tickets": ("Phiếu sự cố", "Tickets"),
    "nav_fleet": ("Tài sản & ngân sách", "Fleet & budget"),
    "nav_audit": ("Nhật ký", "Audit log"),
    "logout": ("Đăng xuất", "Log out"),
    "login": ("Đăng nhập", "Log in"),
    "username": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "login_refused": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."),
    "too_many_attempts": (
        "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
        "Too many failed logins. Try again in {minutes} minutes.",
    ),
    "login_busy": (
        "Máy chủ đang bận kiểm tra mật khẩu. Vui lòng thử lại sau vài giây.",
        "The server is busy checking passwords. Try again in a few seconds.",
    ),
    "role_admin": ("Quản trị", "Administrator"),
    "role_dost": ("Sở KH&CN (xem)", "DOST (viewer)"),
    "role_vendor": ("Kỹ thuật viên nhà cung cấp", "Vendor technician"),
    "role_finance": ("Sở Tài chính", "Finance"),
    "times_note": ("Giờ Việt Nam (UTC+7)", "Vietnam time (UTC+7)"),
    # overview
    "overview_title": ("Tình trạng các xã, phường", "Status of the communes"),
    "communes": ("Xã, phường", "Communes"),
    "commune": ("Xã, phường", "Commune"),
    "code": ("Mã", "Code"),
    "status": ("Trạng thái", "Status"),
    "agents": ("Máy trạm báo cáo", "Reporting agents"),
    "devices": ("Thiết bị", "Devices"),
    "open_tickets": ("Phiếu đang mở", "Open tickets"),
    "problems": ("Sự cố đang diễn ra", "Active problems"),
    "status_up": ("Hoạt động", "Up"),
    "status_degraded": ("Suy giảm", "Degraded"),
    "status_slow": ("Phần mềm chậm", "Software slow"),
    "status_down": ("Mất kết nối", "Down"),
    "status_unmonitored": ("Chưa giám sát", "Not monitored"),
    "status_closed": ("Ngoài giờ làm việc", "Closed (out of hours)"),
    "all": ("Tất cả", "All"),
    "search": ("Tìm", "Search"),
    "search_placeholder": ("Tên hoặc mã xã", "Commune name or code"),
    "sort_by": ("Sắp xếp", "Sort by"),
    "sort_status": ("Mức độ nghiêm trọng", "Severity"),
    "sort_name": ("Tên", "Name"),
    "sort_tickets": ("Số phiếu mở", "Open tickets"),
    "filter": ("Lọc", "Filter"),
    "sort_software": ("Phần mềm chậm nhất", "Slowest software"),
    "software_ms": ("Phần mềm (ms)", "Software (ms)"),
    "software_province": (
        "Thời gian truy cập phần mềm dùng chung (trung vị các xã): {ms} ms",
        "Central software response time (median over communes): {ms} ms",
    ),
    "tickets_by_class": ("Phiếu mở theo loại sự cố", "Open tickets by problem class"),
    "tickets_by_owner": ("Phiếu mở theo đơn vị xử lý", "Open tickets by owner"),
    "none": ("Không có", "None"),
    "refreshed_at": ("Cập nhật lúc", "Updated at"),
    # commune
    "commune_title": ("Chi tiết xã", "Commune detail"),
    "device": ("Thiết bị", "Device"),
    "kind": ("Loại", "Kind"),
    "last_report": ("Báo cáo gần nhất", "Last report"),
    "health": ("Tình trạng", "Health"),
    "health_ok": ("Bình thường", "OK"),
    "health_warn": ("Cần chú ý", "Warning"),
    "health_stale": ("Mất tín hiệu", "Silent"),
    "health_off": ("Đã tắt", "Off"),
    "off_since": ("Đã tắt máy lúc {at} ({reason})", "Off since {at} ({reason})"),
    "off_reason_shutdown": ("tắt máy", "shutdown"),
    "off_reason_reboot": ("khởi động lại", "reboot"),
    "off_reason_service_stop": ("dừng dịch vụ", "service stopped"),
    "off_reason_interrupted": ("dừng tay", "stopped by hand"),
    "off_reason_outside_hours": ("ngoài giờ làm việc", "outside opening hours"),
    "out_of_hours": ("Ngoài giờ làm việc", "Outside opening hours"),
    "banner_maintenance": (
        "Đang bảo trì (#{id}, đến {until}): {reason}",
        "Maintenance in progress (#{id}, until {until}): {reason}",
    ),
    "banner_silence": (
        "Đang tạm dừng cảnh báo (#{id}, đến {until}): {reason}",
        "Alerts silenced (#{id}, until {until}): {reason}",
    ),
    "banner_guard": (
        "Tạm dừng đánh giá mất kết nối: bộ thu đang chậm hoặc vừa khởi động ({why})",
        "Silence not judged: the collector is behind or just started ({why})",
    ),
    "cpu": ("CPU", "CPU"),
    "memory": ("Bộ nhớ", "Memory"),
    "disk": ("Ổ đĩa", "Disk"),
    "link": ("Đường truyền", "Link"),
    "rtt": ("Độ trễ", "RTT"),
    "loss": ("Mất gói", "Loss"),
    "printers": ("Máy in và mực", "Printers and supplies"),
    "supply": ("Vật tư", "Supply"),
    "probes": ("Truy cập phần mềm dùng chung", "Access to the central systems"),
    "target": ("Hệ thống", "System"),
    "phase": ("Giai đoạn", "Phase"),
    "probe_ok": ("Truy cập được", "Reachable"),
    "probe_fail": ("Lỗi", "Failing"),
    "timeline": ("Diễn biến sự cố", "Incident timeline"),
    "events": ("Sự kiện", "Events"),
    "no_devices": ("Chưa có thiết bị nào báo cáo.", "No device has reported yet."),
    "reporting_chart": (
        "Tỉ lệ báo cáo nhận được theo giờ, 24 giờ qua",
        "Share of expected reports received per hour, last 24 h",
    ),
    "no_data": ("chưa có dữ liệu", "no data"),
    # availability (web.availability) and device history (web.history)
    "availability": ("Tỉ lệ hoạt động", "Availability"),
    "avail_today": ("Hôm nay", "Today"),
    "avail_7d": ("7 ngày", "7 days"),
    "avail_30d": ("30 ngày", "30 days"),
    "sort_availability": ("Hoạt động 30 ngày thấp nhất", "Lowest 30-day availability"),
    "availability_note": (
        "Tính từ các đợt mất kết nối toàn bộ điểm do hệ thống cảnh báo ghi nhận, "
        "kể từ khi xã có máy trạm đầu tiên.",
        "From the whole-site outages the alerting recorded, since the commune's first agent.",
    ),
    "device_history": ("Diễn biến thiết bị", "Device history"),
    "period": ("Khoảng thời gian", "Period"),
    "show": ("Xem", "Show"),
    "history_span_24h": ("24 giờ", "24 hours"),
    "history_span_7d": ("7 ngày", "7 days"),
    "history_probe_ms": ("Thời gian truy cập phần mềm (ms)", "Central software time (ms)"),
    "history_rtt_ms": ("Độ trễ đường truyền (ms)", "Link RTT (ms)"),
    "history_source": (
        "Từ nhật ký báo cáo của máy trạm (lưu {days} ngày), lấy mẫu đều theo số thứ tự báo cáo.",
        "From the agents' report journal (kept {days} days), sampled evenly by report sequence.",
    ),
    "history_none": (
        "Chưa có báo cáo nào của thiết bị trong khoảng này.",
        "No report of this device in this period.",
    ),
    # tickets
    "tickets_title": ("Phiếu sự cố", "Tickets"),
    "ticket": ("Phiếu", "Ticket"),
    "state": ("Tình trạng", "State"),
    "state_open": ("Đang mở", "Open"),
    "state_acknowledged": ("Đã nhận xử lý", "Acknowledged"),
    "state_resolved": ("Đã đóng", "Resolved"),
    "problem_class": ("Loại sự cố", "Problem class"),
    "owner": ("Đơn vị xử lý", "Owner"),
    "opened_at": ("Mở lúc", "Opened"),
    "since": ("Bắt đầu", "Since"),
    "respond_by": ("Hạn phản hồi", "Respond by"),
    "resolve_by": ("Hạn khắc phục", "Resolve by"),
    "sla_left": ("còn {time}", "{time} left"),
    "sla_over": ("quá hạn {time}", "{time} overdue"),
    "evidence": ("Bằng chứng", "Evidence"),
    "history": ("Lịch sử", "History"),
    "acknowledge": ("Nhận xử lý", "Acknowledge"),
    "comment": ("Ghi chú", "Comment"),
    "add_comment": ("Thêm ghi chú", "Add comment"),
    "resolve": ("Đóng phiếu", "Resolve"),
    "resolve_note": ("Cách khắc phục", "How it was fixed"),
    "no_tickets": ("Không có phiếu nào.", "No tickets."),
    "read_only": ("Bạn chỉ có quyền xem.", "You have read-only access."),
    "action_opened": ("mở phiếu", "opened"),
    "action_acknowledged": ("nhận xử lý", "acknowledged"),
    "action_commented": ("ghi chú", "commented"),
    "action_resolved": ("đóng phiếu", "resolved"),
    "action_reopened": ("mở lại", "reopened"),
    "action_reclassified": ("phân loại lại", "reclassified"),
    "action_breached": ("quá hạn SLA", "SLA breached"),
    "action_escalated": ("chuyển cấp trên", "escalated"),
    # fleet
    "fleet_title": ("Tài sản và kế hoạch thay thế", "Fleet and upgrade plan"),
    "register": ("Sổ tài sản", "Asset register"),
    "asset_tag": ("Mã tài sản", "Asset tag"),
    "brand_model": ("Hãng, kiểu", "Brand, model"),
    "room": ("Vị trí", "Room"),
    "put_into_use": ("Đưa vào sử dụng", "Put into use"),
    "age_years": ("Tuổi (năm)", "Age (years)"),
    "original_cost": ("Nguyên giá (đồng)", "Original cost (VND)"),
    "assets_total": ("{n} tài sản", "{n} assets"),
    "showing_first": ("Hiển thị {shown}/{total}", "Showing {shown} of {total}"),
    "budget": ("Ngân sách (đồng)", "Budget (VND)"),
    "make_plan": ("Lập kế hoạch", "Make the plan"),
    "download_xlsx": ("Tải về XLSX", "Download XLSX"),
    "plan_title": ("Kế hoạch thay thế trong ngân sách", "Replacements within the budget"),
    "spent": ("Đã dùng", "Spent"),
    "remaining": ("Còn lại", "Remaining"),
    "replacements": ("Số thiết bị thay", "Replacements"),
    "score": ("Điểm ưu tiên", "Priority score"),
    "price": ("Giá thay (đồng)", "Price (VND)"),
    "reason": ("Lý do", "Reason"),
    "reconciliation": ("Đối chiếu sổ tài sản với thiết bị phát hiện", "Register vs discovered"),
    "rec_matched": ("Khớp", "Matched"),
    "rec_mismatched": ("Khớp nhưng sai thông tin", "Matched with differences"),
    "rec_missing": ("Có trong sổ, chưa thấy trên mạng", "In the register, not seen"),
    "rec_unrecorded": ("Thấy trên mạng, chưa có trong sổ", "Seen, not in the register"),
    "rec_unrecorded_one": ("chưa ghi sổ", "not in the register"),
    "asset_title": ("Tài sản", "Asset"),
    "wear_title": ("Hao mòn theo năm tài chính", "Wear per fiscal year"),
    "year": ("Năm", "Year"),
    "rule_set": ("Văn bản áp dụng", "Rules"),
    "life_years": ("Thời gian sử dụng (năm)", "Useful life (years)"),
    "rate": ("Tỉ lệ (%/năm)", "Rate (%/year)"),
    "wear": ("Hao mòn", "Wear"),
    "accumulated": ("Lũy kế", "Accumulated"),
    "remaining_value": ("Giá trị còn lại", "Remaining value"),
    "projected": ("dự kiến", "projected"),
    "rules_tt23_2023": ("Thông tư 23/2023/TT-BTC", "Circular 23/2023/TT-BTC"),
    "rules_tt141_2025": ("Thông tư 141/2025/TT-BTC", "Circular 141/2025/TT-BTC"),
    "not_fixed_asset": (
        "Không phải tài sản cố định: không tính hao mòn.",
        "Not a fixed asset: no wear is computed.",
    ),
    "no_register": ("Chưa nhập sổ tài sản.", "No asset register imported yet."),
    # device and asset kinds (inventory.models.AssetKind, agent.wire.DeviceKind)
    "kind_pc": ("Máy tính", "PC"),
    "kind_printer": ("Máy in", "Printer"),
    "kind_mfp": ("Máy in đa năng", "Multifunction printer"),
    "kind_scanner": ("Máy quét", "Scanner"),
    "kind_router": ("Bộ định tuyến", "Router"),
    "kind_switch": ("Bộ chuyển mạch", "Switch"),
    "kind_firewall": ("Tường lửa", "Firewall"),
    "kind_access_point": ("Điểm truy cập Wi-Fi", "Wi-Fi access point"),
    "kind_ups": ("Bộ lưu điện", "UPS"),
    "kind_kiosk": ("Ki-ốt tra cứu", "Kiosk"),
    "kind_queue_machine": ("Máy xếp hàng", "Queue machine"),
    "kind_camera": ("Camera", "Camera"),
    "kind_nvr": ("Đầu ghi hình", "Video recorder"),
    "kind_video_conference": ("Thiết bị họp trực tuyến", "Video conference"),
    "kind_other": ("Khác", "Other"),
    # official reports (alerts.official_report; web/routes/reports.py, web/report_files.py)
    "nav_reports": ("Báo cáo", "Reports"),
    "rep_title": (
        "Báo cáo tình hình hoạt động hệ thống CNTT tại các xã, phường",
        "Report on the IT of the commune centres",
    ),
    "rep_heading": ("Báo cáo định kỳ", "Periodic reports"),
    "rep_kind": ("Loại kỳ", "Period kind"),
    "rep_kind_month": ("Tháng", "Month"),
    "rep_kind_quarter": ("Quý", "Quarter"),
    "rep_month": ("Tháng (YYYY-MM)", "Month (YYYY-MM)"),
    "rep_quarter": ("Quý", "Quarter"),
    "rep_format": ("Định dạng", "Format"),
    "rep_download": ("Tải báo cáo", "Download the report"),
    "rep_period": ("Kỳ báo cáo", "Period"),
    "rep_generated": ("Lập lúc", "Generated at"),
    "rep_partial": (
        "Kỳ báo cáo chưa kết thúc: số liệu tính đến {at}.",
        "The period is not over: figures up to {at}.",
    ),
    "rep_summary": ("Tổng hợp theo tỉnh", "Summary per province"),
    "rep_province": ("Tỉnh, thành phố", "Province"),
    "rep_monitored": ("Xã được giám sát", "Communes monitored"),
    "rep_open_hours": ("Giờ mở cửa (giờ)", "Opening hours (h)"),
    "rep_down_hours": ("Ngừng trong giờ mở cửa (giờ)", "Down in opening hours (h)"),
    "rep_availability": ("Tỉ lệ hoạt động (%)", "Availability (%)"),
    "rep_incidents": ("Sự cố", "Incidents"),
    "rep_tickets": ("Phiếu mở trong kỳ", "Tickets opened"),
    "rep_outages": ("Số lần mất kết nối", "Outages"),
    "rep_by_commune": ("Tỉ lệ hoạt động theo xã", "Availability per commune"),
    "rep_top_downtime": ("Các xã ngừng hoạt động lâu nhất", "Communes down longest"),
    "rep_rank": ("Hạng", "Rank"),
    "rep_by_class": ("Sự cố theo loại", "Incidents by class"),
    "rep_in_window": ("Trong thời gian bảo trì", "In maintenance"),
    "rep_communes_hit": ("Số xã bị ảnh hưởng", "Communes affected"),
    "rep_sla": ("Tuân thủ SLA theo đơn vị xử lý (hợp đồng)", "SLA compliance per owner (contract)"),
    "rep_owner_id": ("Mã đơn vị", "Owner id"),
    "rep_owner_kind": ("Loại", "Kind"),
    "rep_owner_team": ("Tổ, đơn vị", "Team"),
    "rep_owner_vendor": ("Nhà cung cấp", "Vendor"),
    "rep_sla_terms": ("SLA: phản hồi / khắc phục", "SLA: respond / resolve"),
    "rep_clock_24x7": ("24/7", "24/7"),
    "rep_clock_working_hours": ("giờ hành chính", "working hours"),
    "rep_resp_met": ("Phản hồi đúng hạn", "Responded in SLA"),
    "rep_resp_breached": ("Phản hồi quá hạn", "Response breached"),
    "rep_res_met": ("Khắc phục đúng hạn", "Resolved in SLA"),
    "rep_res_breached": ("Khắc phục quá hạn", "Resolution breached"),
    "rep_pending": ("Chưa đến hạn", "Not yet due"),
    "rep_resp_rate": ("Phản hồi đúng hạn (%)", "Response in SLA (%)"),
    "rep_res_rate": ("Khắc phục đúng hạn (%)", "Resolution in SLA (%)"),
    "rep_notices": ("Cảnh báo quá hạn trong kỳ", "Breach notices in the period"),
    "rep_longest": ("Xử lý lâu nhất (giờ)", "Longest resolution (h)"),
    "rep_longest_ticket": ("Phiếu xử lý lâu nhất", "Longest ticket"),
    "rep_ongoing": ("chưa xong", "ongoing"),
    "rep_no_rows": ("Không có số liệu trong kỳ.", "Nothing in this period."),
    "rep_definitions": ("Cách tính", "Definitions"),
    "rep_def_availability": (
        "Tỉ lệ hoạt động = 1 − thời gian mất kết nối toàn bộ điểm trong giờ mở cửa / giờ mở cửa "
        "kể từ báo cáo đầu tiên của xã (lịch làm việc: ngày lễ, ngày làm bù, giờ riêng của xã).",
        "Availability = 1 − time the whole site was offline in opening hours / opening hours "
        "since the commune's first report (working calendar: holidays, make-up days, "
        "per-commune hours).",
    ),
    "rep_def_sla": (
        "SLA tính trên các phiếu mở trong kỳ: đúng hạn khi được nhận xử lý (hoặc tự hết) trước "
        "hạn phản hồi và khắc phục trước hạn khắc phục, và chưa từng bị ghi quá hạn; chưa đến hạn "
        "khi hạn còn sau thời điểm lập báo cáo.",
        "SLA over the tickets opened in the period: met when acknowledged (or gone) before the "
        "respond-by time and resolved before the resolve-by time, never flagged as breached; "
        "not yet due while the deadline is after the report was made.",
    ),
    "rep_def_longest": (
        "Xử lý lâu nhất: từ lúc mở phiếu đến lúc đóng (giờ thực), hoặc đến lúc lập báo cáo "
        "nếu phiếu chưa đóng.",
        "Longest resolution: from opening to resolution (wall time), or to the report's time "
        "for a ticket still open.",
    ),
    # errors
    "error": ("Lỗi", "Error"),
    "forbidden": ("Bạn không có quyền xem trang này.", "You may not see this page."),
    "not_found": ("Không tìm thấy.", "Not found."),
    "csrf_refused": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và thử lại.",
        "The form has expired or is invalid. Reload the page and try again.",
    ),
    "bad_field": (
        "Trường '{field}' không hợp lệ: {message}",
        "Field '{field}' is invalid: {message}",
    ),
    "conflict": ("Không thực hiện được: {message}", "Not done: {message}"),
    "desk_disabled": (
        "Chức năng phiếu sự cố chưa bật trên máy chủ này.",
        "Tickets are not enabled on this collector.",
    ),
    "back": ("Quay lại", "Back"),
    "audit_title": ("Nhật ký thao tác", "Audit log"),
    "nav_users": ("Tài khoản", "Users"),
    "users_title": ("Tài khoản người dùng", "User accounts"),
    "display_name": ("Họ tên", "Display name"),
    "role": ("Vai trò", "Role"),
    "create_user": ("Tạo tài khoản", "Create user"),
    "disable": ("Khóa", "Disable"),
    "disabled": ("Đã khóa", "Disabled"),
    "active": ("Đang dùng", "Active"),
    "owner_hint": ("chỉ cho nhà cung cấp", "vendors only"),
    "cannot_disable_self": (
        "Không thể tự khóa tài khoản của mình.",
        "You cannot disable your own account.",
    ),
    "at": ("Thời điểm", "When"),
    "actor": ("Người thực hiện", "Who"),
    "action": ("Thao tác", "Action"),
    "detail": ("Chi tiết", "Detail"),
    # the signing chain and operating systems (issue 23; web/signing.py)
    "signing_chain": ("Chuỗi ký số tại quầy", "Signing chain at the counters"),
    "signing_plugin": ("Phần mềm ký số", "Signing plugin"),
    "usb_token": ("USB token", "USB token"),
    "cert_days_left": ("Chứng thư số (còn lại)", "Certificate (days left)"),
    "os": ("Hệ điều hành", "Operating system"),
    "plugin_ready": ("sẵn sàng", "ready"),
    "plugin_not_ready": ("không sẵn sàng", "not ready"),
    "plugin_no_answer": ("không trả lời", "no answer"),
    "token_present": ("đang cắm", "plugged in"),
    "token_absent": ("không có", "absent"),
    "token_unknown": ("không đọc được", "cannot be read"),
    "cert_days": ("còn {days} ngày", "{days} days left"),
    "cert_expired": ("đã hết hạn", "expired"),
    "last_seen": ("lần đọc trước", "last seen"),
    "os_unsupported": ("hệ điều hành hết hỗ trợ", "operating system out of support"),
    "os_supported_until": ("được hỗ trợ đến {date}", "supported until {date}"),
    "os_support_unknown": ("chưa rõ thời hạn hỗ trợ", "end of support not known"),
    "no_signing": (
        "Chưa máy nào báo cáo phần mềm ký số, USB token hay hệ điều hành.",
        "No PC reports signing plugins, USB tokens or its operating system yet.",
    ),
    "certs_month_title": (
        "Chứng thư số hết hạn trong tháng {month}",
        "Signing certificates expiring in {month}",
    ),
    "certs_left_this_month": ("còn hạn, hết trong tháng", "still valid, ending this month"),
    "certs_expired": ("đã hết hạn, vẫn trên token", "expired, still on a token"),
    "os_title": (
        "Máy tính dùng hệ điều hành hết hỗ trợ",
        "PCs on an operating system out of support",
    ),
    "os_known": ("Máy đã biết hệ điều hành", "PCs whose system is known"),
    "os_unsupported_count": ("Máy hết hỗ trợ", "PCs out of support"),
    "os_replace": ("Thay máy mới", "To replace"),
    "os_upgrade": ("Nâng cấp hoặc cập nhật", "To upgrade or update"),
    "os_total_cost": ("Tổng chi phí", "Total cost"),
    "os_ending_soon": ("Sắp hết hỗ trợ trong 12 tháng", "Support ending within a year"),
    "os_action_update": ("cập nhật phiên bản Windows mới", "feature update"),
    "os_action_upgrade": ("nâng cấp lên Windows 11", "upgrade to Windows 11"),
    "os_action_replace": ("thay máy mới", "replace the PC"),
    "end_of_support": ("Hết hỗ trợ từ", "Out of support since"),
    "cost": ("Chi phí", "Cost"),
    "os_source": (
        "Ngày hết hỗ trợ theo các trang vòng đời sản phẩm của Microsoft "
        "(inventory/os_support.yaml, phiên bản {version}); chi phí nâng cấp là ước tính.",
        "End-of-support dates from Microsoft's lifecycle pages "
        "(inventory/os_support.yaml, version {version}); upgrade costs are estimates.",
    ),
}


def translator(lang: Lang) -> Callable[..., str]:
    """``t(key, **fields)`` in ``lang``; an unknown key shows itself so a gap is visible."""
    index = LANGS.index(lang)

    def t(key: str, **fields: object) -> str:
        pair = MESSAGES.get(key)
        text = pair[index] if pair is not None else key
        return text.format(**fields) if fields else text

    return t


def problem_class_text(problem_class: str, lang: Lang) -> str:
    """A problem class in words (the ticket desk's own wording)."""
    pair = CLASS_TEXT.get(problem_class)
    if pair is None:
        return problem_class
    return pair[LANGS.index(lang)]


def local_time(at: datetime | None) -> str:
    """``at`` as users read it: 'HH:MM dd/mm/YYYY' in Vietnam time; '-' when unknown."""
    if at is None:
        return "-"
    return format_local(at)


def local_date(at: datetime | None) -> str:
    """The day of ``at`` in Vietnam, 'dd/mm/YYYY'."""
    if at is None:
        return "-"
    return at.astimezone(VN_TZ).strftime("%d/%m/%Y")


def duration_text(seconds: float, lang: Lang) -> str:
    """A span in days, hours and minutes ('2 ngày 3 giờ', '45 phút')."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    units = (("ngày", "d"), ("giờ", "h"), ("phút", "min"))
    parts = []
    for value, (vi, en) in zip((days, hours, mins), units, strict=True):
        if value:
            parts.append(f"{value} {vi}" if lang == "vi" else f"{value} {en}")
    return " ".join(parts[:2]) or ("0 phút" if lang == "vi" else "0 min")


def vnd(amount: float | None, lang: Lang) -> str:
    """An amount in đồng with the thousands separator of the language ('1.250.000')."""
    if amount is None:
        return "-"
    text = f"{round(amount):,}"
    return text.replace(",", ".") if lang == "vi" else text


def percent_text(share: float, lang: Lang) -> str:
    """A share 0..1 with one decimal, never rounded up to 100 % while anything was missing."""
    tenths = int(share * 1000 + 1e-9) / 10  # floor: 99.96 % reads 99.9 %, not a misleading 100 %
    text = f"{tenths:.1f} %"
    return text.replace(".", ",") if lang == "vi" else text


# Issue 22: commune staff, reports of people, first checks, answer links, the demo's mailbox.
MESSAGES.update(PEOPLE_MESSAGES)
