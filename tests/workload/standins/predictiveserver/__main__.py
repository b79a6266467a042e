"""`python -m predictiveserver --model_dir=<uri> [--framework=F] [--nthread=N] [...]`, as upstream.

KServe's ClusterServingRuntime passes `--framework={{.Annotations.modelFormat}}`.
LightGBM is always served from one process, whatever `--workers` says.
"""

from standin_server import serve, server_parser, start_logging

from predictiveserver.model import DEFAULT_FRAMEWORK, FRAMEWORKS, LIGHTGBM, framework_model

# Upstream's default: one XGBoost or LightGBM thread per server process.
DEFAULT_NTHREAD = 1

parser = server_parser()
parser.add_argument(
    "--framework",
    default=DEFAULT_FRAMEWORK,
    choices=FRAMEWORKS,
    help=f"ML framework of the model: {', '.join(FRAMEWORKS)} (default: {DEFAULT_FRAMEWORK})",
)
parser.add_argument(
    "--nthread", type=int, default=DEFAULT_NTHREAD, help="Threads XGBoost or LightGBM use"
)
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    start_logging(args)
    model = framework_model(args.framework, args.model_name, args.model_dir, args.nthread)
    model.load()
    serve(model, workers=1 if args.framework == LIGHTGBM else args.workers)
