import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import AsyncClient

from tessera.core.ratelimit import alimit_hit, ip_hash, limit_hit

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.urls")]

WINDOW_START = 1_900_000_020.0  # a multiple of 60


def run(coroutine_function):
    """Run async code on its own loop (a browser test may have left one running in this thread)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine_function()).result()


def hits(count, *, scope="test", key="k", limit=3, period=60, now=WINDOW_START):
    return [limit_hit(scope=scope, key=key, limit=limit, period=period, now=now) for _ in range(count)]


def test_limit_hit_allows_up_to_the_limit_in_one_window():
    verdicts = hits(4)
    assert [v.allowed for v in verdicts] == [True, True, True, False]


def test_retry_after_counts_the_seconds_left_in_the_window():
    (verdict,) = hits(1, limit=0, now=WINDOW_START + 45.5)
    assert not verdict.allowed
    assert verdict.retry_after == 15
    (verdict,) = hits(1, limit=0, now=WINDOW_START + 59.9)
    assert verdict.retry_after == 1


def test_a_new_window_starts_afresh():
    hits(4, now=WINDOW_START + 10)
    assert [v.allowed for v in hits(1, now=WINDOW_START + 59)] == [False]
    assert [v.allowed for v in hits(3, now=WINDOW_START + 60)] == [True, True, True]


def test_keys_and_scopes_are_counted_apart():
    hits(4, key="a")
    assert hits(1, key="b")[0].allowed
    assert hits(1, key="a", scope="other")[0].allowed
    assert not hits(1, key="a")[0].allowed


def test_ip_hash_is_stable_keyed_and_not_the_address():
    assert ip_hash("192.0.2.1") == ip_hash("192.0.2.1")
    assert ip_hash("192.0.2.1") != ip_hash("192.0.2.2")
    assert "192.0.2.1" not in ip_hash("192.0.2.1")


def test_async_variant_shares_the_windows_of_the_sync_one():
    async def scenario():
        return [
            (await alimit_hit(scope="test", key="k", limit=3, period=60, now=WINDOW_START)).allowed
            for _ in range(2)
        ]

    hits(1)
    assert run(scenario) == [True, True]
    assert [v.allowed for v in hits(1)] == [False]


def test_rate_limited_view_answers_429_with_retry_after(client, time_machine):
    time_machine.move_to(WINDOW_START + 20, tick=False)
    assert [client.post("/_test/limited/").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.post("/_test/limited/")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    assert "core/error.html" in [t.name for t in refused.templates]
    assert client.get("/_test/limited/").status_code == 200  # only the listed methods count
    # Another address has its own allowance.
    assert client.post("/_test/limited/", REMOTE_ADDR="198.51.100.9").status_code == 200

    time_machine.shift(40)
    assert client.post("/_test/limited/").status_code == 200


def test_rate_limited_view_keyed_by_something_else_than_the_address(client, time_machine):
    time_machine.move_to(WINDOW_START, tick=False)
    statuses = [
        client.post(
            "/_test/limited-by-email/", {"email": "Ada@example.org"}, REMOTE_ADDR=f"192.0.2.{i}"
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert client.post("/_test/limited-by-email/", {"email": "bob@example.org"}).status_code == 200


def test_limits_can_be_changed_by_settings(client, settings, time_machine):
    time_machine.move_to(WINDOW_START, tick=False)
    settings.TESSERA_RATE_LIMITS = {"test.per_ip": (1, 10)}
    assert [client.post("/_test/limited/").status_code for _ in range(2)] == [200, 429]


async def _post_twice():
    client = AsyncClient()
    return [(await client.post("/_test/limited-async/")) for _ in range(2)]


def test_rate_limited_async_view(time_machine):
    time_machine.move_to(WINDOW_START, tick=False)
    first, second = run(_post_twice)
    assert first.status_code == 200
    assert second.status_code == 429
    assert second["Retry-After"] == "60"


def test_ipv6_clients_are_counted_by_their_64_and_ipv4_clients_by_their_address():
    assert ip_hash("2001:db8:1:2::1") == ip_hash("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert ip_hash("2001:db8:1:2::1") == ip_hash("2001:DB8:1:2:0:0:0:99")
    assert ip_hash("2001:db8:1:2::1") != ip_hash("2001:db8:1:3::1")
    assert ip_hash("::ffff:192.0.2.1") == ip_hash("192.0.2.1")
    assert ip_hash("192.0.2.1") != ip_hash("192.0.2.2") and ip_hash("192.0.2.1") != ip_hash("192.0.2.0")


def test_a_limited_view_refuses_the_next_address_of_the_same_64_but_not_another_64(client, time_machine):
    time_machine.move_to(WINDOW_START, tick=False)
    statuses = [
        client.post("/_test/limited/", REMOTE_ADDR=f"2001:db8:5:6::{n}").status_code for n in (1, 2, 3)
    ]
    assert statuses == [200, 200, 429]
    assert client.post("/_test/limited/", REMOTE_ADDR="2001:db8:5:7::1").status_code == 200
    assert client.post("/_test/limited/", REMOTE_ADDR="192.0.2.10").status_code == 200
