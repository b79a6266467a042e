"""`python -m autogluonserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream."""

from standin_server import parse_server_flags, run, server_parser

from autogluonserver.model import AutoGluonModel

parser = server_parser()
args = parse_server_flags(parser)

if __name__ == "__main__":
    run(args, AutoGluonModel(args.model_name, args.model_dir), model_for=AutoGluonModel)
