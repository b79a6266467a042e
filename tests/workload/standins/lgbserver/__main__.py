"""`python -m lgbserver --model_dir=<uri> [--nthread=N] [kserve ModelServer flags]`, as upstream.

Like upstream, it always serves from one process whatever `--workers` says:
LightGBM's OpenMP threads hang in forked workers.
"""

from functools import partial

from standin_server import add_nthread_flag, parse_server_flags, run, server_parser

from lgbserver.model import LightGBMModel

parser = server_parser()
add_nthread_flag(parser, "LightGBM")
args = parse_server_flags(parser)

if __name__ == "__main__":
    run(
        args,
        LightGBMModel(args.model_name, args.model_dir, args.nthread),
        workers=1,
        model_for=partial(LightGBMModel, nthread=args.nthread),
    )
