"""Asset register, wear (hao mòn), upgrade priority and budget plan: the pure core of issue 8.

No database and no I/O beyond reading the packaged YAML data: the collector's tables, API and CLI
call these modules. Entry points: ``register_io.read_register``, ``wear.wear_schedule``,
``priority.score_assets``, ``plan.build_plan`` and the ``*_sheet`` / ``*_to_xlsx`` exporters.
"""
