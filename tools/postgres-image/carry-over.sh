#!/usr/bin/env bash
# Tries, end to end, the steps the generated README gives a team whose compose volume holds the
# data of the previous PostgreSQL major ("PostgreSQL's major version"), with plain docker
# commands in place of compose's (the same images, volumes, mounts and variables):
#
#   1. the previous major's image on a volume mounted at /var/lib/postgresql/data, as the
#      compose.yaml of before did, with rows in a table;
#   2. the new major's image refuses that mount (what the old compose file would now do);
#   3. pg_dump from a container of the previous major on the old volume; the new major on a new
#      volume at /var/lib/postgresql starts empty; pg_restore into it; the rows are there.
#
#   tools/postgres-image/carry-over.sh     # needs both images (build.sh makes the new one)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
engine=$here/../../template/pytest-pgengine/src/pytest_pgengine
image=$(sed -n 's/^IMAGE = "\(.*\)"$/\1/p' "$engine/servers/container.py")
major=$(sed -n 's/^postgres:\([0-9][0-9]*\).*$/\1/p' <<< "$image")
previous=postgres:$((major - 1))-alpine
database=my_service
name=carry-over-$$
old=$name-db-data
new=$name-db-data-$major
dump=$(mktemp)

cleanup() {
    docker rm --force --volumes "$name-old" "$name-refused" "$name-new" > /dev/null 2>&1 || true
    docker volume rm "$old" "$new" > /dev/null 2>&1 || true
    rm -f "$dump"
}
trap cleanup EXIT
ready() {  # over TCP: while a first start sets the cluster up, its server is on the socket only
    for _ in $(seq 120); do
        docker exec "$1" pg_isready -h 127.0.0.1 -U postgres -d "$database" -q 2> /dev/null &&
            return
        sleep 0.5
    done
    echo "carry-over.sh: $1 did not start; its log:" >&2
    docker logs "$1" >&2
    return 1
}
psql_in() {
    docker exec "$1" psql -U postgres -d "$database" -v ON_ERROR_STOP=1 -tAc "$2"
}

for wanted in "$previous" "$image"; do
    docker image inspect "$wanted" > /dev/null 2>&1 || docker pull --quiet "$wanted" > /dev/null
done

echo "1. $previous, the volume at /var/lib/postgresql/data, rows in a table"
docker run --detach --name "$name-old" --volume "$old:/var/lib/postgresql/data" \
    --env POSTGRES_PASSWORD=postgres --env POSTGRES_DB="$database" "$previous" > /dev/null
ready "$name-old"
psql_in "$name-old" "CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO widgets SELECT n, 'widget ' || n FROM generate_series(1, 1000) AS n;" > /dev/null
docker rm --force --volumes "$name-old" > /dev/null

echo "2. $image refuses the old volume at the old mount"
if docker run --name "$name-refused" --volume "$old:/var/lib/postgresql/data" \
    --env POSTGRES_PASSWORD=postgres --env POSTGRES_DB="$database" "$image" > /dev/null 2>&1; then
    echo "carry-over.sh: $image started on the old mount" >&2
    exit 1
fi
docker logs "$name-refused" 2>&1 | head -n 2 | sed 's/^/   /'

echo "3. pg_dump from $previous on the old volume, pg_restore into $image on a new one"
docker run --detach --name "$name-old" --volume "$old:/var/lib/postgresql/data" "$previous" \
    > /dev/null
ready "$name-old"
docker exec "$name-old" pg_dump -U postgres --format=custom "$database" > "$dump"
docker rm --force --volumes "$name-old" > /dev/null
docker run --detach --name "$name-new" --volume "$new:/var/lib/postgresql" \
    --env POSTGRES_PASSWORD=postgres --env POSTGRES_DB="$database" "$image" > /dev/null
ready "$name-new"
tables=$(psql_in "$name-new" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
if [ "$tables" != 0 ]; then
    echo "carry-over.sh: the new volume is not empty ($tables tables)" >&2
    exit 1
fi
docker exec --interactive "$name-new" pg_restore -U postgres --dbname="$database" --no-owner \
    < "$dump"
rows=$(psql_in "$name-new" "SELECT count(*) || ' rows on ' || current_setting('server_version')
    FROM widgets")
echo "   $rows"
if [[ $rows != "1000 rows on $major."* ]]; then
    echo "carry-over.sh: expected 1000 rows on PostgreSQL $major" >&2
    exit 1
fi
echo "carried over: $previous -> $image"
