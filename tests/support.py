"""Constants shared by the test session's conftest files."""

from __future__ import annotations

import os
import secrets
import time

SESSION_RUN = f"test-{secrets.token_hex(4)}"
# Every validate run in this session labels its containers with ids starting so.
os.environ["STABLEBUILD_RUN_PREFIX"] = f"{SESSION_RUN}-"
SESSION_STARTED = time.time()
BASE_IMAGE = os.environ.get("STABLEBUILD_TEST_BASE", "stablebuild/airgap:bookworm")
