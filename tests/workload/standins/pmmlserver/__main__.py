"""`python -m pmmlserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream.

Upstream refuses more than one worker after loading the model (the Py4J
gateway to the JVM cannot be shared by forked processes): the server exits
with kserve's WorkersShouldBeLessThanMaxWorkersError.
"""

from kserve.errors import WorkersShouldBeLessThanMaxWorkersError
from standin_server import serve, server_parser, start_logging

from pmmlserver.model import PmmlModel

MAX_WORKERS = 1

parser = server_parser()
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    start_logging(args)
    model = PmmlModel(args.model_name, args.model_dir)
    model.load()
    if args.workers > MAX_WORKERS:
        raise WorkersShouldBeLessThanMaxWorkersError(max_workers=MAX_WORKERS)
    serve(model)
