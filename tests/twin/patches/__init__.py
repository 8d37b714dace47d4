"""Fidelity patches per AWS service, one module each, beyond RDS and ELBv2 (see twin.fidelity).

Each module here defines ``install() -> None``, which patches moto's models for its service; the
twin calls every one of them once at start-up. Keep a patch small and say, in its docstring, which
moto gap it closes and which runbook or role needs it.
"""
