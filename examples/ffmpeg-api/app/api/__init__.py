"""The HTTP API: FastAPI routers under /api/v1 and the application factory."""
