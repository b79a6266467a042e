"""`python -m xgbserver --model_dir=<uri> [--nthread=N] [ModelServer flags]`, as upstream."""

from functools import partial

from standin_server import add_nthread_flag, parse_server_flags, run, server_parser

from xgbserver.model import XGBoostModel

parser = server_parser()
add_nthread_flag(parser, "XGBoost")
args = parse_server_flags(parser)

if __name__ == "__main__":
    run(
        args,
        XGBoostModel(args.model_name, args.model_dir, args.nthread),
        model_for=partial(XGBoostModel, nthread=args.nthread),
    )
