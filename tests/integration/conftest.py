# SPDX-License-Identifier: Apache-2.0
"""pytest fixtures shared by the integration tests."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402


@pytest.fixture
def kubesim(tmp_path):
    sim = harness.start_kubesim(tmp_path, "--simulate-deployments")
    yield sim
    sim.stop()


@pytest.fixture
def cfsim(tmp_path):
    # --validate: every request body is checked against Cloudflare's
    # OpenAPI request schemas; a test fails if cfapi sent one that is not.
    sim = harness.start_cfsim(tmp_path, None, "--auto-connect", "--validate")
    yield sim
    bad = [r for r in (sim.requests() or []) if r.get("validation")]
    sim.stop()
    assert not bad, f"requests that fail the OpenAPI schema: {bad[:3]}"
