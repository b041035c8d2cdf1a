"""``python -m storage.migrations new "what changed"``: write the next revision (see __init__)."""

import sys

from storage.migrations import main

sys.exit(main(sys.argv[1:]))
