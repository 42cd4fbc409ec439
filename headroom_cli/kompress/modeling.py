"""The Kompress model: a keep/drop score per line of a tool output, in HuggingFace form.

Each line becomes a mean of hashed byte-trigram and word embeddings (an EmbeddingBag: no vocabulary
file, any script or format) beside a few measured features (features.py); two residual 1-D
convolutions over the sequence of lines give each line its neighbours' context (a traceback's frames,
a heading's paragraph); a linear head gives one logit per line. Registered with AutoConfig/AutoModel
under ``model_type="kompress"``, so ``AutoModel.from_pretrained(folder)`` loads it from a local folder
without trust_remote_code. The model card (models/kompress/README.md) says why this shape (measured).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel

from headroom_cli.kompress.features import N_FEATURES


class KompressConfig(PretrainedConfig):
    model_type = "kompress"

    def __init__(self, buckets: int = 8192, embed_dim: int = 32, n_features: int = N_FEATURES, hidden: int = 48,
                 kernel: int = 5, layers: int = 2, threshold: float = 0.5, max_line_bytes: int = 200, **kwargs):
        self.buckets = buckets
        self.embed_dim = embed_dim  # 0: no learned line representation (features only)
        self.n_features = n_features
        self.hidden = hidden
        self.kernel = kernel
        self.layers = layers  # 0: no context of neighbouring lines
        self.threshold = threshold
        self.max_line_bytes = max_line_bytes
        super().__init__(**kwargs)


class KompressModel(PreTrainedModel):
    config_class = KompressConfig
    base_model_prefix = "kompress"
    main_input_name = "features"

    def __init__(self, config: KompressConfig):
        super().__init__(config)
        self.embed = nn.EmbeddingBag(config.buckets, config.embed_dim, mode="mean") if config.embed_dim else None
        self.proj = nn.Linear(config.embed_dim + config.n_features, config.hidden)
        self.convs = nn.ModuleList(nn.Conv1d(config.hidden, config.hidden, config.kernel, padding=config.kernel // 2)
                                   for _ in range(config.layers))
        self.head = nn.Linear(config.hidden, 1)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.EmbeddingBag):
            nn.init.normal_(module.weight, std=0.1)

    def forward(self, features: torch.Tensor, ids: torch.Tensor | None = None,
                offsets: torch.Tensor | None = None) -> torch.Tensor:
        """features: [lines, n_features]; ids/offsets: the lines' hashed n-grams (EmbeddingBag form).
        Returns one logit per line."""
        x = features
        if self.embed is not None:
            x = torch.cat([self.embed(ids, offsets), features], dim=-1)
        h = nn.functional.gelu(self.proj(x)).T.unsqueeze(0)  # [1, hidden, lines]
        for conv in self.convs:
            h = h + nn.functional.gelu(conv(h))
        return self.head(h.squeeze(0).T).squeeze(-1)


AutoConfig.register("kompress", KompressConfig, exist_ok=True)
AutoModel.register(KompressConfig, KompressModel, exist_ok=True)
