#!/usr/bin/env bash
# Makes sure the Docker engine has the official PostgreSQL image that the generated projects'
# container tests start (IMAGE in the test engine's pytest_pgengine/servers/container.py):
# pulled where a registry answers, else built here as a stand-in, as on the template's own CI
# machine (.ci/run runs this there): the same PostgreSQL major version from Debian's packages,
# on a minimal Debian made with debootstrap, with an entrypoint that honours the official
# image's contract (docker-entrypoint.sh), tagged with the official image's name.
#
#   tools/postgres-image/build.sh      # building needs root, debootstrap and Debian's mirror
#
# It does nothing when the image is there already: built by this same recipe (its label holds
# the recipe's hash), or the real one (it has no such label), which it never replaces.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
engine=$here/../../template/pytest-pgengine/src/pytest_pgengine
image=$(sed -n 's/^IMAGE = "\(.*\)"$/\1/p' "$engine/servers/container.py")
major=$(sed -n 's/^postgres:\([0-9][0-9]*\).*$/\1/p' <<< "$image")
suite=trixie  # the Debian release that packages PostgreSQL $major
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
label=copier-fastapi-postgres.stand-in-recipe
recipe=$(cat <(echo "$image $suite") "$here/build.sh" "$here/docker-entrypoint.sh" | sha256sum)
recipe=${recipe:0:16}

if [ -z "$major" ]; then
    echo "build.sh: cannot tell the PostgreSQL version of the image '$image'" >&2
    exit 1
fi
if built=$(docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null); then
    case $built in
        "$recipe") echo "$image: the stand-in of this recipe ($recipe) is there"; exit 0 ;;
        "" | "<no value>") echo "$image: the real image is there, kept"; exit 0 ;;
        *) echo "$image: a stand-in of another recipe ($built), replaced"
           old=$(docker image inspect --format '{{ .Id }}' "$image") ;;
    esac
fi
if docker pull --quiet "$image" > /dev/null 2>&1; then
    echo "$image: pulled the real image"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "build.sh: debootstrap needs root" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
quietly() {  # the output of a long, chatty step only if it fails
    "$@" > "$work/log" 2>&1 || { tail -n 50 "$work/log" >&2; return 1; }
}

echo "$image: building a stand-in from Debian $suite's postgresql-$major (recipe $recipe)"
quietly debootstrap --variant=minbase "$suite" "$root" "$mirror"
# The package must not make a cluster of its own, nor start anything while it installs.
mkdir -p "$root/etc/postgresql-common/createcluster.d"
echo "create_main_cluster = false" > "$root/etc/postgresql-common/createcluster.d/stand-in.conf"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
export DEBIAN_FRONTEND=noninteractive
quietly chroot "$root" apt-get update
quietly chroot "$root" apt-get install --yes --no-install-recommends "postgresql-$major"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
install -m 755 "$here/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"

bin=/usr/lib/postgresql/$major/bin
id=$(tar --numeric-owner -C "$root" -c . | docker import \
    --change "ENV PATH=$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV PGDATA=/var/lib/postgresql/data LANG=C.UTF-8" \
    --change "VOLUME /var/lib/postgresql/data" \
    --change "EXPOSE 5432" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    --change "LABEL $label=$recipe" \
    - )

# Tagged only once it answers as testcontainers checks it: psql over TCP, with the password,
# on the database POSTGRES_DB names; and its cluster is UTF8.
container=$(docker run --detach --env POSTGRES_PASSWORD=check --env POSTGRES_DB=check_db "$id")
check='PGPASSWORD=check psql -U postgres -d check_db -h 127.0.0.1 -tAc "SHOW server_encoding"'
for _ in $(seq 120); do
    encoding=$(docker exec "$container" sh -c "$check" 2>/dev/null) && break
    sleep 0.5
done
if [ "${encoding:-}" != UTF8 ]; then
    echo "build.sh: the new image does not answer as expected; its log:" >&2
    docker logs "$container" >&2
    docker rm --force --volumes "$container" > /dev/null
    docker rmi "$id" > /dev/null
    exit 1
fi
docker rm --force --volumes "$container" > /dev/null
docker tag "$id" "$image"
if [ -n "${old:-}" ]; then
    docker rmi "$old" > /dev/null 2>&1 || true  # unless a container still uses it
fi
echo "$image: built ($(docker image inspect --format '{{ .Size }}' "$id" | numfmt --to=iec))"
