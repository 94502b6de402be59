"""The one configuration object.

Every knob lives here and is read from the environment with the ``SKILLPATH_`` prefix (or a
``.env`` file), so the CLI, the API and the evaluation scripts all see the same values.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where data lives and which models are used.

    ``home`` holds the SQLite store and the FAISS indexes; ``shared_dir`` is the read-only
    folder with ESCO, the catalogues and the benchmarks (``../shared`` beside the checkout).
    """

    model_config = SettingsConfigDict(env_prefix="SKILLPATH_", env_file=".env", extra="ignore")

    home: Path = Field(Path("var"), description="Data directory: store, indexes, caches.")
    shared_dir: Path = Field(
        Path("../shared"), description="Folder with esco/, catalogue/, bench/, standards/."
    )
    esco_paths: list[Path] = Field(
        default_factory=list,
        description="ESCO CSV download(s): zips or folders. Empty: <shared_dir>/esco.",
    )
    cache_dir: Path | None = Field(
        None, description="Embedding cache folder; default <home>/cache. Safe to share."
    )
    encoder: str = Field("minilm", description="Encoder backend: minilm | e5.")
    partner_encoder: str | None = Field(
        None,
        description=(
            "Second encoder fused with `encoder` by a trained ensemble artefact "
            "(models/artifacts/skills-<encoder>+<partner>.npz), e.g. e5. Slower, more accurate; "
            "`skillpath index build` then builds both encoders' indexes."
        ),
    )
    batch_size: int = Field(64, ge=1, description="Encoding batch size.")
    api_keys: list[str] = Field(default_factory=list, description="Keys for write endpoints.")
    read_requires_key: bool = Field(False, description="Also require a key for reads.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins.")

    # HTTP API limits: each is documented in the OpenAPI schema and docs/api.md.
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest JSON request body (bytes); larger is 413."
    )
    max_import_bytes: int = Field(
        8_388_608, ge=1024, description="Largest catalogue import body (bytes); larger is 413."
    )
    max_text_chars: int = Field(
        20_000, ge=100, description="Longest CV / free text (characters); longer is 422."
    )
    max_query_chars: int = Field(
        200, ge=10, description="Longest search query or target title (characters)."
    )
    max_k: int = Field(50, ge=1, le=100, description="Most results per search or ranking.")
    max_page_size: int = Field(100, ge=1, description="Most credentials per page.")
    max_batch: int = Field(10, ge=1, description="Most requests in one recommendation batch.")

    @property
    def db_path(self) -> Path:
        return self.home / "skillpath.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.index_dir_for(self.encoder)

    def index_dir_for(self, encoder: str) -> Path:
        """FAISS bundles of one encoder: one folder each, so MiniLM and e5 indexes coexist
        in one home (the ensemble matcher reads both)."""
        return self.home / "index" / encoder

    @property
    def embedding_cache_path(self) -> Path:
        return (self.cache_dir or self.home / "cache") / "embeddings.sqlite"

    @cached_property
    def resolved_esco_paths(self) -> list[Path]:
        return list(self.esco_paths) or [self.shared_dir / "esco"]
