"""`python -m huggingfaceserver [--model_dir=<uri> | --model_id=<id>] [--task=T] ...`, as upstream.

The flags are upstream's. As upstream, `--backend=vllm` or `auto` serves the model
with vLLM when vLLM can be imported and knows every architecture of the model
(generative models only here: vLLM's pooling models are refused), else with
transformers (`--backend=huggingface` always). Flags that only matter to what the
stand-in leaves out (revisions of a hub model, a remote predictor's tensor names,
request logging, token type ids, lower-casing, vLLM's own flags besides
`--max_model_len` and `--dtype`) are accepted and have no effect.
"""

import importlib.util
from pathlib import Path
from typing import Any

from kserve_storage import Storage
from standin_server import parse_server_flags, serve, server_parser, start_logging
from transformers import AutoConfig

from huggingfaceserver.encoder_model import HuggingfaceEncoderModel
from huggingfaceserver.generative_model import HuggingfaceGenerativeModel
from huggingfaceserver.tasks import (
    DTYPE_CHOICES,
    SEQUENCE_CLASSIFICATION,
    TEXT_GENERATION,
    model_dtype,
    model_task,
)

BACKENDS = ("auto", "huggingface", "vllm")
VLLM_BACKENDS = ("auto", "vllm")

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


def load_model() -> Any:
    """Build and load the model the flags describe.

    Raises RuntimeError for `--backend=vllm` without vLLM, ValueError for a model or a
    task the stand-in does not serve.
    """
    vllm_there = importlib.util.find_spec("vllm") is not None
    if args.backend == "vllm" and not vllm_there:
        raise RuntimeError("Backend is set to 'vllm' but vLLM is not available")
    model_path = args.model_id or Path(Storage.download(args.model_dir))
    if args.backend in VLLM_BACKENDS and vllm_there:
        model = _vllm_model(model_path)
        if model is not None:
            model.load()
            return model
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
        model = HuggingfaceGenerativeModel(args.model_name, model_path, dtype, args.max_model_len)
    model.load()
    return model


def _vllm_model(model_path: Path | str) -> Any:
    """The model on vLLM's engine when vLLM knows its architectures, else None."""
    from huggingfaceserver.vllm_model import VLLMModel, vllm_serves

    if not vllm_serves(model_path, args.trust_remote_code):
        return None
    if model_task(args.task, AutoConfig.from_pretrained(str(model_path))) != TEXT_GENERATION:
        raise ValueError("vLLM's pooling models are not served by this stand-in")
    return VLLMModel(args.model_name, model_path, args.dtype, args.max_model_len)


if __name__ == "__main__":
    start_logging(args)
    serve(load_model())
