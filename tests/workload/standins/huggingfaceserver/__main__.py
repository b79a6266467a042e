"""`python -m huggingfaceserver [--model_dir=<uri> | --model_id=<id>] [--task=T] ...`, as upstream.

The flags are upstream's (Hugging Face backend). The stand-in implements the
`huggingface` backend only: `--backend=auto` means it, `--backend=vllm` is
refused. Flags that only matter to what the stand-in leaves out (revisions of
a hub model, a remote predictor's tensor names, request logging, token type
ids, lower-casing) are accepted and have no effect.
"""

from pathlib import Path

from kserve_storage import Storage
from standin_server import parse_server_flags, serve, server_parser, start_logging
from transformers import AutoConfig

from huggingfaceserver.encoder_model import HuggingfaceEncoderModel
from huggingfaceserver.generative_model import HuggingfaceGenerativeModel
from huggingfaceserver.tasks import (
    DTYPE_CHOICES,
    SEQUENCE_CLASSIFICATION,
    model_dtype,
    model_task,
)

BACKENDS = ("auto", "huggingface", "vllm")
STANDIN_BACKENDS = ("auto", "huggingface")

parser = server_parser(model_dir_default="/mnt/models")
parser.add_argument("--model_id", default=None, help="Hugging Face model id (a local path here)")
parser.add_argument("--model_revision", default=None, help="Hugging Face model revision")
parser.add_argument("--tokenizer_revision", default=None, help="Hugging Face tokenizer revision")
parser.add_argument("--max_length", dest="max_model_len", type=int, help="Old --max_model_len")
parser.add_argument("--max_model_len", type=int, help="Most tokens the model takes")
parser.add_argument("--disable_lower_case", action="store_true", help="Keep the text's case")
parser.add_argument("--disable_special_tokens", action="store_true", help="No special tokens")
parser.add_argument("--trust_remote_code", action="store_true", help="Run the model's own code")
parser.add_argument("--tensor_input_names", type=lambda names: names.split(","), default=None)
parser.add_argument("--backend", default="auto", choices=BACKENDS, help="Model loading backend")
parser.add_argument("--return_token_type_ids", action="store_true", help="Token type ids too")
parser.add_argument(
    "--return_probabilities", action="store_true", help="Every class's probability"
)
parser.add_argument("--disable_log_requests", action="store_true", help="No request log lines")
parser.add_argument("--task", default=None, help="The task, when the architecture does not say")
parser.add_argument("--max_log_len", "--max-log-len", type=int, default=None)
parser.add_argument("--dtype", default="auto", choices=DTYPE_CHOICES, help="Weights' data type")
args = parse_server_flags(parser)


def load_model() -> HuggingfaceEncoderModel | HuggingfaceGenerativeModel:
    """Build and load the model the flags describe.

    Raises ValueError for a backend or a task the stand-in does not serve.
    """
    if args.backend not in STANDIN_BACKENDS:
        raise ValueError(f"backend {args.backend!r} is not served by this stand-in")
    model_path = args.model_id or Path(Storage.download(args.model_dir))
    config = AutoConfig.from_pretrained(str(model_path), trust_remote_code=args.trust_remote_code)
    dtype = model_dtype(args.dtype, config)
    if model_task(args.task, config) == SEQUENCE_CLASSIFICATION:
        model = HuggingfaceEncoderModel(
            args.model_name,
            model_path,
            dtype,
            max_length=args.max_model_len,
            add_special_tokens=not args.disable_special_tokens,
            return_probabilities=args.return_probabilities,
        )
    else:
        model = HuggingfaceGenerativeModel(args.model_name, model_path, dtype)
    model.load()
    return model


if __name__ == "__main__":
    start_logging(args)
    serve(load_model())
