"""`python -m xgbserver --model_dir=<uri> [--nthread=N] [ModelServer flags]`, as upstream."""

from standin_server import serve, server_parser, start_logging

from xgbserver.model import XGBoostModel

# Upstream's default: one XGBoost thread per server process.
DEFAULT_NTHREAD = 1

parser = server_parser()
parser.add_argument(
    "--nthread", type=int, default=DEFAULT_NTHREAD, help="Number of threads XGBoost uses"
)
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    start_logging(args)
    model = XGBoostModel(args.model_name, args.model_dir, args.nthread)
    model.load()
    serve(model)
