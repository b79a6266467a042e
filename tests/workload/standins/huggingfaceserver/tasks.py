"""Which task a model serves: upstream's task names, and the ones this stand-in implements."""

from __future__ import annotations

import torch
from transformers import PretrainedConfig

SEQUENCE_CLASSIFICATION = "sequence_classification"
TEXT_GENERATION = "text_generation"
STANDIN_TASKS = (SEQUENCE_CLASSIFICATION, TEXT_GENERATION)
# Upstream's inference of a task from the model's architecture (the class name's ending).
ARCHITECTURE_SUFFIX_TASKS = {
    "TapasForQuestionAnswering": "table_question_answering",
    "ForQuestionAnswering": "question_answering",
    "ForTokenClassification": "token_classification",
    "ForSequenceClassification": SEQUENCE_CLASSIFICATION,
    "ForMultipleChoice": "multiple_choice",
    "ForMaskedLM": "fill_mask",
    "ForCausalLM": TEXT_GENERATION,
    "ForConditionalGeneration": "text2text_generation",
}
DTYPES = {
    "float32": torch.float32,
    "float": torch.float32,
    "float16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
}
DTYPE_CHOICES = ("auto", *DTYPES)


def model_task(requested: str | None, config: PretrainedConfig) -> str:
    """The task named by `--task`, else the one the architecture implies; only the stand-in's.

    Raises ValueError naming the tasks served here when the model needs another.
    """
    task = requested
    if task is None:
        architecture = (config.architectures or [""])[0]
        task = next(
            (
                name
                for suffix, name in ARCHITECTURE_SUFFIX_TASKS.items()
                if architecture.endswith(suffix)
            ),
            None,
        )
        if task is None:
            raise ValueError(f"no task can be inferred from {architecture!r}: set --task")
    if task not in STANDIN_TASKS:
        raise ValueError(
            f"task {task!r} is not served by this stand-in: {', '.join(STANDIN_TASKS)}"
        )
    return task


def model_dtype(requested: str, config: PretrainedConfig) -> torch.dtype:
    """`--dtype`, where `auto` is the model's own dtype, else float32 (the CPU default)."""
    if requested != "auto":
        return DTYPES[requested]
    own = getattr(config, "dtype", None)
    if isinstance(own, torch.dtype):
        return own
    if isinstance(own, str) and own in DTYPES:
        return DTYPES[own]
    return torch.float32
