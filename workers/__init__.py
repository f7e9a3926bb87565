"""Celery workers for promo: the app, its one task, and the beat that runs promo's ticks.

``app`` (the Celery app from Settings), ``tasks`` (the publish task and ``send``), ``ticks`` (the
beat's periodic work: dispatch, first look, sweep, reconcile, token refresh), ``beat`` (the scheduler
that runs them on threads), ``heartbeat`` (workers' and beats' heartbeats), ``pool`` (the prefork
pool), ``redisbroker`` (kombu's Redis transport, guarded), ``epoch`` (the broker epoch) and
``embedded`` (the SQLite broker).
"""
