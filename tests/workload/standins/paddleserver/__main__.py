"""`python -m paddleserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream."""

from standin_server import parse_server_flags, run, server_parser

from paddleserver.model import PaddleModel

parser = server_parser()
args = parse_server_flags(parser)

if __name__ == "__main__":
    run(args, PaddleModel(args.model_name, args.model_dir))
