"""stablebuild: audit, build and check the Docker images of a Python service."""

__version__ = "0.1.0"
