"""A bounded pool: beyond workers + queue, requests get 503 with Retry-After at once."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from service.app import create_app
from service.pool import GenerationPool, OverloadedError


def test_pool_refuses_beyond_its_queue() -> None:
    pool = GenerationPool(workers=1, queue=1)
    release = threading.Event()
    running = [pool.submit(release.wait), pool.submit(release.wait)]
    with pytest.raises(OverloadedError) as refused:
        pool.submit(release.wait)
    assert refused.value.retry_after >= 1
    release.set()
    for future in running:
        future.result(timeout=5)
    pool.submit(lambda: None).result(timeout=5)
    assert pool.in_system == 0
    pool.shutdown()


@pytest.mark.slow
def test_http_503_with_retry_after(app, service_settings) -> None:
    settings = service_settings.model_copy(update={"generation_queue": 0})
    tiny = create_app(settings, runtime=app.state.runtime)

    async def three_at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=tiny)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", timeout=120
        ) as client:
            body = {"question": "Where does the Rhine rise?", "max_new_tokens": 12}
            return await asyncio.gather(*(client.post("/ask", json=body) for _ in range(3)))

    responses = asyncio.run(three_at_once())
    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 200 and 503 in codes
    refused = next(r for r in responses if r.status_code == 503)
    assert int(refused.headers["retry-after"]) >= 1
    assert "busy" in refused.json()["detail"]
