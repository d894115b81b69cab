# The services moved to the package services/ beside this file, a module per resource. Python
# imports the package, never this file: code here does not run.
#
# This file stays so that `copier update` from v0.1.0 keeps the lines you wrote here instead of
# deleting them. Move them to services/, then empty this file or delete it (later updates leave
# it deleted). Until then, the tests fail and name this file.
