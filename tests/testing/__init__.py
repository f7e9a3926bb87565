"""Tests of promo's pytest plugin (``promo.testing``), run as a team would: pytest in a scratch project."""
