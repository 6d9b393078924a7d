"""API overhead: `POST /api/v1/validate` with auth and rate limits against a bare FastAPI
endpoint doing the same validation, both under uvicorn (one worker each) in the same run.

The difference is what the API stack adds per request: request-id and body-limit middleware,
JWT verification plus the revocation lookup (one SQLite query), the rate-limit hit (in memory,
or Redis with --redis) and the problem-aware error plumbing. Limits are set high enough never to
trip.

    python benchmarks/api.py [--seconds 5] [--concurrency 16] [--redis redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

REPO = Path(__file__).resolve().parents[1]
SPEC = (REPO / "examples" / "lead_intake.yaml").read_text()


def bare_app() -> FastAPI:
    """The baseline: the same validation call, no middleware, auth or limits."""
    from starlette.concurrency import run_in_threadpool

    from app.tools.registry import Catalog
    from app.workflow.validator import validate_text

    app = FastAPI()
    catalog = Catalog.builtin()

    @app.post("/validate")
    async def validate(request: Request) -> dict:
        report = await run_in_threadpool(validate_text, await request.body(), catalog)
        return {"ok": report.ok, "diagnostics": [d.model_dump() for d in report.diagnostics]}

    return app


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died")
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


async def _load(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for _ in range(20):  # warm-up: connections, caches, the catalog
            await client.post(url, content=SPEC, headers=headers)
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                response = await client.post(url, content=SPEC, headers=headers)
                latencies.append(time.perf_counter() - t0)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "requests": len(latencies),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--redis", default=None, help="Rate-limit storage URL (default memory).")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWWRIGHT_")}
    high = "1000000/minute"
    env.update(
        FLOWWRIGHT_HOME=str(tmp),
        FLOWWRIGHT_DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
        FLOWWRIGHT_JWT_SECRET=secrets.token_urlsafe(48),
        FLOWWRIGHT_RATE_LIMIT_VALIDATION=high,
        FLOWWRIGHT_RATE_LIMIT_ANONYMOUS=high,
        FLOWWRIGHT_RATE_LIMIT_KEY_PREFIX=f"fwbench-{uuid.uuid4().hex}",
        PYTHONPATH=str(REPO),
    )
    if args.redis:
        env["FLOWWRIGHT_REDIS_URL"] = args.redis
    api_port, bare_port = _port(), _port()
    uvicorn = [sys.executable, "-m", "uvicorn", "--log-level", "warning", "--no-access-log"]
    procs = []
    try:
        procs.append(
            _start(
                [
                    *uvicorn,
                    *("--factory", "app.api.app:create_app", "--port", str(api_port)),
                ],
                env,
                api_port,
            )
        )
        procs.append(
            _start(
                [*uvicorn, *("--factory", "benchmarks.api:bare_app", "--port", str(bare_port))],
                env,
                bare_port,
            )
        )
        sys.path.insert(0, str(REPO))
        from app.services.auth import create_user

        create_user(env["FLOWWRIGHT_DATABASE_URL"], "bench", "bench-password", scopes=["read"])
        token = httpx.post(
            f"http://127.0.0.1:{api_port}/api/v1/auth/token",
            json={"grant_type": "password", "username": "bench", "password": "bench-password"},
        ).json()["access_token"]
        yaml = {"Content-Type": "application/yaml"}
        auth = {**yaml, "Authorization": f"Bearer {token}"}
        api = asyncio.run(
            _load(
                f"http://127.0.0.1:{api_port}/api/v1/validate",
                auth,
                args.seconds,
                args.concurrency,
            )
        )
        bare = asyncio.run(
            _load(f"http://127.0.0.1:{bare_port}/validate", yaml, args.seconds, args.concurrency)
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
    storage = "redis" if args.redis else "memory"
    print(
        f"POST validate, {args.concurrency} concurrent, {args.seconds:.0f}s each, "
        f"limits in {storage}"
    )
    for name, r in (("flowwright api", api), ("bare fastapi", bare)):
        print(
            f"  {name:15s} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.1f} ms  "
            f"p99 {r['p99_ms']:6.1f} ms  ({r['requests']} requests, {r['errors']} errors)"
        )
    print(f"  throughput ratio api/bare: {api['rps'] / bare['rps']:.2f}")
    print(f"  p50 latency ratio api/bare: {api['p50_ms'] / bare['p50_ms']:.2f}")
    return 1 if api["errors"] or bare["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
