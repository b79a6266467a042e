"""Stand-in for amdinfer-server, the AMD Inference Server ("Proteus") v0.4.0.

The real server is a C++ binary that no registry reachable here ships, so the
workload tests run this by default (AMDINFER_PREFIX runs a real build instead:
tests/workload/amdinfer_server.py): `python -m amdinfer --model-repository <dir>
--repository-monitoring --http-port N --grpc-port M`. It takes the real
server's flags (and rejects others as its parser does), answers the REST API
as DESIGN.md §4 describes, amdinfer's v0.4.0 sources show and a Release build
of them was measured to answer (statuses, bodies, endpoint naming and
counting, the repository and its monitoring, /metrics), listens where it
listens (network.py), writes the same log lines and files, and dies as the
real server dies on the inputs that crash it (SIGSEGV on a non-JSON infer,
SIGABRT on two input tensors). It runs one model, `echo`, under the
`cplusplus` worker, as the real CPU-only build does in the tests.

What it does not do: gRPC (it holds the port as the real server binds it,
and answers nothing there), models other than echo, ensembles, FPGA hardware;
the real server's race that misses repository entries created within a
fraction of a second of one another.
"""
