"""A causal language model on kserve's OpenAI-compatible routes, as upstream serves it."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

import torch
from kserve.protocol.rest.openai import OpenAIGenerativeModel
from kserve.protocol.rest.openai.errors import OpenAIError, create_error_response
from kserve.protocol.rest.openai.types import (
    ChatCompletion,
    ChatCompletionChoice,
    ChatCompletionRequest,
    ChatMessage,
    Completion,
    CompletionChoice,
    CompletionRequest,
    UsageInfo,
)
from transformers import AutoModelForCausalLM, AutoTokenizer

# OpenAI's default when a completion request gives no max_tokens.
DEFAULT_MAX_TOKENS = 16


class HuggingfaceGenerativeModel(OpenAIGenerativeModel):
    """Greedy (or sampled, with a temperature) generation with `transformers`' `generate`.

    Serves `/openai/v1/completions` (one string prompt) and
    `/openai/v1/chat/completions` (the messages rendered by the tokenizer's chat
    template). Streaming and several choices (`n` > 1) are refused with 400.
    """

    def __init__(self, name: str, model_path: Path | str, dtype: torch.dtype) -> None:
        super().__init__(name)
        self.ready = False
        self.model_path = model_path
        self.dtype = dtype
        self._tokenizer: Any = None
        self._model: Any = None
        # One generation at a time: the model object is shared by every request.
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Load the tokenizer and the model (CPU, inference mode)."""
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.model_path))
        self._model = AutoModelForCausalLM.from_pretrained(str(self.model_path), dtype=self.dtype)
        self._model.eval()
        self.ready = True
        return self.ready

    async def create_completion(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        request: CompletionRequest,
        raw_request: Any = None,
        context: dict[str, Any] | None = None,
    ) -> Completion:
        """Complete one string prompt."""
        _refuse_unsupported(request.stream, request.n)
        if not isinstance(request.prompt, str):
            raise _bad_request("the prompt must be one string")
        max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
        text, usage, finish = await asyncio.to_thread(
            self._generate, request.prompt, max_tokens, request.temperature
        )
        choice = CompletionChoice(index=0, text=text, finish_reason=finish)
        return Completion(
            id=f"cmpl-{uuid.uuid4()}",
            created=int(time.time()),
            model=self.name,
            choices=[choice],
            usage=usage,
        )

    async def create_chat_completion(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        request: ChatCompletionRequest,
        raw_request: Any = None,
        context: dict[str, Any] | None = None,
    ) -> ChatCompletion:
        """Answer a conversation, rendered to a prompt by the tokenizer's chat template."""
        _refuse_unsupported(request.stream, request.n)
        if not getattr(self._tokenizer, "chat_template", None):
            raise _bad_request("the model's tokenizer has no chat template")
        prompt = self._tokenizer.apply_chat_template(
            request.messages, tokenize=False, add_generation_prompt=True
        )
        max_tokens = request.max_completion_tokens or request.max_tokens or DEFAULT_MAX_TOKENS
        text, usage, finish = await asyncio.to_thread(
            self._generate, prompt, max_tokens, request.temperature
        )
        message = ChatMessage(role="assistant", content=text)
        choice = ChatCompletionChoice(index=0, message=message, finish_reason=finish)
        return ChatCompletion(
            id=f"chatcmpl-{uuid.uuid4()}",
            created=int(time.time()),
            model=self.name,
            choices=[choice],
            usage=usage,
        )

    def _generate(
        self, prompt: str, max_tokens: int, temperature: float | None
    ) -> tuple[str, UsageInfo, str]:
        """Generate up to `max_tokens` tokens: the new text, the token counts, why it stopped."""
        inputs = self._tokenizer(prompt, return_tensors="pt")
        sampling = {"do_sample": True, "temperature": temperature} if temperature else {}
        with self._lock, torch.no_grad():
            output = self._model.generate(
                **inputs,
                max_new_tokens=max_tokens,
                pad_token_id=self._tokenizer.pad_token_id,
                **sampling,
            )
        prompt_tokens = inputs["input_ids"].shape[1]
        new_tokens = output[0][prompt_tokens:].tolist()
        stopped = bool(new_tokens) and new_tokens[-1] == self._tokenizer.eos_token_id
        text = self._tokenizer.decode(new_tokens, skip_special_tokens=True)
        usage = UsageInfo(
            prompt_tokens=prompt_tokens,
            completion_tokens=len(new_tokens),
            total_tokens=prompt_tokens + len(new_tokens),
        )
        return text, usage, "stop" if stopped else "length"


def _refuse_unsupported(stream: bool | None, choices: int | None) -> None:
    if stream:
        raise _bad_request("streaming is not supported by this server")
    if choices not in (None, 1):
        raise _bad_request("only one choice (n=1) is supported by this server")


def _bad_request(message: str) -> OpenAIError:
    return OpenAIError(create_error_response(message, status_code=HTTPStatus.BAD_REQUEST))
