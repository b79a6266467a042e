"""`python -m lgbserver --model_dir=<uri> [--nthread=N] [kserve ModelServer flags]`, as upstream.

Like upstream, it always serves from one process whatever `--workers` says:
LightGBM's OpenMP threads hang in forked workers.
"""

from standin_server import serve, server_parser, start_logging

from lgbserver.model import LightGBMModel

# Upstream's default: one LightGBM thread per server process.
DEFAULT_NTHREAD = 1

parser = server_parser()
parser.add_argument(
    "--nthread", type=int, default=DEFAULT_NTHREAD, help="Number of threads LightGBM uses"
)
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    start_logging(args)
    model = LightGBMModel(args.model_name, args.model_dir, args.nthread)
    model.load()
    serve(model, workers=1)
