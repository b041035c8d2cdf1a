"""``python -m newsmon`` = the ``newsmon`` command."""

from newsmon.cli import main

# The guard matters: extraction workers are spawned processes that import __main__ again.
if __name__ == "__main__":
    main()
