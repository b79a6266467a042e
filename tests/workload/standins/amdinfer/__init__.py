"""Stand-in for amdinfer-server, the AMD Inference Server ("Proteus") v0.4.0.

The real server is a C++ binary that no registry reachable here ships, so the
workload tests run this instead: `python -m amdinfer --model-repository <dir>
--repository-monitoring --http-port N --grpc-port M`. It takes the real
server's flags (and rejects others as its parser does), answers the REST API
as DESIGN.md §4 describes and amdinfer's v0.4.0 sources show (statuses,
bodies, endpoint naming and counting, the repository and its monitoring,
/metrics), writes the same log files, and dies as the real server dies on the
inputs that crash it (SIGSEGV on a non-JSON infer, SIGABRT on a tensor count
the model does not have). It runs one model, `echo`, under the `cplusplus`
worker, as the real CPU-only build does in the tests.

What it does not do: gRPC (the port is accepted, nothing listens on it),
models other than echo, ensembles, FPGA hardware; it listens on 127.0.0.1
where the real server binds 0.0.0.0.
"""
