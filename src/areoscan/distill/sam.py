"""Segment Anything from a user's checkpoint: load it safely, infer its shape, prompt it with boxes.

Use :meth:`SamTeacher.from_checkpoint` (what ``--teacher sam:CHECKPOINT[:KIND]`` runs) and
:func:`load_sam` when only the network is wanted (the embedding cache uses its image encoder).
Nothing is ever downloaded: the user passes Meta's ``sam_vit_b_01ec64.pth`` (or vit_l / vit_h) or any
state dict of the same classes. The file is read with ``torch.load(weights_only=True)`` (tensors
only, never arbitrary pickled objects) or as safetensors. The architecture is read off the weights'
shapes (embedding width, depth, heads, window, image size...), so one code path serves the three
published sizes and the tiny randomly initialised model the tests build; a KIND given by the user is
checked against the file, so a vit_l file passed as vit_b is refused with one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from areoscan.distill.prompts import Prompt
from areoscan.errors import ModelError

if TYPE_CHECKING:
    import torch

# The published image encoders: (embedding width, depth) of each kind.
KINDS: dict[str, tuple[int, int]] = {"vit_b": (768, 12), "vit_l": (1024, 24), "vit_h": (1280, 32)}
# SAM's mask-decoder transformer uses 8 heads in every published model; head count leaves no trace
# in the weights, so it is fixed here (the tests' tiny model uses 8 as well).
DECODER_HEADS = 8
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def parse_sam_spec(text: str) -> tuple[Path, str | None]:
    """``CHECKPOINT[:KIND]`` -> (path, kind or None); the path may itself hold colons."""
    head, sep, tail = text.rpartition(":")
    if sep and tail in KINDS:
        return Path(head), tail
    if not text:
        raise ModelError("--teacher sam: give a checkpoint, e.g. sam:sam_vit_b_01ec64.pth:vit_b")
    return Path(text), None


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint (``.pth`` via weights-only torch.load, or ``.safetensors``)."""
    import pickle

    import torch

    if not path.is_file():
        raise ModelError(
            f"{path}: SAM checkpoint not found (areoscan never downloads one: pass the file, "
            "e.g. --teacher sam:sam_vit_b_01ec64.pth:vit_b)"
        )
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"{path}: not a readable SAM checkpoint (tensors only are accepted): {first[:160]}"
        ) from None
    if isinstance(state, dict):
        for key in ("model", "state_dict"):
            if isinstance(state.get(key), dict):
                state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: not a SAM checkpoint (expected a state dict of tensors)")
    return state


@dataclass
class SamShape:
    """The architecture of a SAM checkpoint, as read off its tensors' shapes."""

    img_size: int
    patch: int
    embed_dim: int
    depth: int
    heads: int
    mlp_ratio: float
    window: int
    global_blocks: tuple[int, ...]
    out_chans: int
    mask_in_chans: int
    decoder_depth: int
    decoder_mlp: int
    decoder_downsample: int
    multimask: int
    iou_depth: int
    iou_hidden: int

    @property
    def kind(self) -> str | None:
        """vit_b / vit_l / vit_h when the encoder matches a published one, else None."""
        for name, dims in KINDS.items():
            if dims == (self.embed_dim, self.depth):
                return name
        return None


def _count(state: dict[str, Any], prefix: str) -> int:
    pat = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for k in state if (m := pat.match(k))}
    return max(found) + 1 if found else 0


def infer_shape(state: dict[str, torch.Tensor], source: str) -> SamShape:
    """Read the architecture off the tensors; ModelError if a SAM part is missing."""
    try:
        proj = state["image_encoder.patch_embed.proj.weight"]
        grid = int(state["image_encoder.pos_embed"].shape[1])
        embed, patch = int(proj.shape[0]), int(proj.shape[-1])
        depth = _count(state, "image_encoder.blocks.")
        rel = [
            int(state[f"image_encoder.blocks.{i}.attn.rel_pos_h"].shape[0]) for i in range(depth)
        ]
        head_dim = int(state["image_encoder.blocks.0.attn.rel_pos_h"].shape[1])
        hidden = int(state["image_encoder.blocks.0.mlp.lin1.weight"].shape[0])
        windowed = [r for r in rel if r != 2 * grid - 1]
        dec = "mask_decoder.transformer.layers.0."
        dim = int(state[dec + "cross_attn_token_to_image.q_proj.weight"].shape[1])
        internal = int(state[dec + "cross_attn_token_to_image.q_proj.weight"].shape[0])
        return SamShape(
            img_size=grid * patch,
            patch=patch,
            embed_dim=embed,
            depth=depth,
            heads=embed // head_dim,
            mlp_ratio=hidden / embed,
            window=(windowed[0] + 1) // 2 if windowed else 0,
            global_blocks=tuple(i for i, r in enumerate(rel) if r == 2 * grid - 1 and windowed),
            out_chans=int(state["image_encoder.neck.0.weight"].shape[0]),
            mask_in_chans=int(state["prompt_encoder.mask_downscaling.3.weight"].shape[0]),
            decoder_depth=_count(state, "mask_decoder.transformer.layers."),
            decoder_mlp=int(state[dec + "mlp.lin1.weight"].shape[0]),
            decoder_downsample=dim // internal,
            multimask=int(state["mask_decoder.mask_tokens.weight"].shape[0]) - 1,
            iou_depth=_count(state, "mask_decoder.iou_prediction_head.layers."),
            iou_hidden=int(state["mask_decoder.iou_prediction_head.layers.0.weight"].shape[0]),
        )
    except (KeyError, IndexError, ZeroDivisionError) as exc:
        raise ModelError(f"{source}: not a SAM checkpoint (no tensor {exc})") from None


def build_sam(shape: SamShape) -> Any:
    """An untrained ``segment_anything.modeling.Sam`` of ``shape`` (segment_anything's own classes)."""
    import torch
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    grid = shape.img_size // shape.patch
    encoder = ImageEncoderViT(
        img_size=shape.img_size,
        patch_size=shape.patch,
        embed_dim=shape.embed_dim,
        depth=shape.depth,
        num_heads=shape.heads,
        mlp_ratio=shape.mlp_ratio,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=shape.global_blocks,
        window_size=shape.window,
        out_chans=shape.out_chans,
    )
    prompt = PromptEncoder(
        embed_dim=shape.out_chans,
        image_embedding_size=(grid, grid),
        input_image_size=(shape.img_size, shape.img_size),
        mask_in_chans=shape.mask_in_chans,
    )
    decoder = MaskDecoder(
        num_multimask_outputs=shape.multimask,
        transformer=TwoWayTransformer(
            depth=shape.decoder_depth,
            embedding_dim=shape.out_chans,
            mlp_dim=shape.decoder_mlp,
            num_heads=DECODER_HEADS,
            attention_downsample_rate=shape.decoder_downsample,
        ),
        transformer_dim=shape.out_chans,
        iou_head_depth=shape.iou_depth,
        iou_head_hidden_dim=shape.iou_hidden,
    )
    return Sam(
        image_encoder=encoder,
        prompt_encoder=prompt,
        mask_decoder=decoder,
        pixel_mean=list(PIXEL_MEAN),
        pixel_std=list(PIXEL_STD),
    )


def load_sam(checkpoint: str | Path, kind: str | None = None) -> Any:
    """A SAM network (eval mode) from ``checkpoint``; ModelError for a missing, foreign or
    mismatched file (``kind`` given but the file is another size)."""
    path = Path(checkpoint)
    state = read_state_dict(path)
    shape = infer_shape(state, str(path))
    if kind is not None and shape.kind != kind:
        found = shape.kind or f"a custom size (width {shape.embed_dim}, depth {shape.depth})"
        raise ModelError(f"{path}: checkpoint is {found}, not {kind}; fix the :KIND suffix")
    sam = build_sam(shape)
    try:
        sam.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"{path}: weights do not fit SAM's classes: {first[:160]}") from None
    return sam.eval()


class SamTeacher:
    """SAM prompted with each box (plus its positive points), one mask per prompt.

    A box prompt asks for a single mask (SAM's advice for unambiguous prompts); a lone point asks
    for three and keeps the one SAM scores best. ``last_scores`` holds SAM's predicted IoU per mask.
    """

    name = "sam"

    def __init__(self, sam: Any, label: str = "sam") -> None:
        from segment_anything import SamPredictor

        self.predictor = SamPredictor(sam)
        self.name = label
        self.last_scores: list[float] = []

    @classmethod
    def from_checkpoint(cls, checkpoint: Path, kind: str | None = None) -> SamTeacher:
        sam = load_sam(checkpoint, kind)
        return cls(sam, label=f"sam:{checkpoint.name}" + (f":{kind}" if kind else ""))

    def segment(self, image: np.ndarray, prompts: list[Prompt]) -> list[np.ndarray]:
        import torch

        rgb = np.repeat(image[..., None], 3, axis=2)
        out: list[np.ndarray] = []
        self.last_scores = []
        with torch.inference_mode():
            self.predictor.set_image(rgb)
            for p in prompts:
                pts = np.array(p.points, np.float32).reshape(-1, 2) if p.points else None
                masks, scores, _ = self.predictor.predict(
                    point_coords=pts,
                    point_labels=np.ones(len(pts), np.int64) if pts is not None else None,
                    box=np.array(p.box, np.float32) if p.box is not None else None,
                    multimask_output=p.box is None,
                )
                best = int(np.argmax(scores))
                out.append(np.asarray(masks[best], bool))
                self.last_scores.append(float(scores[best]))
        self.predictor.reset_image()
        return out
