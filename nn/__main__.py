"""`python -m nn` is the `deltagrad` command."""

from nn.cli import main

raise SystemExit(main())
