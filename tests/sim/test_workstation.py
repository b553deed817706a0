"""What is installed on a counter PC (sim/workstation.py): the same setup for the same seed, a
public room's PC without signing, clerks' tokens whose certificates are renewed before they
expire, and the facts the agent's host check sends."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sim.workstation import (
    AUTHORITIES,
    GIB,
    PUBLIC_ROOM_PREFIX,
    Token,
    draw_setup,
    holder_name,
    host_facts,
)

AT = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)


def _token(life_days: int = 365, renew_days: int = 40, offset_days: float = 0.0) -> Token:
    return Token(
        authority=AUTHORITIES["VNPT-CA"],
        serial="0123456789ABCDEF",
        holder="Nguyễn Thị Hoa",
        life=timedelta(days=life_days),
        renew_before=timedelta(days=renew_days),
        offset=timedelta(days=offset_days),
        takes_home=False,
    )


def test_the_same_seed_and_tag_give_the_same_setup() -> None:
    first = draw_setup("13285-MT-01", "Quầy 1", "Dell", 3.0, 8, seed=7)
    assert first == draw_setup("13285-MT-01", "Quầy 1", "Dell", 3.0, 8, seed=7)
    others = {
        draw_setup(f"13285-MT-{n:02d}", "Quầy 1", "Dell", 3.0, 8, seed=7).mac for n in range(20)
    }
    assert len(others) == 20
    assert first.mac.startswith("00:")
    assert len(first.mac.split(":")) == 6
    # Windows reports the memory less what the integrated graphics reserve.
    assert 8 * GIB - 512 * 1024**2 <= first.ram_total_bytes < 8 * GIB
    assert first.cores_logical >= first.cores_physical >= 1


def test_a_public_rooms_pc_signs_nothing() -> None:
    for n in range(30):
        setup = draw_setup(f"T-{n}", f"{PUBLIC_ROOM_PREFIX} 1", "HP", 2.0, 8, seed=1)
        assert (setup.bridges, setup.modules, setup.token) == (frozenset(), (), None)


def test_most_counter_pcs_sign_with_a_token_of_a_known_authority() -> None:
    setups = [draw_setup(f"T-{n}", "Quầy 2", "HP", 2.0, 8, seed=3) for n in range(200)]
    tokens = [s.token for s in setups if s.token is not None]
    assert 150 < len(tokens) < 200  # about nine in ten sign
    for setup in setups:
        if setup.token is not None:
            assert setup.token.authority in setup.modules
            assert setup.token.authority is AUTHORITIES[setup.token.authority.ca]
    assert {t.authority.ca for t in tokens} >= {"VGCA", "VNPT-CA"}


def test_a_certificate_is_renewed_before_it_expires() -> None:
    token = _token(offset_days=100.0)
    assert token.period == timedelta(days=325)
    generation = token.generation(AT)
    serial, expires = token.certificate(generation)
    # The certificate on the token now is valid now, and the next is issued before it expires.
    assert expires - token.life <= AT < expires
    next_serial, next_expires = token.certificate(generation + 1)
    assert next_expires - token.life == expires - token.renew_before
    assert next_serial != serial
    assert token.generation(expires - token.renew_before) == generation + 1
    assert token.cert_serial(generation) == serial  # stable
    assert serial.startswith("5401")
    assert len(serial) == 32
    vgca = Token(
        AUTHORITIES["VGCA"], "AA", "x", token.life, token.renew_before, token.offset, False
    )
    assert len(vgca.cert_serial(0)) == 16
    assert vgca.cert_serial(0).startswith("540E")


def test_a_holder_has_three_names_or_more() -> None:
    rng = random.Random(5)
    names = [holder_name(rng) for _ in range(50)]
    assert all(len(name.split()) >= 3 for name in names)
    assert len(set(names)) > 30
    assert any(not name.isascii() for name in names)  # with diacritics


def test_the_host_facts_are_the_host_checks_and_bounded() -> None:
    setup = draw_setup("13285-MT-01", "Quầy 1", "Dell", 3.0, 8, seed=7)
    facts = host_facts("13285-mt-01", "SN-1", "OptiPlex 7090", setup, "10.0.0.101")
    assert facts["hostname"] == "13285-mt-01"
    assert facts["ram_total_bytes"] == str(setup.ram_total_bytes)
    assert facts["mac_addresses"] == setup.mac
    assert facts["ip_addresses"] == "10.0.0.101"
    assert (facts["serial"], facts["model"]) == ("SN-1", "OptiPlex 7090")
    assert all(value for value in facts.values())
    no_serial = host_facts("h", "", "m", setup, "10.0.0.1")
    assert "serial" not in no_serial
