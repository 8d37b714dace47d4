"""Fidelity patches per AWS service, one module each, beyond RDS and ELBv2 (see twin.fidelity).

Each module here declares its patches with ``twin.patching.patch_point`` (target, kind, the
parameters it expects, why); the twin installs every point once at start-up, and
``twin.patching.install(module)`` installs one module's. Keep a patch small and say, in its
docstring, which moto gap it closes and which runbook or role needs it.
"""
