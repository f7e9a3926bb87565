"""Planning: a campaign held against the store (``plan``), then written in one transaction (``apply``).

``plan.py`` reads the store and says what would change; ``apply.py`` writes it. ``apply`` imports
``plan``, never the other way round.
"""
