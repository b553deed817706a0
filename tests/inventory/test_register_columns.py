"""Register columns: every header is accepted for one field only, whatever its spelling."""

from __future__ import annotations

from inventory.register_columns import (
    FIELDS_BY_HEADER,
    REGISTER_FIELDS,
    TAG_HEADERS,
    field_of,
    normalize_header,
)


def test_every_field_has_distinct_headers() -> None:
    seen: set[str] = set()
    for spec in REGISTER_FIELDS:
        accepted = spec.accepted()
        assert not accepted & seen, spec.key
        seen |= accepted
    assert normalize_header("Nguyên giá (VNĐ)") == "nguyengiavnd"
    assert normalize_header("Mã xã") == "maxa"


def test_headers_match_whatever_the_case_diacritics_or_punctuation() -> None:
    spellings = ["Mã tài sản", "MÃ TÀI SẢN", "ma tai san", "Mã-tài-sản", "Asset tag", "asset_tag"]
    assert {normalize_header(text) for text in spellings} <= TAG_HEADERS
    assert FIELDS_BY_HEADER[normalize_header("nguyen gia")] is field_of("original_cost")
    assert FIELDS_BY_HEADER[normalize_header("Đơn vị cũ")].key == "previous_owner"
    assert normalize_header("Ghi chú") not in FIELDS_BY_HEADER


def test_required_fields_are_the_ones_a_wear_schedule_needs() -> None:
    required = [spec.key for spec in REGISTER_FIELDS if spec.required]
    assert required == ["asset_tag", "kind", "commune_code", "put_into_use"]
