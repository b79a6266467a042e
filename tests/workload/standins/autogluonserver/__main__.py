"""`python -m autogluonserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream."""

from standin_server import serve, server_parser, start_logging

from autogluonserver.model import AutoGluonModel

parser = server_parser()
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    start_logging(args)
    model = AutoGluonModel(args.model_name, args.model_dir)
    model.load()
    serve(model)
