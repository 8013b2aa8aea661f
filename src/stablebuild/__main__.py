"""Allow `python -m stablebuild`."""

from stablebuild.cli import main

main()
