"""What a person does with the ledger, one function per operation, each owning its transaction.

``posts`` (list, show, cancel, reschedule, ad hoc post), ``pauses`` (pause, resume),
``attention`` (retry, resolve), ``approvals`` (review, approve, reject), ``status``, ``views`` (what
queue, show and status show) and ``reads`` (the same on a current SQLite file, without SQLAlchemy),
``accounts`` (``promo accounts`` and its check), ``connections`` (connect, refresh, rotate the key),
``checking`` (``promo check``), ``calendar`` (posts by day, the iCalendar feed), ``metrics`` (the
Prometheus collector), ``demo``, ``seed`` (the seed campaign) and ``scaffold`` (``promo init``).
"""
