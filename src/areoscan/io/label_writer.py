"""Write a detached PDS3 label laid out like a HiRISE RDR label (``X_RED.LBL`` beside ``X_RED.JP2``).

Use :func:`write_label` when a generated image (a synthetic scene, a test fixture) needs a label that
:func:`areoscan.io.label.read_label` parses exactly as it parses an archive label.
Reading, validating and the :class:`~areoscan.io.label.MapLabel` fields live in :mod:`areoscan.io.label`.
"""

from __future__ import annotations

from pathlib import Path

from areoscan.io.atomic import atomic_output
from areoscan.io.label import MapLabel


def _fmt(value: float) -> str:
    """Shortest round-tripping text for a float (PDS accepts plain decimal / exponent forms)."""
    text = repr(float(value))
    return text


def _q(value: str | None) -> str:
    return '"N/A"' if value is None else '"' + value.replace('"', "'") + '"'


def _projection_lines(label: MapLabel) -> list[tuple[str, str]]:
    """(key, value) pairs of the IMAGE_MAP_PROJECTION object."""
    proj_lines = [
        ("MAP_PROJECTION_TYPE", _q(label.projection)),
        ("PROJECTION_LATITUDE_TYPE", "PLANETOCENTRIC"),
        ("A_AXIS_RADIUS", f"{_fmt(label.a_axis_radius)} <KM>"),
        ("B_AXIS_RADIUS", f"{_fmt(label.b_axis_radius)} <KM>"),
        ("C_AXIS_RADIUS", f"{_fmt(label.c_axis_radius)} <KM>"),
        ("COORDINATE_SYSTEM_NAME", label.coordinate_system),
        ("POSITIVE_LONGITUDE_DIRECTION", "EAST"),
        ("KEYWORD_LATITUDE_TYPE", "PLANETOCENTRIC"),
        ("CENTER_LATITUDE", f"{_fmt(label.center_latitude)} <DEG>"),
        ("CENTER_LONGITUDE", f"{_fmt(label.center_longitude)} <DEG>"),
        ("LINE_FIRST_PIXEL", "1"),
        ("LINE_LAST_PIXEL", str(label.lines)),
        ("SAMPLE_FIRST_PIXEL", "1"),
        ("SAMPLE_LAST_PIXEL", str(label.line_samples)),
        ("MAP_PROJECTION_ROTATION", f"{_fmt(label.map_projection_rotation)} <DEG>"),
        ("MAP_SCALE", f"{_fmt(label.map_scale)} <METERS/PIXEL>"),
    ]
    proj_lines += _known_degrees(
        ("MAXIMUM_LATITUDE", label.maximum_latitude),
        ("MINIMUM_LATITUDE", label.minimum_latitude),
    )
    proj_lines += [
        ("LINE_PROJECTION_OFFSET", f"{_fmt(label.line_projection_offset)} <PIXEL>"),
        ("SAMPLE_PROJECTION_OFFSET", f"{_fmt(label.sample_projection_offset)} <PIXEL>"),
    ]
    proj_lines += _known_degrees(
        ("EASTERNMOST_LONGITUDE", label.easternmost_longitude),
        ("WESTERNMOST_LONGITUDE", label.westernmost_longitude),
    )
    return proj_lines


def _known_degrees(*pairs: tuple[str, float | None]) -> list[tuple[str, str]]:
    """(key, "value <DEG>") for each optional angle that is known (a label omits unknown bounds)."""
    return [(key, f"{_fmt(value)} <DEG>") for key, value in pairs if value is not None]


def _image_lines(label: MapLabel, bits: str) -> list[tuple[str, str]]:
    """(key, value) pairs of the IMAGE object (``bits``: SAMPLE_BIT_MASK digits, low bit first)."""
    image_lines = [
        ("DESCRIPTION", '"HiRISE-like projected product written by areoscan"'),
        ("LINES", str(label.lines)),
        ("LINE_SAMPLES", str(label.line_samples)),
        ("BANDS", str(label.bands)),
        ("SAMPLE_TYPE", "MSB_UNSIGNED_INTEGER"),
        ("SAMPLE_BITS", str(label.sample_bits)),
        ("SAMPLE_BIT_MASK", f"2#{bits[::-1]}#"),
    ]
    if label.scaling_factor is not None:
        image_lines.append(("SCALING_FACTOR", _fmt(label.scaling_factor)))
    if label.offset is not None:
        image_lines.append(("OFFSET", _fmt(label.offset)))
    image_lines.append(("BAND_STORAGE_TYPE", "BAND_SEQUENTIAL"))
    if label.core_null is not None:
        image_lines.append(("CORE_NULL", str(label.core_null)))
    image_lines.append(("CORE_HIGH_REPR_SATURATION", str(label.sample_bit_mask)))
    return image_lines


def write_label(path: str | Path, label: MapLabel) -> Path:
    """Write ``label`` as a PDS3 text label laid out like a HiRISE RDR label; return the path.

    Structure: identification keys, IMAGE_MAP_PROJECTION, COMPRESSED_FILE (naming the .JP2),
    UNCOMPRESSED_FILE containing IMAGE. Written atomically with CRLF line endings, as the archive does.
    """
    path = Path(path)
    product = label.product_id or path.stem
    observation = label.observation_id or "_".join(product.split("_")[:3]).upper()
    jp2 = label.compressed_file or f"{product}.JP2"
    img = f"{product}.IMG"
    bits = "".join("1" if label.sample_bit_mask >> i & 1 else "0" for i in range(label.sample_bits))
    ind = "    "
    proj_lines, image_lines = _projection_lines(label), _image_lines(label, bits)

    def block(pairs: list[tuple[str, str]], indent: str) -> list[str]:
        width = max(len(k) for k, _ in pairs)
        return [f"{indent}{k.ljust(width)} = {v}" for k, v in pairs]

    out = [
        "PDS_VERSION_ID            = PDS3",
        "/* Identification Information */",
        "NOT_APPLICABLE_CONSTANT   = -9998",
        'DATA_SET_ID               = "MRO-M-HIRISE-3-RDR-V1.1"',
        f"OBSERVATION_ID            = {_q(observation)}",
        f"PRODUCT_ID                = {_q(product)}",
        'INSTRUMENT_HOST_ID        = "MRO"',
        'INSTRUMENT_ID             = "HIRISE"',
        f"TARGET_NAME               = {label.target_name}",
        'SOFTWARE_NAME             = "areoscan write_label"',
        "OBJECT = IMAGE_MAP_PROJECTION",
        *block(proj_lines, ind),
        "END_OBJECT = IMAGE_MAP_PROJECTION",
        "",
        "/* The JPEG2000 image data file associated with this label. */",
        "OBJECT = COMPRESSED_FILE",
        *block(
            [
                ("FILE_NAME", _q(jp2)),
                ("RECORD_TYPE", "UNDEFINED"),
                ("ENCODING_TYPE", '"JP2"'),
                ("ENCODING_TYPE_VERSION_NAME", '"ISO/IEC15444-1:2004"'),
                ("INTERCHANGE_FORMAT", "BINARY"),
                ("UNCOMPRESSED_FILE_NAME", _q(img)),
                ("REQUIRED_STORAGE_BYTES", f"{label.lines * label.line_samples * 2} <BYTES>"),
            ],
            ind,
        ),
        "END_OBJECT = COMPRESSED_FILE",
        "",
        "/* The source image data definition. */",
        "OBJECT = UNCOMPRESSED_FILE",
        *block(
            [
                ("FILE_NAME", _q(img)),
                ("RECORD_TYPE", "FIXED_LENGTH"),
                ("RECORD_BYTES", f"{label.line_samples * label.sample_bits // 8} <BYTES>"),
                ("FILE_RECORDS", str(label.lines * label.bands)),
                ("^IMAGE", _q(img)),
            ],
            ind,
        ),
        f"{ind}OBJECT = IMAGE",
        *block(image_lines, ind * 2),
        f"{ind}END_OBJECT = IMAGE",
        "END_OBJECT = UNCOMPRESSED_FILE",
        "END",
        "",
    ]
    with atomic_output(path) as tmp:
        tmp.write_bytes("\r\n".join(out).encode("ascii", errors="replace"))
    return path
