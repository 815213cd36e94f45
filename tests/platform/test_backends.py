"""The environment switches the embedded engines for real ones; these tests start the real ones."""

import json
import os
import subprocess
import sys

import pytest

from .nodes import ROOT, Redis


@pytest.fixture
def redis_url(tmp_path):
    server = Redis(tmp_path).start()
    yield server.url
    server.stop()


PROBE = """
import asyncio, json, django
django.setup()
from django.conf import settings
from django.core.cache import cache
from channels.layers import get_channel_layer
from huey.contrib.djhuey import HUEY

cache.set("probe", "cached", 30)
layer = get_channel_layer()

async def roundtrip():
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "probe", "text": "hello"})
    return (await layer.receive(channel))["text"]

HUEY.storage.enqueue(b"probe-task")
print(json.dumps({
    "cache_backend": settings.CACHES["default"]["BACKEND"],
    "cache_value": cache.get("probe"),
    "layer": type(layer).__name__,
    "layer_roundtrip": asyncio.run(roundtrip()),
    "huey": type(HUEY).__name__,
    "queued": HUEY.storage.queue_size(),
}))
"""


def _probe(env_extra: dict, tmp_path) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tessera.settings.base",
        "TESSERA_VAR_DIR": str(tmp_path),
        **env_extra,
    }
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_redis_url_switches_cache_channel_layer_and_task_queue_to_a_real_redis(redis_url, tmp_path):
    result = _probe({"REDIS_URL": redis_url}, tmp_path)
    assert result == {
        "cache_backend": "django.core.cache.backends.redis.RedisCache",
        "cache_value": "cached",
        "layer": "RedisChannelLayer",
        "layer_roundtrip": "hello",
        "huey": "PriorityRedisHuey",
        "queued": 1,
    }


def test_embedded_defaults_need_no_service(tmp_path):
    result = _probe({"REDIS_URL": ""}, tmp_path)
    assert result["layer"] == "InMemoryChannelLayer"
    assert result["huey"] == "SqliteHuey"
    assert result["layer_roundtrip"] == "hello"
    assert result["queued"] == 1
    assert (tmp_path / "huey.sqlite3").exists()


def test_sqlite_runs_in_wal_mode(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tessera.settings.base", "TESSERA_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    code = "import django; django.setup(); from django.db import connection; c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "wal", out.stderr
