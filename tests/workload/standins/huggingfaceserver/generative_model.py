"""A causal language model on kserve's OpenAI routes, as upstream's Hugging Face backend.

The answers follow upstream v0.20.0 field by field (measured with the same requests,
tests/workload/test_huggingface_answers.py): greedy generation; the id a bare UUID; the
model the request's; `finish_reason` "stop" only when one of the request's stop
sequences ended the text, else "length" (also when the model's end-of-text token did);
the completion tokens counted with that end token; without `max_tokens`, the rest of the
context; a request over the context, `n` > 1 or a frequency penalty refused with
upstream's message (a 500 `OpenAIError`). Chat goes through kserve's
`OpenAIChatAdapterModel`, as upstream's does: the messages rendered by the tokenizer's
chat template, then a completion.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import torch
from kserve.protocol.rest.openai import ChatPrompt, OpenAIChatAdapterModel
from kserve.protocol.rest.openai.errors import OpenAIError
from kserve.protocol.rest.openai.types import (
    ChatCompletionRequest,
    Completion,
    CompletionChoice,
    CompletionRequest,
    UsageInfo,
)
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
)


class StopSequences(StoppingCriteria):
    """Stops once the generated tokens end with one of the stop sequences' tokens."""

    def __init__(self, prompt_length: int, sequences: list[list[int]]) -> None:
        self.prompt_length = prompt_length
        self.sequences = [sequence for sequence in sequences if sequence]
        self.triggered = False

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> bool:  # pyright: ignore[reportIncompatibleMethodOverride]
        generated = input_ids[0][self.prompt_length :].tolist()
        self.triggered = any(generated[-len(stop) :] == stop for stop in self.sequences)
        return self.triggered


class HuggingfaceGenerativeModel(OpenAIChatAdapterModel):
    """Greedy generation with `transformers`' `generate`, one request at a time.

    Serves `/openai/v1/completions` (one string prompt) and
    `/openai/v1/chat/completions`. Streaming is refused (a 500 `OpenAIError`).
    """

    def __init__(
        self, name: str, model_path: Path | str, dtype: torch.dtype, max_length: int | None
    ) -> None:
        super().__init__(name)
        self.ready = False
        self.model_path = model_path
        self.dtype = dtype
        self.requested_max_length = max_length
        self.max_length = 0
        self._tokenizer: Any = None
        self._model: Any = None
        # One generation at a time: the model object is shared by every request.
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Load the tokenizer and the model (CPU, inference mode); the context's length."""
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_path))
        self._model = AutoModelForCausalLM.from_pretrained(str(self.model_path), dtype=self.dtype)
        self._model.eval()
        self.max_length = self.requested_max_length or self._model.config.max_position_embeddings
        self.ready = True
        return self.ready

    def apply_chat_template(self, request: ChatCompletionRequest) -> ChatPrompt:
        """The conversation rendered by the tokenizer's chat template (its errors as they are)."""
        prompt = self._tokenizer.apply_chat_template(
            request.messages, tokenize=False, add_generation_prompt=request.add_generation_prompt
        )
        return ChatPrompt(prompt=prompt)

    async def create_completion(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        request: CompletionRequest,
        raw_request: Any = None,
        context: dict[str, Any] | None = None,
    ) -> Completion:
        """Complete one string prompt."""
        if request.stream:
            raise OpenAIError("streaming is not supported by this stand-in")
        if not isinstance(request.prompt, str):
            raise OpenAIError("the prompt must be one string in this stand-in")
        prompt_ids = self._tokenizer(request.prompt, return_tensors="pt")
        prompt_length = prompt_ids["input_ids"].shape[-1]
        max_tokens = request.max_tokens
        if max_tokens is None:
            max_tokens = self.max_length - prompt_length
        if prompt_length + max_tokens > self.max_length:
            raise OpenAIError(
                f"This model's maximum context length is {self.max_length} tokens."
                f" However, you requested {max_tokens + prompt_length} tokens"
                f" ({prompt_length} in the messages, {max_tokens} in the completion)."
                " Please reduce the length of the messages or completion."
            )
        if request.frequency_penalty is not None and request.frequency_penalty > 0:
            raise OpenAIError("'frequency_penalty' is not supported")
        if request.n > 1:
            raise OpenAIError("'n' > 1 is not supported")
        stops = [request.stop] if isinstance(request.stop, str) else (request.stop or [])
        stop = StopSequences(
            prompt_length,
            [self._tokenizer.encode(text, add_special_tokens=False) for text in stops],
        )
        new_tokens = await asyncio.to_thread(self._generate, prompt_ids, max_tokens, stop)
        text = self._tokenizer.decode(new_tokens, skip_special_tokens=True)
        choice = CompletionChoice(
            index=0, text=text, finish_reason="stop" if stop.triggered else "length"
        )
        return Completion(
            id=str(uuid.uuid4()),
            created=int(time.time()),
            model=request.model or self.name,
            choices=[choice],
            usage=UsageInfo(
                prompt_tokens=prompt_length,
                completion_tokens=len(new_tokens),
                total_tokens=prompt_length + len(new_tokens),
            ),
        )

    def _generate(self, prompt_ids: Any, max_tokens: int, stop: StopSequences) -> list[int]:
        """Greedy generation of up to `max_tokens` tokens: the new tokens' ids."""
        with self._lock, torch.no_grad():
            output = self._model.generate(
                **prompt_ids,
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=self._tokenizer.pad_token_id,
                stopping_criteria=StoppingCriteriaList([stop]),
            )
        return output[0][stop.prompt_length :].tolist()
