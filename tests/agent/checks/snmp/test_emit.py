"""agent.checks.snmp.emit: samples, events and skipped-value problems of one device poll."""

from __future__ import annotations

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.values import Missing, ObjectIdValue
from agent.wire import Severity


def test_samples_keep_their_order_and_labels() -> None:
    emit = Emitter()
    emit.sample("cpu_percent", 12.5, {"cpu": "1"})
    emit.sample("uptime_seconds", 30)
    assert [(s.name, s.value, dict(s.labels)) for s in emit.samples] == [
        ("cpu_percent", 12.5, {"cpu": "1"}),
        ("uptime_seconds", 30, {}),
    ]


def test_an_event_message_is_cut_to_2000_characters() -> None:
    emit = Emitter()
    emit.event("device_rebooted", Severity.WARNING, "x" * 5_000, {"uptime_seconds": "3"})
    emit.event("snmp_data_invalid", Severity.CRITICAL, "short")
    first, second = emit.events
    assert len(first.message) == 2_000
    assert first.attrs == {"uptime_seconds": "3"}
    assert (second.type, second.severity, second.message) == (
        "snmp_data_invalid",
        Severity.CRITICAL,
        "short",
    )
    assert second.attrs == {}


def test_an_invalid_value_names_the_full_oid_and_what_was_expected() -> None:
    emit = Emitter()
    emit.invalid((1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2), (196_608,), "a percentage 0..100", b"high")
    assert emit.problems == [
        "1.3.6.1.2.1.25.3.3.1.2.196608 should be a percentage 0..100, got b'high'"
    ]
    assert not emit.samples
    assert not emit.events


def test_a_missing_value_is_shown_by_its_rfc_name_and_long_values_are_cut() -> None:
    emit = Emitter()
    emit.invalid((1, 3), (1,), "an INTEGER", Missing.NO_SUCH_INSTANCE)
    emit.invalid((1, 3), (2,), "an INTEGER", b"z" * 500)
    emit.invalid((1, 3), (), "an INTEGER", None)
    emit.invalid((1, 3), (4,), "an INTEGER", ObjectIdValue((1, 3, 6)))
    assert emit.problems[0] == "1.3.1 should be an INTEGER, got 'noSuchInstance'"
    # The shown value is cut at 60 characters whatever the device sent.
    assert emit.problems[1] == "1.3.2 should be an INTEGER, got " + repr(b"z" * 500)[:60]
    assert emit.problems[2] == "1.3 should be an INTEGER, got None"
    assert emit.problems[3].startswith("1.3.4 should be an INTEGER, got ")


def test_emitters_do_not_share_state() -> None:
    one, other = Emitter(), Emitter()
    one.sample("snmp_up", 1)
    one.invalid((1,), (1,), "x", 1)
    assert not other.samples
    assert not other.problems
