"""Constants shared by the test session's conftest files."""

from __future__ import annotations

import os
import secrets
import time

SESSION_RUN = f"test-{secrets.token_hex(4)}"
SESSION_STARTED = time.time()
BASE_IMAGE = os.environ.get("STABLEBUILD_TEST_BASE", "stablebuild/airgap:bookworm")
