#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host with a Docker engine for berth:
#  - installs debootstrap (local image builds when no registry answers);
#  - merges berth's daemon.json defaults (log rotation, no-new-privileges,
#    icc off) into /etc/docker/daemon.json and restarts dockerd only if the
#    file changed. Idempotent: a second run changes nothing.
# Needs root (or sudo). Set BERTH_SKIP_DAEMON=1 to leave dockerd alone.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v debootstrap >/dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then
	echo "host-setup: installing debootstrap"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

docker info >/dev/null 2>&1 || { echo "host-setup: the Docker engine does not answer (docker info); start it first" >&2; exit 1; }

[ "${BERTH_SKIP_DAEMON:-0}" = 1 ] && exit 0

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
go run ./cmd/berth daemon-config --merge /etc/docker/daemon.json >"$tmp"
if [ -f /etc/docker/daemon.json ] && cmp -s "$tmp" /etc/docker/daemon.json; then
	exit 0
fi
if [ -f /etc/docker/daemon.json ] && python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if a==b else 1)' "$tmp" /etc/docker/daemon.json 2>/dev/null; then
	exit 0
fi
echo "host-setup: updating /etc/docker/daemon.json and restarting dockerd"
as_root mkdir -p /etc/docker
as_root cp "$tmp" /etc/docker/daemon.json

old=$(cat /var/run/docker.pid 2>/dev/null || true)
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker 2>/dev/null; then
	as_root systemctl restart docker
elif [ -n "$old" ]; then
	# dockerd started by hand or by an init without a usable restart.
	as_root kill "$old"
	for _ in $(seq 1 60); do as_root kill -0 "$old" 2>/dev/null || break; sleep 1; done
	as_root setsid nohup /usr/sbin/dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
else
	as_root service docker restart
fi
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info >/dev/null 2>&1 || { echo "host-setup: dockerd did not come back; see /var/log/dockerd.log" >&2; exit 1; }
echo "host-setup: dockerd restarted with berth's defaults"
