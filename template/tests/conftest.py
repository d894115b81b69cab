# The fixtures live in tests/fixtures/, one module per concern; they are registered here so
# every test directory can use them. Only cross-cutting fixtures belong in this file.
pytest_plugins = [
    "tests.fixtures.postgres_server",
    "tests.fixtures.database",
    "tests.fixtures.client",
    "tests.fixtures.guards",
]
