from __future__ import annotations

import numpy as np

from areoscan.annotations import Instance
from areoscan.distill.instances import instances_map, map_instances, split_touching


def test_connected_parts_become_scored_boxes_in_image_pixels():
    prob = np.zeros((8, 8), np.float32)
    prob[1:3, 1:3] = 0.9  # one part, 2 x 2 map pixels
    prob[5, 5] = prob[6, 6] = 0.7  # diagonal neighbours: one part under 8-connectivity
    prob[0, 7] = 0.4  # under the threshold
    insts = sorted(map_instances(prob, 80, 160, "pit"), key=lambda i: i.box)
    assert [i.label for i in insts] == ["pit", "pit"]
    assert insts[0].box == (20.0, 10.0, 60.0, 30.0)  # map px = 20 image px wide, 10 tall
    assert insts[1].box == (100.0, 50.0, 140.0, 70.0)
    assert np.isclose(insts[0].score, 0.9) and np.isclose(insts[1].score, 0.7)
    assert map_instances(prob, 80, 160, "pit", min_pixels=3) == [insts[0]]
    assert map_instances(np.zeros((4, 4)), 10, 10, "pit") == []


def test_detections_paint_the_map_masks_and_boxes_above_the_score():
    mask = np.zeros((40, 40), bool)
    mask[0:10, 0:20] = True
    dets = [
        Instance("pit", (0, 0, 20, 10), mask=mask, score=0.9),
        Instance("pit", (20, 20, 40, 40), score=0.8),  # box only: fills its box
        Instance("pit", (0, 30, 10, 40), score=0.2),  # below min_score
    ]
    out = instances_map(dets, 4, 40, 40)
    want = np.zeros((4, 4), bool)
    want[0, 0:2] = True
    want[2:4, 2:4] = True
    assert np.array_equal(out, want)
    # the round trip: painted parts come back as instances on the same boxes
    back = map_instances(out.astype(np.float32), 40, 40, "pit")
    assert sorted(i.box for i in back) == [(0.0, 0.0, 20.0, 10.0), (20.0, 20.0, 40.0, 40.0)]


def _disc(side: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:side, :side]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def test_touching_pits_are_cut_apart_and_single_ones_kept_whole():
    chain = _disc(40, 20, 10, 6) | _disc(40, 20, 21, 6)  # two pits overlapping by one pixel column
    chain |= _disc(40, 6, 34, 0.5)  # one-pixel pit: kept
    ellipse = ((np.mgrid[:40, :40][0] - 32) / 4) ** 2 + (
        (np.mgrid[:40, :40][1] - 20) / 14
    ) ** 2 <= 1
    prob = (chain | ellipse).astype(np.float32)
    boxes = sorted(i.box for i in map_instances(prob, 400, 400, "pit"))
    assert boxes == [
        (40.0, 140.0, 160.0, 270.0),  # left pit of the chain: x 4..16, y 14..26 map px
        (60.0, 280.0, 350.0, 370.0),  # the elongated one stays one object
        (160.0, 140.0, 280.0, 270.0),  # right pit (the neck column goes to one side)
        (340.0, 60.0, 350.0, 70.0),
    ]
    whole = sorted(i.box for i in map_instances(prob, 400, 400, "pit", split_depth=0))
    assert whole[0] == (40.0, 140.0, 280.0, 270.0) and len(whole) == 3  # the chain as one box


def test_split_touching_keeps_every_foreground_pixel_labelled():
    fg = _disc(30, 15, 9, 5) | _disc(30, 15, 19, 5) | _disc(30, 3, 3, 1)
    labels, n = split_touching(fg, 1.0)
    assert n == 3 and set(np.unique(labels[fg])) == {1, 2, 3} and not labels[~fg].any()
    assert split_touching(np.zeros((5, 5), bool), 1.0)[1] == 0
