"""`python -m pmmlserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream.

Upstream refuses more than one worker after loading the model (the Py4J
gateway to the JVM cannot be shared by forked processes): the server exits
with kserve's WorkersShouldBeLessThanMaxWorkersError.
"""

from standin_server import parse_server_flags, run, server_parser

from pmmlserver.model import PmmlModel

MAX_WORKERS = 1

parser = server_parser()
args = parse_server_flags(parser)

if __name__ == "__main__":
    run(args, PmmlModel(args.model_name, args.model_dir), max_workers=MAX_WORKERS)
