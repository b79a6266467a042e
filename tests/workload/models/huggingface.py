"""Tiny Hugging Face models, built here from a local vocabulary and random weights.

The weights are trained for a few steps on upstream's example sentences until
they give upstream's answers.

`build_sequence_classifier`: DistilBERT, `["Hello, my dog is cute", "I am feeling sad"]` →
classes `[1, 0]` (upstream's distilbert SST-2 example, the same architecture, which vLLM
does not serve: upstream's `--backend=auto` loads it with transformers). `build_causal_lm`:
Llama, the prompt "Hello, my dog is" → "cute", then the end of the text; its attention heads
are 32 wide, the narrowest vLLM's CPU attention takes, so that `--backend=auto` serves it
with vLLM.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
from transformers import (
    DistilBertConfig,
    DistilBertForSequenceClassification,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

SENTENCES = ["Hello, my dog is cute", "I am feeling sad"]
SENTIMENTS = [1, 0]
PROMPT = "Hello, my dog is"
COMPLETION = "cute"
# Renders a conversation as its messages' text, so a chat asks what the prompt asks.
CHAT_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
SPECIAL_TOKENS = {"pad_token": "[PAD]", "unk_token": "[UNK]", "eos_token": "[EOS]"}
WORDS = ["hello", ",", "my", "dog", "is", "cute", "i", "am", "feeling", "sad"]
VOCABULARY = {token: index for index, token in enumerate([*SPECIAL_TOKENS.values(), *WORDS])}
PAD_ID = VOCABULARY[SPECIAL_TOKENS["pad_token"]]
EOS_ID = VOCABULARY[SPECIAL_TOKENS["eos_token"]]
# The classes of upstream's SST-2 example model.
SENTIMENT_LABELS = {0: "NEGATIVE", 1: "POSITIVE"}
TRAINING_STEPS = 200
# The causal LM's attention: vLLM's CPU attention takes heads of 32 values or more.
HEADS = 2
HEAD_SIZE = 32
SEED = 0


def build_sequence_classifier(model_dir: Path) -> None:
    """A 1-layer DistilBERT that classifies the two example sentences as upstream's model does."""
    tokenizer = _tokenizer()
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=16,
        n_layers=1,
        n_heads=2,
        hidden_dim=32,
        max_position_embeddings=32,
        pad_token_id=PAD_ID,
    )
    config.id2label = SENTIMENT_LABELS
    torch.manual_seed(SEED)
    model = DistilBertForSequenceClassification(config)
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    labels = torch.tensor(SENTIMENTS)
    _train(model, lambda: model(**batch, labels=labels).loss)
    with torch.no_grad():
        answer = model(**batch).logits.argmax(dim=-1).tolist()
    _check("sequence classifier", answer, SENTIMENTS)
    _save(model, tokenizer, model_dir)


def build_causal_lm(model_dir: Path) -> None:
    """A 1-layer Llama that completes the example prompt with one word and stops.

    A `*ForCausalLM` architecture, so that the server infers the text generation task.
    """
    tokenizer = _tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HEADS * HEAD_SIZE,
        intermediate_size=2 * HEADS * HEAD_SIZE,
        num_hidden_layers=1,
        num_attention_heads=HEADS,
        num_key_value_heads=HEADS,
        max_position_embeddings=32,
        eos_token_id=EOS_ID,
        bos_token_id=EOS_ID,
        pad_token_id=PAD_ID,
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config)
    text = tokenizer(f"{PROMPT} {COMPLETION} {tokenizer.eos_token}", return_tensors="pt")
    _train(model, lambda: model(**text, labels=text["input_ids"]).loss)
    prompt = tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        # transformers' own annotation of `generate` does not accept its own models' classes.
        output = model.generate(  # pyright: ignore[reportAttributeAccessIssue]
            **prompt, max_new_tokens=4, do_sample=False
        )
    answer = tokenizer.decode(output[0][prompt["input_ids"].shape[1] :], skip_special_tokens=True)
    _check("causal language model", answer, COMPLETION)
    tokenizer.chat_template = CHAT_TEMPLATE
    _save(model, tokenizer, model_dir)


def _tokenizer() -> PreTrainedTokenizerFast:
    """A lower-casing word-level tokenizer over the example sentences' words."""
    backend = Tokenizer(models.WordLevel(VOCABULARY, unk_token=SPECIAL_TOKENS["unk_token"]))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=backend, **SPECIAL_TOKENS)


def _train(model: PreTrainedModel, loss: Callable[[], torch.Tensor]) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(TRAINING_STEPS):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    model.eval()


def _check(what: str, answer: object, expected: object) -> None:
    """Refuse to save a model that does not give the answer the tests expect of it."""
    if answer != expected:
        raise RuntimeError(f"the {what} answers {answer!r} after training, not {expected!r}")


def _save(model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, model_dir: Path) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
