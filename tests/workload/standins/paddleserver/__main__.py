"""`python -m paddleserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream."""

from standin_server import serve, server_parser, start_logging

from paddleserver.model import PaddleModel

parser = server_parser()
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    start_logging(args)
    model = PaddleModel(args.model_name, args.model_dir)
    model.load()
    serve(model)
