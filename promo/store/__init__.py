"""The store: tables, connections, migrations, the ledger and its state machine.

- ``db``           ``make_engine(url)`` (SQLite by default, PostgreSQL by URL), ``transaction(engine)``
- ``writer_lock``  SQLite writers queue on a file lock instead of sleeping in the busy handler
- ``migrate``      ``upgrade(engine)`` brings the schema to head (alembic scripts in ``migrations/``)
- ``tables``       the tables; times stored as UTC, read back aware
- ``states``       the ledger's states and the only moves between them
- ``ledger``       ``transition(...)``: the only way a post changes state, logged in ``events``
- ``hot_path``     the publish's usual start and success as pre-compiled SQL on the driver connection
                   (``codec`` stores times and JSON as SQLAlchemy does); the same moves, fenced and logged
- ``pauses``, ``meta``, ``login_cache``  the engine's shared facts: pauses, last runs, platform logins
- ``approvals``    an approval rule, the payload digest an approval binds to, and the decisions so far
- ``tokens``       connected accounts' tokens, encrypted at rest, and the lease one refresh holds
- ``quota``        YouTube quota units spent per Google Cloud project and Pacific day (in ``meta``)
- ``heartbeats``   which workers and beats are alive: one row each in ``processes``
- ``sqlite_reads`` what ``promo queue``, ``show`` and ``status`` read, with ``sqlite3`` alone

``from promo.store import states`` stays free of SQLAlchemy. The store never imports the engine,
planning or the platforms.
"""
