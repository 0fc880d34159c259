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
    sim = harness.start_cfsim(tmp_path, None, "--auto-connect")
    yield sim
    sim.stop()
