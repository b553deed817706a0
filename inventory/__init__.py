"""Asset register, wear (hao mòn), upgrade priority and budget plan: issue 8.

The pure core needs no database: ``register_io.read_register``, ``wear.wear_schedule``,
``priority.score_assets``, ``plan.build_plan`` and the ``*_sheet`` / ``*_to_xlsx`` exporters.
Around it: ``store`` (the register in the collector's state store, imports all or nothing),
``reconcile`` (register vs discovered devices), ``signals`` (measured failures), ``reports`` (what
the ``api`` routes and the ``cli`` commands call).
"""
