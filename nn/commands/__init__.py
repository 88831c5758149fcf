"""The `deltagrad` subcommands: each module registers one with `register(subparsers)`."""
