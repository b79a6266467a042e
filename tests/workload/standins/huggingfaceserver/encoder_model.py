"""A sequence-classification model as upstream's Hugging Face encoder model serves it.

As upstream's (measured with the same requests, tests/workload/test_huggingface_answers.py):
the texts go to the tokenizer as they come, so a wrong input fails with the tokenizer's own
error, and errors are not wrapped (kserve answers `<ErrorType> : <message>`, a 500); the
model is an OpenAI encoder model too, so kserve registers the OpenAI routes (a completion
asked of it is refused by kserve with 400). Embeddings are not served by the stand-in;
rerank is refused with upstream's message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch
from kserve.protocol.infer_type import InferRequest
from kserve.protocol.rest.openai import OpenAIEncoderModel
from kserve.protocol.rest.openai.errors import OpenAIError
from kserve.protocol.rest.openai.types import EmbeddingRequest, RerankRequest
from kserve.utils.utils import get_predict_input
from standin_server import FrameworkModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer


class TextClassifier(NamedTuple):
    """A loaded sequence-classification model and the tokenizer that feeds it."""

    tokenizer: Any
    model: Any


class HuggingfaceEncoderModel(FrameworkModel[TextClassifier], OpenAIEncoderModel):
    """Texts in, one class index per text out (or every class's probability).

    v1: `{"instances": ["text", ...]}`; v2: one BYTES tensor of texts. The
    answer is the argmax of the logits per text, as upstream answers by default.
    """

    wraps_errors = False

    def __init__(
        self,
        name: str,
        model_path: Path | str,
        dtype: torch.dtype,
        max_length: int | None,
        add_special_tokens: bool,
        return_probabilities: bool,
    ) -> None:
        super().__init__(name)
        self.model_path = model_path
        self.dtype = dtype
        self.max_length = max_length
        self.add_special_tokens = add_special_tokens
        self.return_probabilities = return_probabilities

    def load_framework(self) -> TextClassifier:
        """Load the tokenizer and the model (CPU, inference mode) from the local model path."""
        tokenizer = AutoTokenizer.from_pretrained(str(self.model_path))
        model = AutoModelForSequenceClassification.from_pretrained(
            str(self.model_path), dtype=self.dtype
        )
        model.eval()
        return TextClassifier(tokenizer, model)

    def infer(
        self, classifier: TextClassifier, payload: dict[str, Any] | InferRequest
    ) -> list[Any]:
        """Classify each text of the request: class indexes, or probabilities by class index."""
        texts = get_predict_input(payload)
        batch = classifier.tokenizer(
            texts,
            max_length=self.max_length,
            add_special_tokens=self.add_special_tokens,
            padding=True,
            truncation=True,
            return_tensors="pt",
        )
        with torch.no_grad():
            logits = classifier.model(**batch).logits
        if self.return_probabilities:
            rows = torch.softmax(logits.float(), dim=-1).tolist()
            return [dict(enumerate(row)) for row in rows]
        return logits.argmax(dim=-1).tolist()

    async def create_embedding(  # pyright: ignore[reportIncompatibleMethodOverride]
        self, request: EmbeddingRequest, raw_request: Any = None, context: Any = None
    ) -> Any:
        raise OpenAIError("embeddings are not served by this stand-in")

    async def create_rerank(  # pyright: ignore[reportIncompatibleMethodOverride]
        self, request: RerankRequest, raw_request: Any = None, context: Any = None
    ) -> Any:
        raise OpenAIError("Rerank is not implemented for Encoder model with huggingface backend")
