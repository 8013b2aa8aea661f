#!/usr/bin/env bash
# Make sure a Docker engine answers. As root on Debian, install docker.io (and debootstrap for
# air-gapped base images) and start dockerd in the background; otherwise say what to do.
set -euo pipefail

# The stack phase of `validate` runs the engine's compose: `docker compose` (v2) where present,
# else Debian's `docker-compose` (v1), installed here as root when neither is.
ensure_compose() {
    if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "note: no compose (docker compose or docker-compose): a manifest's stack phase cannot run" >&2
        return 0
    fi
    echo "engine: installing docker-compose"
    # NOTE: waits for another apt (up to 5 min) rather than failing on its lock.
    local apt=(apt-get -o DPkg::Lock::Timeout=300 -y -qq)
    export DEBIAN_FRONTEND=noninteractive
    "${apt[@]}" install docker-compose >/dev/null 2>&1 || {
        "${apt[@]}" update
        "${apt[@]}" install docker-compose >/dev/null
    }
}

if docker info >/dev/null 2>&1; then
    echo "engine: $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}')"
    ensure_compose
    exit 0
fi

if [ "$(id -u)" != "0" ]; then
    if [ -S /var/run/docker.sock ] && [ ! -w /var/run/docker.sock ]; then
        echo "error: an engine runs, but this user may not use /var/run/docker.sock" >&2
        echo "hint: add yourself to the 'docker' group (sudo usermod -aG docker \$USER) and log in again" >&2
        exit 3
    fi
    echo "error: no Docker engine answers and this is not root, so it cannot be started here" >&2
    echo "hint: start one (sudo make engine, or sudo dockerd &), or add yourself to the 'docker' group" >&2
    exit 3
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: ${need[*]} missing and this is not a Debian-like system" >&2
        echo "hint: install a Docker engine and debootstrap with your package manager" >&2
        exit 3
    fi
    echo "engine: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

# A dockerd that was killed leaves its pid file, and a new one refuses to start over it.
pidfile=/var/run/docker.pid
if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "engine: removing stale $pidfile"
    rm -f "$pidfile"
fi

log=/var/log/stablebuild-dockerd.log
echo "engine: starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
    if [ -S /var/run/docker.sock ] && docker info >/dev/null 2>&1; then
        echo "engine: $(docker info --format 'server {{.ServerVersion}}, storage {{.Driver}}')"
        ensure_compose
        exit 0
    fi
    sleep 1
done
echo "error: dockerd did not answer within 60 s" >&2
echo "hint: read $log" >&2
exit 3
