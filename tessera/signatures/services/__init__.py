"""Writes of signatures, one module per concern: templates.py (the organisation's templates), push.py."""
