"""`python -m sklearnserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream.

The parser extends kserve's own (`parents=[kserve.model_server.parser]`), so
every ModelServer flag is accepted exactly as upstream accepts it, unknown
flags included (parse_known_args).
"""

from standin_server import serve, server_parser, start_logging

from sklearnserver.model import SKLearnModel

parser = server_parser()
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    start_logging(args)
    model = SKLearnModel(args.model_name, args.model_dir)
    model.load()
    serve(model)
