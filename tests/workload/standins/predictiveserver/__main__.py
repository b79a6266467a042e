"""`python -m predictiveserver --model_dir=<uri> [--framework=F] [--nthread=N] [...]`, as upstream.

KServe's ClusterServingRuntime passes `--framework={{.Annotations.modelFormat}}`.
LightGBM is always served from one process, whatever `--workers` says.
"""

from functools import partial

from standin_server import add_nthread_flag, parse_server_flags, run, server_parser

from predictiveserver.model import DEFAULT_FRAMEWORK, FRAMEWORKS, LIGHTGBM, framework_model

parser = server_parser()
parser.add_argument(
    "--framework",
    default=DEFAULT_FRAMEWORK,
    choices=FRAMEWORKS,
    help=f"ML framework of the model: {', '.join(FRAMEWORKS)} (default: {DEFAULT_FRAMEWORK})",
)
add_nthread_flag(parser, "XGBoost or LightGBM")
args = parse_server_flags(parser)

if __name__ == "__main__":
    model = framework_model(args.framework, args.model_name, args.model_dir, args.nthread)
    run(
        args,
        model,
        workers=1 if args.framework == LIGHTGBM else args.workers,
        model_for=partial(framework_model, args.framework, nthread=args.nthread),
    )
