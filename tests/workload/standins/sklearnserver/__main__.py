"""`python -m sklearnserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream.

The parser extends kserve's own (`parents=[kserve.model_server.parser]`), so
every ModelServer flag is accepted exactly as upstream accepts it, unknown
flags included (parse_known_args).
"""

from standin_server import parse_server_flags, run, server_parser

from sklearnserver.model import SKLearnModel

parser = server_parser()
args = parse_server_flags(parser)

if __name__ == "__main__":
    run(args, SKLearnModel(args.model_name, args.model_dir), model_for=SKLearnModel)
