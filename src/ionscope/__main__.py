"""Allow ``python -m ionscope``."""
from ionscope.cli.main import run

run()
