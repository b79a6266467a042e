"""`python -m sklearnserver --model_dir=<uri> [kserve ModelServer flags]`, as upstream.

The parser extends kserve's own (`parents=[kserve.model_server.parser]`), so
every ModelServer flag is accepted exactly as upstream accepts it, unknown
flags included (parse_known_args).
"""

import argparse

import kserve
from kserve import logging
from kserve.model_server import parser as model_server_parser

from sklearnserver.model import SKLearnModel

parser = argparse.ArgumentParser(parents=[model_server_parser])
parser.add_argument("--model_dir", required=True, help="A URI pointer to the model directory")
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    if args.configure_logging:
        logging.configure_logging(args.log_config_file)
    model = SKLearnModel(args.model_name, args.model_dir)
    model.load()
    kserve.ModelServer().start([model])
