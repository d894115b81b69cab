# The models moved to the package models/ beside this file: a module per model, each imported
# in models/__init__.py. Python imports the package, never this file: code here does not run,
# and Alembic does not see its tables.
#
# This file stays so that `copier update` from v0.1.0 keeps the lines you wrote here instead of
# deleting them. Move them to models/, then empty this file or delete it (later updates leave it
# deleted). Until then, the tests fail and name this file.
