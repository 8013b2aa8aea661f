"""Remove exactly what stablebuild created: containers and image tags carrying its run label."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import docker.errors

from stablebuild.engine.client import LABEL_RUN, Engine


@dataclass(frozen=True)
class Cleaned:
    containers: int
    tags: int
    pruned_bytes: int = 0


def _label_filter(run_id: str | None) -> dict[str, str]:
    return {"label": f"{LABEL_RUN}={run_id}" if run_id else LABEL_RUN}


def remove_containers(engine: Engine, run_id: str | None = None) -> int:
    removed = 0
    for container in engine.api.containers(all=True, filters=_label_filter(run_id)):
        with contextlib.suppress(docker.errors.NotFound):
            engine.api.remove_container(container["Id"], force=True)
            removed += 1
    return removed


def remove_tag(engine: Engine, tag: str) -> bool:
    """Untag; the layers below stay (noprune) so the next build still hits the cache."""
    try:
        engine.api.remove_image(tag, force=False, noprune=True)
        return True
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError:
        # NOTE: still used by a container of someone else's: leave it.
        return False


def clean(
    engine: Engine,
    run_id: str | None = None,
    keep: frozenset[str] = frozenset(),
    prune: bool = False,
) -> Cleaned:
    """Remove this run's containers (every stablebuild run's when run_id is None) and tags;
    with `prune`, also the untagged images stablebuild built (its build cache)."""
    containers = remove_containers(engine, run_id)
    tags = 0
    for image in engine.api.images(filters=_label_filter(run_id)):
        for tag in image.get("RepoTags") or []:
            if tag != "<none>:<none>" and tag not in keep and remove_tag(engine, tag):
                tags += 1
    pruned = 0
    if prune:
        result = engine.api.prune_images(filters={"dangling": True, "label": LABEL_RUN})
        pruned = int(result.get("SpaceReclaimed") or 0)
    return Cleaned(containers, tags, pruned)
