"""Air-gapped base images: a Debian root file system from debootstrap, imported as a local image."""

from stablebuild.base.rootfs import BaseSpec, bootstrap, ensure_base

__all__ = ["BaseSpec", "bootstrap", "ensure_base"]
