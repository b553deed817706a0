"""Asset register, wear (hao mòn), upgrade priority and budget plan: issue 8.

The pure core needs no database: ``register_reader.read_register`` (within the import bounds of
``register_limits``; ``register_io`` keeps the historical names), ``wear.wear_schedule``,
``priority.score_assets``, ``plan.build_plan`` (exact selection in ``solver``), the exports in
``exports`` and ``register_writer``, and VND in ``money``. Around it: ``store`` (the register in
the collector's state store, imports all or nothing), ``reconcile`` (register vs discovered
devices), ``rollups`` (the journal consumer keeping measured saturation and failures per device
and day, read by ``rollup_reader``, rebuilt by ``rollup_rebuild``), ``signals`` (the same scanned
from the journal: the fallback), ``reports`` (what the ``api`` routes and the ``cli`` commands
call).
"""
