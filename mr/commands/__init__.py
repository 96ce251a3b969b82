"""One module per command of mr, each owning its plan and apply logic.

``mr.api`` names their public functions; ``mr.cli`` parses options, calls
``mr.api`` and renders. A command module imports the shared modules below
it (``registry``, ``reader``, ``stagecommit`` ...), never another command.
"""
