"""Remove exactly what stablebuild created: containers, networks, volumes and image tags
carrying its run label (a stack phase's compose project labels its networks and volumes too:
a run killed before its teardown leaves them)."""

from __future__ import annotations

import contextlib
from typing import NamedTuple

from stablebuild.engine.api import ApiError, NotFound
from stablebuild.engine.client import LABEL_RUN, Engine


class Cleaned(NamedTuple):
    containers: int
    tags: int
    pruned_bytes: int = 0
    networks: int = 0
    volumes: int = 0

    def said(self) -> str:
        """`3 containers, 1 network, 2 volumes and 4 image tags` (what there was any of)."""
        counts = [(self.containers, "container"), (self.networks, "network")]
        counts += [(self.volumes, "volume")]
        parts = [f"{n} {what}{'' if n == 1 else 's'}" for n, what in counts if n]
        tags = f"{self.tags} image tag{'' if self.tags == 1 else 's'}"
        return ", ".join(parts) + f" and {tags}" if parts else tags


def _label(run_id: str | None) -> str:
    return f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN


def remove_containers(engine: Engine, run_id: str | None = None) -> int:
    removed = 0
    for container in engine.api.containers(label=_label(run_id)):
        with contextlib.suppress(NotFound):
            engine.api.remove_container(container["Id"])
            removed += 1
    return removed


def remove_networks_and_volumes(engine: Engine, label: str) -> tuple[int, int]:
    """The networks and volumes carrying `label` (a label filter: NAME or NAME=VALUE), after
    their containers: one still in use (by a container of someone else's) is left."""
    networks = volumes = 0
    for network in engine.api.networks(label=label):
        with contextlib.suppress(ApiError):
            engine.api.remove_network(network["Id"])
            networks += 1
    for volume in engine.api.volumes(label=label):
        with contextlib.suppress(ApiError):
            engine.api.remove_volume(volume["Name"])
            volumes += 1
    return networks, volumes


def remove_tag(engine: Engine, tag: str) -> bool:
    """Untag; the layers below stay (noprune) so the next build still hits the cache."""
    try:
        engine.api.remove_image(tag, noprune=True)
        return True
    except NotFound:
        return False
    except ApiError:
        # NOTE: still used by a container of someone else's: leave it.
        return False


def clean(
    engine: Engine,
    run_id: str | None = None,
    keep: frozenset[str] = frozenset(),
    prune: bool = False,
) -> Cleaned:
    """Remove this run's containers, networks, volumes (every stablebuild run's when run_id is
    None) and tags;
    with `prune`, also the untagged images stablebuild built (its build cache)."""
    containers = remove_containers(engine, run_id)
    networks, volumes = remove_networks_and_volumes(engine, _label(run_id))
    tags = 0
    for image in engine.api.images(label=_label(run_id)):
        for tag in image.get("RepoTags") or []:
            if tag != "<none>:<none>" and tag not in keep and remove_tag(engine, tag):
                tags += 1
    pruned = 0
    if prune:
        result = engine.api.prune_images(dangling=True, label=LABEL_RUN)
        pruned = int(result.get("SpaceReclaimed") or 0)
    return Cleaned(containers, tags, pruned, networks, volumes)
