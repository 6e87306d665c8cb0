"""Property-based fuzzing from the service's own OpenAPI contract, with and without the API key.

Schemathesis generates requests for every operation of ``/openapi.json`` of a running service that
has an API key. Each case is sent twice: with the key it must get no 5xx but a planned 503 (with
``Retry-After``) and a response that fits the schema; without the key it must get 401 unless the
route is one of the few open ones. ``SPECIALIST_FUZZ_CASES`` sets the cases per operation (a small
number here; ``bench/fuzz_bench.py`` runs many more and prints the count).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from service.middleware import OPEN_PATHS

pytestmark = pytest.mark.slow

CASES = int(os.environ.get("SPECIALIST_FUZZ_CASES", "8"))
TRIED: Counter[str] = Counter()
"""Cases tried and findings by kind, written to ``SPECIALIST_FUZZ_REPORT`` when that is set."""


@pytest.fixture(scope="module")
def keyed(guarded_live) -> Iterator[tuple[str, str]]:
    """(URL, key) of a live service that needs the API key; the cases tried are saved after."""
    url, app = guarded_live
    yield url, app.state.settings.api_key
    report = os.environ.get("SPECIALIST_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps(dict(TRIED), indent=2) + "\n")


def check(case, key: str) -> None:
    """Send ``case`` with the key and without it; fail on anything the contract does not allow."""
    TRIED["cases"] += 1
    response = case.call(headers={"Authorization": f"Bearer {key}"}, timeout=120)
    TRIED[f"status {response.status_code}"] += 1
    if response.status_code >= 500:
        assert response.status_code == 503, f"unplanned {response.status_code}: {response.text}"
        assert "retry-after" in {name.lower() for name in response.headers}
    else:
        case.validate_response(
            response,
            checks=[
                response_schema_conformance,
                content_type_conformance,
                response_headers_conformance,
            ],
        )
    unkeyed = case.call(timeout=120)
    if case.path not in OPEN_PATHS:
        assert unkeyed.status_code == 401, f"{case.method} {case.path} answered without the key"


def test_the_contract_holds_for_generated_requests(keyed) -> None:
    url, key = keyed
    contract = schemathesis.openapi.from_url(
        f"{url}/openapi.json", headers={"Authorization": f"Bearer {key}"}
    )
    operations = [result.ok() for result in contract.get_all_operations()]
    assert {op.path for op in operations} >= {"/ask", "/reindex", "/adapters"}
    for operation in operations:

        @settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case) -> None:
            check(case, key)

        fuzz()
    assert TRIED["cases"] >= len(operations)
