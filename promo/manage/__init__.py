"""What a person does with the ledger, one function per operation, each owning its transaction.

``posts`` (list, show, cancel, reschedule, ad hoc post), ``pauses`` (pause, resume),
``attention`` (retry, resolve), ``status``, ``checking`` (``promo check``), ``demo`` and
``scaffold`` (``promo init``).
"""
