"""netsync's tests, a package: helpers are imported as ``tests.servers``,
``tests.faults.faultproxy`` and so on (pyproject's pytest ``pythonpath`` puts the repository
root on ``sys.path``)."""
