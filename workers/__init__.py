"""Celery workers for promo: the app, its tasks and the beat schedule."""
