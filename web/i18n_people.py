"""The console's words for the people's side (issue 22): commune staff, reports, first checks,
answer links, the demo's mailbox. Vietnamese first (with diacritics) and English; merged into
``web.i18n.MESSAGES``, kept apart to keep that module small."""

from __future__ import annotations

PEOPLE_MESSAGES: dict[str, tuple[str, str]] = {
    "role_commune": ("Cán bộ xã", "Commune staff"),
    "nav_report": ("Phản ánh sự cố", "Report a problem"),
    "nav_mailbox": ("Hộp thư", "Mailbox"),
    "communes_hint": (
        "chỉ cho cán bộ xã: mã xã, cách nhau dấu phẩy",
        "commune staff only: codes, comma-separated",
    ),
    "action_reported": ("ghi nhận phản ánh", "report added"),
    "report_title": ("Phản ánh sự cố", "Report a problem"),
    "report_intro": (
        "Ghi lại sự cố người dân hoặc cán bộ gặp tại bộ phận một cửa. Nếu đã có phiếu cho "
        "sự cố này, phản ánh được ghi vào phiếu đó.",
        "Record a problem people meet at the one-stop counter. If a ticket already covers it, "
        "the report is added to that ticket.",
    ),
    "report_pick_commune": ("Chọn xã", "Choose commune"),
    "report_category": ("Loại sự cố", "Kind of problem"),
    "report_description": ("Mô tả sự cố", "What happens"),
    "report_message_hint": (
        "bắt buộc với “Phần mềm báo lỗi”: chép nguyên văn",
        "required for “The software shows an error”: copy it exactly",
    ),
    "optional": ("không bắt buộc", "optional"),
    "report_device_unknown": ("— không rõ —", "— not known —"),
    "counter": ("Quầy", "Counter"),
    "reporter_name": ("Họ tên người phản ánh", "Reporter's name"),
    "reporter_phone": ("Số điện thoại liên hệ", "Phone number to call back"),
    "report_send": ("Gửi phản ánh", "Send the report"),
    "report_received": ("Đã tiếp nhận phản ánh", "Report received"),
    "report_another": ("Phản ánh sự cố khác", "Report another problem"),
    "report_new": ("+ Phản ánh sự cố", "+ Report a problem"),
    "reported_tag": ("Phản ánh", "Reported"),
    "reports_title": ("Phản ánh của người dùng", "Reports from people"),
    "reporter": ("Người phản ánh", "Reporter"),
    "entered_by": ("Người nhập", "Entered by"),
    "report_joined": ("ghi vào phiếu đang mở", "added to the open ticket"),
    "error_message": ("Nội dung lỗi", "Error message"),
    "runbook_title": ("Việc cần kiểm tra trước", "First checks"),
    "runbook_staff": ("Cán bộ xã kiểm tra trước", "Commune staff, check first"),
    "runbook_technician": ("Kỹ thuật viên kiểm tra", "Technician, check"),
    "link_ack_title": ("Nhận xử lý phiếu", "Acknowledge ticket"),
    "link_resolve_title": ("Đóng phiếu", "Resolve ticket"),
    "link_ack_button": ("Nhận xử lý", "Acknowledge"),
    "link_resolve_button": ("Đã xử lý xong, đóng phiếu", "Resolved: close the ticket"),
    "link_once": (
        "Liên kết này chỉ dùng được một lần và hết hạn sau 72 giờ.",
        "This link works once and expires 72 hours after it was sent.",
    ),
    "link_done_title": ("Đã ghi nhận", "Done"),
    "link_done_ack": ("Đã nhận xử lý phiếu #{id}", "Ticket #{id} acknowledged"),
    "link_done_resolve": ("Đã đóng phiếu #{id}", "Ticket #{id} resolved"),
    "link_already": ("Phiếu #{id} đang ở trạng thái: {state}", "Ticket #{id} is {state}"),
    "link_nothing_changed": ("Không có gì thay đổi.", "Nothing was changed."),
    "link_open_console": ("Mở trang quản trị", "Open the console"),
    "link_altered": ("Liên kết không hợp lệ", "This link is not valid"),
    "link_altered_why": (
        "Liên kết bị thay đổi hoặc không do hệ thống này tạo ra. Hãy mở đúng liên kết trong "
        "thư, hoặc đăng nhập trang quản trị.",
        "The link was altered or was not made by this system. Open the link exactly as the "
        "message gives it, or log in to the console.",
    ),
    "link_expired": ("Liên kết đã hết hạn", "This link has expired"),
    "link_expired_why": (
        "Liên kết chỉ dùng được trong 72 giờ kể từ khi thư được gửi. Hãy đăng nhập trang quản "
        "trị để xử lý phiếu.",
        "Links work for 72 hours after the message was sent. Log in to the console to act on "
        "the ticket.",
    ),
    "link_used": ("Liên kết đã được dùng", "This link was already used"),
    "link_used_why": (
        "Mỗi liên kết chỉ dùng được một lần. Hãy đăng nhập trang quản trị để xem phiếu.",
        "Each link works once. Log in to the console to see the ticket.",
    ),
    "link_moved": ("Phiếu đã chuyển đơn vị khác", "The ticket moved to another owner"),
    "link_moved_why": (
        "Phiếu này nay thuộc đơn vị xử lý khác, nên liên kết gửi cho đơn vị cũ không còn tác dụng.",
        "The ticket now belongs to another owner, so links sent to the former owner no longer act.",
    ),
    "mailbox_title": ("Hộp thư", "Mailbox"),
    "mailbox_intro": (
        "Thư hệ thống đã gửi (bản chạy thử): mỗi hộp là địa chỉ nhận của một đơn vị xử lý. "
        "Các nút trong thư hoạt động như trên điện thoại của kỹ thuật viên.",
        "What the system sent (demo): each box is an owner's address. The buttons in a message "
        "work as they would on a technician's phone.",
    ),
    "mailbox_readers": ("người đọc", "read by"),
    "mailbox_messages": ("thư", "messages"),
    "mailbox_body": ("Nội dung thư", "Message text"),
    "mailbox_empty": ("Chưa có thư nào.", "No message yet."),
}
