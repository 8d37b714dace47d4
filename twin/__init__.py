"""The local twin of WedSync production: AWS control plane, PostgreSQL data plane, hosts."""
