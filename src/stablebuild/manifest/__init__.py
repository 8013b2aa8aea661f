"""The stack manifest, `stablebuild.yml`: its model and its loader."""

from __future__ import annotations

from stablebuild.manifest.load import find_manifest, load_manifest
from stablebuild.manifest.model import (
    AuditSpec,
    Budgets,
    FfmpegSpec,
    GpuSpec,
    ImageSpec,
    Manifest,
    PackagesSpec,
    RunSpec,
)

__all__ = [
    "AuditSpec",
    "Budgets",
    "FfmpegSpec",
    "GpuSpec",
    "ImageSpec",
    "Manifest",
    "PackagesSpec",
    "RunSpec",
    "find_manifest",
    "load_manifest",
]
