"""Masks from a few boxes: promptable teachers, an embedding cache and a light decoder (SAM distillation).

Use this package when an expert has drawn boxes (or points) around objects and a mask mapper is
wanted: a *teacher* (:mod:`areoscan.distill.teachers`: GrabCut offline, or SAM from a user
checkpoint) turns each prompt into an instance mask (:mod:`areoscan.distill.label` writes them as
COCO JSON + PNGs + review overlays); a light decoder trained on frozen encoder embeddings learns the
landform from those masks. The package sits above :mod:`areoscan.models` and
:mod:`areoscan.annotations` and below the CLI.
"""
