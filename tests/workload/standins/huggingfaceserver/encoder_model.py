"""A sequence-classification model as upstream's Hugging Face encoder model serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kserve
import torch
from kserve.errors import InferenceError
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.utils.utils import get_predict_input, get_predict_response
from transformers import AutoModelForSequenceClassification, AutoTokenizer


class HuggingfaceEncoderModel(kserve.Model):
    """Texts in, one class index per text out (or every class's probability).

    v1: `{"instances": ["text", ...]}`; v2: one BYTES tensor of texts. The
    answer is the argmax of the logits per text, as upstream answers by default.
    """

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
        self._tokenizer: Any = None
        self._model: Any = None

    def load(self) -> bool:
        """Load the tokenizer and the model (CPU, inference mode)."""
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_path))
        self._model = AutoModelForSequenceClassification.from_pretrained(
            str(self.model_path), dtype=self.dtype
        )
        self._model.eval()
        self.ready = True
        return self.ready

    def predict(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """Classify each text of the request."""
        if self._model is None:
            raise InferenceError(f"model {self.name} is not loaded")
        texts = get_predict_input(payload)
        if not isinstance(texts, list):
            raise InferenceError("expected a list of texts")
        try:
            batch = self._tokenizer(
                texts,
                max_length=self.max_length,
                add_special_tokens=self.add_special_tokens,
                padding=True,
                truncation=True,
                return_tensors="pt",
            )
            with torch.no_grad():
                logits = self._model(**batch).logits
        except Exception as error:
            raise InferenceError(str(error)) from error
        if self.return_probabilities:
            rows = torch.softmax(logits.float(), dim=-1).tolist()
            result: list[Any] = [dict(enumerate(row)) for row in rows]
        else:
            result = logits.argmax(dim=-1).tolist()
        return get_predict_response(payload, result, self.name)
