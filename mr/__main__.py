"""``python -m mr``, and the ``mr`` command's entry point."""


def run() -> int:
    """Run the CLI. Python's cycle collector is told to run rarely before anything is imported:
    importing click, rich and pygit2 makes tens of thousands of objects and no cyclic garbage,
    and the collections they set off cost a few milliseconds of every command."""
    import gc

    gc.set_threshold(100_000, 50, 1000)
    from mr.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
