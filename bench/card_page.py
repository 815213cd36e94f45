"""The public card page against nginx serving the same HTML as a static file, both measured with wrk.

All servers listen on loopback with the same number of processes (one per CPU, at most 4). The app is
the product server as `make run` starts it (`manage.py serve --workers N`: the whole product, the card
page fast path and the in-process task worker) on SQLite with the embedded defaults, once with granian
and once with uvicorn (`--server`); nginx serves a snapshot of the card's HTML, measured before and after
the two (the reference is the mean of both). The ratios are each server's throughput to nginx's at full
load; `card_page_throughput_ratio` is granian's, the server a node serving card pages runs. The p99 is that
server's latency at a paced 500 requests per second (a wrk Lua script spaces each connection's requests).

    .venv/bin/python bench/card_page.py [--busy]   # needs Debian's wrk and nginx (installs them as root)

Prints `card_page_nginx_rps`, `card_page_rps_<server>`, `card_page_throughput_ratio_<server>`,
`card_page_throughput_ratio`, `card_page_p99_ms_at_500rps` and the load average. About 90 s.
"""

# ruff: noqa: S603, S607 (the benchmark runs fixed local commands: wrk, nginx, uvicorn, apt-get)

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _busy import bench_arguments, busy, load_average, load_lines, ratio  # noqa: E402

# Both are measured in every run; the first is the one a node serving card pages runs
# (`manage.py serve --server granian`, deploy/), whose ratio is `card_page_throughput_ratio`.
SERVERS = ("granian", "uvicorn")
DEFAULT_SERVER = SERVERS[0]

DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = 64
PACED_CONNECTIONS = 10
# wrk's own threads: enough to saturate nginx on this many CPUs, the same for both servers.
THREADS = max(2, min(4, os.cpu_count() or 1))


def django_setup(prefix: str) -> Path:
    """A throw-away SQLite database and var/ directory, with the embedded defaults of base.py."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["TESSERA_VAR_DIR"] = str(tmp)
    os.environ.setdefault("TESSERA_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnop")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tessera.settings.base"
    os.environ["TESSERA_LOG_LEVEL"] = "ERROR"
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return tmp


def _need(binary: str, package: str) -> str:
    found = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if found:
        return found
    if os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, stdout=subprocess.DEVNULL)
        return shutil.which(binary) or f"/usr/sbin/{binary}"
    sys.exit(f"{binary} is missing: apt-get install {package}")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _card() -> str:
    from tessera.accounts import services as accounts_services
    from tessera.accounts.models import User
    from tessera.cards import services

    owner = User.objects.create_user("bench@example.org", "bench-password-0123")
    organisation = accounts_services.organisation_create(owner=owner, name="Bench")
    card = owner.cards.get(organisation=organisation)
    services.card_update(
        card=card,
        changes={
            "first_name": "Camille",
            "last_name": "Martin",
            "job_title": "Head of sales",
            "phones": [
                {"kind": "work", "number": "+33123456789"},
                {"kind": "mobile", "number": "+33612345678"},
            ],
            "emails": [{"kind": "work", "address": "camille@example.org"}],
            "website": "https://example.org",
            "links": [{"label": "LinkedIn", "url": "https://www.linkedin.com/in/camille"}],
            "bio": "Twenty years of helping customers find the right tool.",
        },
    )
    return card.slug


def _wrk(wrk: str, url: str, *, connections: int, script: str | None = None) -> tuple[float, float]:
    threads = min(THREADS, connections)
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{DURATION}", "--latency", url]
    if script:
        command[1:1] = ["-s", script]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    if re.search(r"Non-2xx or 3xx responses", out):
        import httpx

        sample = httpx.get(url)
        raise RuntimeError(f"errors from {url} ({sample.status_code}):\n{out}\n{sample.text[:500]}")
    return rps, p99


def _serve(server: str, port: int, processes: int) -> subprocess.Popen:
    """The product server as `make run` starts it, with the ASGI server named."""
    env = {**os.environ, "TESSERA_ALLOWED_HOSTS": "127.0.0.1"}
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(processes), "--server", server]
    app = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    _wait(port)
    return app


def _stop(app: subprocess.Popen) -> None:
    app.send_signal(signal.SIGINT)  # Ctrl-C: the server stops its workers, then the task worker stops
    try:
        app.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(app.pid, signal.SIGKILL)
        app.wait(timeout=10)


def _warm(port: int, slug: str, processes: int) -> bytes:
    import httpx

    # The first request of each worker process renders the page; later ones come from its fast path.
    for _ in range(4 * processes):
        page = httpx.get(f"http://127.0.0.1:{port}/c/{slug}", headers={"Accept-Language": "fr"})
        page.raise_for_status()
        assert "set-cookie" not in page.headers
    return page.content


def main() -> None:
    args = bench_arguments(__doc__)
    wrk = _need("wrk", "wrk")
    nginx = _need("nginx", "nginx-light")
    tmp = django_setup("tessera-bench-card-")
    slug = _card()
    processes = max(1, min(4, os.cpu_count() or 1))
    www = tmp / "www" / "c"
    www.mkdir(parents=True)
    conf = tmp / "nginx.conf"
    nginx_port = _port()
    url = f"http://127.0.0.1:{{port}}/c/{slug}"
    app_rps, p99, paced_rps = {}, None, None
    with busy(args.busy):
        load_before = load_average()
        try:
            app = _serve(DEFAULT_SERVER, port := _port(), processes)
            try:
                page = _warm(port, slug, processes)
            finally:
                _stop(app)
            (www / slug).write_bytes(page)
            # nginx's workers drop root privileges: let them read the snapshot (and nothing else of tmp).
            tmp.chmod(0o711)
            for path in (www.parent, www, www / slug):
                path.chmod(0o755 if path.is_dir() else 0o644)
            conf.write_text(
                f"""worker_processes {processes};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log error;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type text/html;
  server {{ listen 127.0.0.1:{nginx_port}; root {tmp / "www"}; }}
}}
"""
            )
            subprocess.run([nginx, "-c", str(conf), "-e", str(tmp / "nginx-error.log")], check=True)
            _wait(nginx_port)
            pace = Path(tempfile.mkstemp(suffix=".lua", dir=tmp)[1])
            # Each of the paced connections waits so that together they send about 500 requests per second.
            pace.write_text(f"function delay() return {1000 * PACED_CONNECTIONS // 500} end\n")

            # nginx before and after the two servers: a drift of the machine's speed weighs on all alike.
            nginx_rps = [_wrk(wrk, url.format(port=nginx_port), connections=CONNECTIONS)[0]]
            for server in SERVERS:
                app = _serve(server, port := _port(), processes)
                try:
                    assert _warm(port, slug, processes) == page, f"{server} serves another page"
                    app_rps[server], _ = _wrk(wrk, url.format(port=port), connections=CONNECTIONS)
                    if server == DEFAULT_SERVER:
                        paced_rps, p99 = _wrk(
                            wrk, url.format(port=port), connections=PACED_CONNECTIONS, script=str(pace)
                        )
                finally:
                    _stop(app)
            nginx_rps.append(_wrk(wrk, url.format(port=nginx_port), connections=CONNECTIONS)[0])
        finally:
            if (tmp / "nginx.pid").exists():
                subprocess.run(
                    [nginx, "-c", str(conf), "-s", "stop", "-e", str(tmp / "nginx-error.log")], check=False
                )
            shutil.rmtree(tmp, ignore_errors=True)
        load_after = load_average()
    reference = sum(nginx_rps) / len(nginx_rps)
    print(
        f"# {processes} processes each; wrk -t{THREADS} -c{CONNECTIONS} -d{DURATION}; page {len(page)} bytes;"
        f" nginx {' and '.join(f'{r:.0f}' for r in nginx_rps)} req/s;"
        + "".join(f" {server} {rps:.0f} req/s;" for server, rps in app_rps.items())
        + f" paced run {paced_rps:.0f} req/s ({DEFAULT_SERVER})",
        file=sys.stderr,
    )
    print(f"card_page_nginx_rps: {reference:.0f}")
    for server in SERVERS:
        print(f"card_page_rps_{server}: {app_rps[server]:.0f}")
        print(f"card_page_throughput_ratio_{server}: {ratio(app_rps[server], reference):.3f}")
    print(f"card_page_throughput_ratio: {ratio(app_rps[DEFAULT_SERVER], reference):.3f}")
    print(f"card_page_p99_ms_at_500rps: {p99:.2f}")
    print(load_lines(load_before, load_after))
    print(f"# busy core: {args.busy}")


if __name__ == "__main__":
    main()
