"""What an :class:`AnnotationSet` holds, as plain facts (``areoscan annotations info``).

Use :func:`summarize` before training to see class balance, how many observation groups a split by
group can draw from, and the object sizes the detector's anchors must cover.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from areoscan.annotations.model import AnnotationSet


def summarize(ann: AnnotationSet) -> dict[str, Any]:
    """Counts and sizes: images, groups, instances per class, masks, empty images, box size spread."""
    instances = [inst for img in ann.images for inst in img.instances]
    sides = np.array(
        [np.sqrt(max(i.box[2] - i.box[0], 0) * max(i.box[3] - i.box[1], 0)) for i in instances]
    )
    shapes = Counter(str(i.attributes.get("shape", "?")) for i in instances)
    sizes = Counter(f"{img.width}x{img.height}" for img in ann.images)
    return {
        "images": len(ann.images),
        "groups": len({img.group for img in ann.images}),
        "images_without_instances": sum(1 for img in ann.images if not img.instances),
        "instances": len(instances),
        "with_mask": sum(1 for i in instances if i.mask is not None),
        "per_class": ann.counts(),
        "shapes": dict(sorted(shapes.items())),
        "image_sizes": dict(sizes.most_common()),
        "box_side_px": (
            {
                "min": round(float(sides.min()), 1),
                "median": round(float(np.median(sides)), 1),
                "max": round(float(sides.max()), 1),
            }
            if sides.size
            else None
        ),
    }


def format_summary(facts: dict[str, Any]) -> str:
    """The summary as a few aligned text lines."""
    lines = [
        f"images      {facts['images']} ({facts['images_without_instances']} without instances), "
        f"{facts['groups']} groups",
        f"instances   {facts['instances']} ({facts['with_mask']} with a mask)",
        "per class   " + ", ".join(f"{k}: {v}" for k, v in facts["per_class"].items()),
        "shapes      " + ", ".join(f"{k}: {v}" for k, v in facts["shapes"].items()),
        "image sizes " + ", ".join(f"{k}: {v}" for k, v in facts["image_sizes"].items()),
    ]
    if facts["box_side_px"]:
        s = facts["box_side_px"]
        lines.append(
            f"box side    sqrt(w*h) px: min {s['min']}, median {s['median']}, max {s['max']}"
        )
    return "\n".join(lines)
