"""Stand-in for upstream KServe's `huggingfaceserver` (kserve/python/huggingfaceserver, v0.20).

Same module name and command line as upstream, on the real transformers and
torch (CPU), with the Hugging Face backend only: sequence classification on
KServe's v1 and v2 APIs, and text generation on the OpenAI-compatible routes
kserve's SDK serves (`/openai/v1/completions`, `/openai/v1/chat/completions`).
See tests/workload/standins/README.md for what it leaves out.
"""

from huggingfaceserver.encoder_model import HuggingfaceEncoderModel
from huggingfaceserver.generative_model import HuggingfaceGenerativeModel

__all__ = ["HuggingfaceEncoderModel", "HuggingfaceGenerativeModel"]
