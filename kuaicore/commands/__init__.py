"""The `kuaicore` subcommands, one module per stage of the pipeline; `kuaicore.cli` registers them."""
