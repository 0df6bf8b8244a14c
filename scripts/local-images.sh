#!/usr/bin/env bash
# Builds, from this machine's own binaries, the images the compose stack needs from a registry,
# for machines that cannot pull (see README, "Run with Docker Compose"):
#
#   node   hypercode/node-local:20   FROM scratch: the host's node + the libraries ldd lists
#   redis  hypercode/redis-local:7   FROM scratch: the host's redis-server, redis-cli + their libraries
#   demo   demo/busybox              the static busybox the demo image is built from (see demo/Dockerfile)
#
# Usage: scripts/local-images.sh [all|node|redis|demo]...   (default: all)
# Then:  REDIS_IMAGE=hypercode/redis-local:7 NODE_IMAGE=hypercode/node-local:20 docker-compose up --build
#
# Idempotent: an image is rebuilt only when its inputs changed (their checksums are stored in the
# label hypercode.local.fingerprint). Each built image is labelled hypercode.local=<name>.
# Tags can be changed with NODE_LOCAL_TAG and REDIS_LOCAL_TAG.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_LOCAL_TAG="${NODE_LOCAL_TAG:-hypercode/node-local:20}"
REDIS_LOCAL_TAG="${REDIS_LOCAL_TAG:-hypercode/redis-local:7}"

die() { printf 'local-images: %s\n' "$*" >&2; exit 1; }
say() { printf 'local-images: %s\n' "$*" >&2; }

# Staging directories, removed when the script ends however it ends.
staging=()
trap 'rm -rf "${staging[@]}"' EXIT
# Sets $dir to a new staging directory (not in a subshell, so that the list above sees it).
new_staging() {
  dir="$(mktemp -d)"
  staging+=("$dir")
}

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"; }

# A binary's path, symlinks resolved, or a clear error.
binary() {
  local path
  path="$(command -v "$1" 2>/dev/null)" || die "$1 is not on the PATH ($2)"
  readlink -f "$path"
}

# Every shared library a binary loads (the dynamic loader included), as the paths ldd prints.
libraries() {
  ldd "$1" | awk '
    $2 == "=>" && $3 ~ /^\// { print $3 }
    $1 ~ /^\// { print $1 }
  ' | sort -u
}

# Copies a file into the staging root at the same path, as a regular file (symlinks resolved).
stage() {
  local file="$1" into="$2"
  mkdir -p "$into$(dirname "$file")"
  cp -L "$file" "$into$file"
}

# /etc files every assembled image gets: users, name resolution, the CA bundle when there is one.
stage_etc() {
  local into="$1" passwd="$2" group="$3"
  mkdir -p "$into/etc" "$into/tmp"
  chmod 1777 "$into/tmp"
  printf '%s\n' "$passwd" >"$into/etc/passwd"
  printf '%s\n' "$group" >"$into/etc/group"
  # glibc reads this for getaddrinfo; Docker provides /etc/hosts and /etc/resolv.conf at run time.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$into/etc/nsswitch.conf"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then stage /etc/ssl/certs/ca-certificates.crt "$into"; fi
}

# The checksum of everything staged plus the Dockerfile: equal means the image would be the same.
fingerprint() {
  (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum && find . -printf '%p %m\n' | sort) |
    sha256sum | cut -c1-64
}

# Builds the staged directory into <tag> unless an image with the same fingerprint is there.
build_staged() {
  local dir="$1" tag="$2" name="$3" sum current
  sum="$(fingerprint "$dir")"
  current="$(docker image inspect --format '{{ index .Config.Labels "hypercode.local.fingerprint" }}' "$tag" 2>/dev/null || true)"
  if [ "$current" = "$sum" ]; then
    say "$tag is up to date"
    return
  fi
  local out
  if ! out="$(docker build --label "hypercode.local=$name" --label "hypercode.local.fingerprint=$sum" \
    -t "$tag" "$dir" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "could not build $tag (output above)"
  fi
  say "built $tag"
}

build_node() {
  need ldd "it comes with libc-bin"
  local node dir
  node="$(binary node "Node 20 is required")"
  "$node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    die "$node is Node $("$node" --version); Node 20 or newer is required"
  new_staging
  mkdir -p "$dir/rootfs/usr/local/bin" "$dir/home/node"
  cp -L "$node" "$dir/rootfs/usr/local/bin/node"
  for lib in $(libraries "$node"); do stage "$lib" "$dir/rootfs"; done
  # uid/gid 1000 "node", as in the official node images, so `USER node` means the same in both.
  stage_etc "$dir/rootfs" \
    $'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin' \
    $'root:x:0:\nnode:x:1000:'
  cat >"$dir/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
COPY --chown=1000:1000 home/ /home/
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_VERSION=$("$node" --version | tr -d v)
LABEL org.opencontainers.image.title="node (assembled locally from $node)" \\
      org.opencontainers.image.description="Stand-in for node:20-bookworm-slim on machines that cannot pull"
CMD ["node"]
EOF
  build_staged "$dir" "$NODE_LOCAL_TAG" node
}

build_redis() {
  need ldd "it comes with libc-bin"
  local server cli dir
  server="$(binary redis-server "apt-get install redis-server")"
  cli="$(binary redis-cli "apt-get install redis-tools")"
  new_staging
  mkdir -p "$dir/rootfs/usr/local/bin" "$dir/data"
  cp -L "$server" "$dir/rootfs/usr/local/bin/redis-server"
  cp -L "$cli" "$dir/rootfs/usr/local/bin/redis-cli"
  for lib in $(libraries "$server") $(libraries "$cli"); do stage "$lib" "$dir/rootfs"; done
  # uid/gid 999 "redis", as in the official redis images (which start as root and drop to it).
  stage_etc "$dir/rootfs" \
    $'root:x:0:0:root:/root:/sbin/nologin\nredis:x:999:999:redis:/data:/sbin/nologin' \
    $'root:x:0:\nredis:x:999:'
  cat >"$dir/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
COPY --chown=999:999 data/ /data/
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL org.opencontainers.image.title="redis (assembled locally from $server)" \\
      org.opencontainers.image.description="Stand-in for redis:7-alpine on machines that cannot pull"
VOLUME /data
WORKDIR /data
USER 999:999
EXPOSE 6379
CMD ["redis-server"]
EOF
  build_staged "$dir" "$REDIS_LOCAL_TAG" redis
}

# The demo image is FROM scratch with a static busybox (demo/Dockerfile says why). A dynamically
# linked one would not run there, so it is refused rather than copied.
build_demo() {
  local from="${BUSYBOX:-/bin/busybox}" into="$root/demo/busybox"
  [ -x "$from" ] || die "$from not found: apt-get install busybox-static (or set BUSYBOX=/path/to/static/busybox)"
  if ldd "$from" >/dev/null 2>&1; then
    die "$from is dynamically linked; the demo image needs a static one: apt-get install busybox-static"
  fi
  if cmp -s "$from" "$into"; then
    say "demo/busybox is up to date"
    return
  fi
  cp "$from" "$into.tmp"
  chmod 755 "$into.tmp"
  mv "$into.tmp" "$into"
  say "copied $from to demo/busybox"
}

need docker "the Docker client"
[ "$#" -gt 0 ] || set -- all
for what in "$@"; do
  case "$what" in
  all) build_node && build_redis && build_demo ;;
  node) build_node ;;
  redis) build_redis ;;
  demo) build_demo ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" && exit 0 ;;
  *) die "unknown image '$what' (known: all, node, redis, demo)" ;;
  esac
done
