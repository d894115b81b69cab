#!/usr/bin/env bash
# The entrypoint of the stand-in for the official PostgreSQL image (see build.sh): the same
# contract, for what the tests and compose.yaml use of it.
#
# - POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER
#   (default postgres), POSTGRES_DB (default: the user), POSTGRES_INITDB_ARGS,
#   POSTGRES_HOST_AUTH_METHOD (default scram-sha-256: the password, for every remote address);
# - a UTF8 cluster in $PGDATA, made on the first start; later starts keep it;
# - as the official image since 18: PGDATA is /var/lib/postgresql/<major>/docker, under the
#   volume at /var/lib/postgresql; a mount at the old data folder, /var/lib/postgresql/data
#   (a volume of an older major, mounted as before 18), is refused, its data left as it is;
# - while the cluster is set up, the server listens on its Unix socket only: a client that
#   connects over TCP (testcontainers' readiness check does, from inside the container) gets
#   through only once the server runs for good, listening on every address;
# - runs as the postgres user; arguments that start with "-" are options for postgres.
# Not implemented: /docker-entrypoint-initdb.d scripts, Docker secrets (*_FILE variables).
set -Eeuo pipefail

if [ "${1:0:1}" = "-" ]; then
    set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ "$PGDATA" != /var/lib/postgresql/data ] &&
    grep -q ' /var/lib/postgresql/data ' /proc/self/mountinfo; then
    cat >&2 <<EOF
Error: in 18+, this image keeps the database in PGDATA=$PGDATA,
under a volume mounted at /var/lib/postgresql. A volume is mounted at the folder of older
images, /var/lib/postgresql/data: mount a volume at /var/lib/postgresql instead, and carry an
older major's data over with pg_dump and a restore (or pg_upgrade).
EOF
    exit 1
fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$(dirname "$PGDATA")" "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_USER:=postgres}"
    : "${POSTGRES_DB:=$POSTGRES_USER}"
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        echo "error: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    password=()
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        password=(--pwfile=/dev/stdin)
    fi
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options, as upstream
    initdb --username="$POSTGRES_USER" "${password[@]}" --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} <<< "${POSTGRES_PASSWORD:-}"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    # After initdb's lines (trust on the socket and on the loopback addresses, as upstream):
    # every other address logs in with the password.
    echo "host all all all $auth" >> "$PGDATA/pg_hba.conf"

    if [ "$POSTGRES_DB" != postgres ]; then
        pg_ctl --silent --wait --options="-c listen_addresses='' -p 5432" start
        psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" \
            --no-password --dbname=postgres --set=db="$POSTGRES_DB" \
            <<< 'CREATE DATABASE :"db";'
        pg_ctl --silent --wait --mode=fast stop
    fi
    echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
