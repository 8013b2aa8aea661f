"""Unit tests of the reference stack's service (examples/ffmpeg-api/app)."""
