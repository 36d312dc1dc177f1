"""HiRISE observation ids (``ESP_011277_1825``): the one pattern, found in names or checked.

Use :func:`find_observation_id` to read the id out of a file name, a product id or any text (the
split by observation, a raster's identity, annotation groups); :func:`check_observation_id` and
:func:`observation_id_from_name` where an id comes from outside (a user's list, an index row, a
listing) and a bad one must stop the run with a :class:`~areoscan.errors.DataError`.

An id is a three-letter mission phase (PSP, ESP, AEB, TRA, CAL, INT, ...), a six-digit orbit and a
four-digit target code. Ids are returned upper-cased.
"""

from __future__ import annotations

import re

from areoscan.errors import DataError

#: The id itself, without anchors (build other patterns from it).
OBSERVATION_ID_PATTERN = r"[A-Z]{3}_\d{6}_\d{4}"
#: A whole id, upper-case (match against ``text.strip().upper()``).
OBSERVATION_ID_RE = re.compile(rf"^{OBSERVATION_ID_PATTERN}$")
#: A RED product file name for an observation id, e.g. ESP_011277_1825_RED.JP2.
RED_PRODUCT_RE = re.compile(rf"^({OBSERVATION_ID_PATTERN})_RED\.JP2$", re.IGNORECASE)
_ANYWHERE = re.compile(OBSERVATION_ID_PATTERN, re.IGNORECASE)


def find_observation_id(text: str) -> str | None:
    """The first observation id inside ``text`` (any case), upper-cased; None if there is none.

    ``find_observation_id("h0_esp_011277_1825_RED.png") == "ESP_011277_1825"``.
    """
    match = _ANYWHERE.search(text)
    return match.group(0).upper() if match else None


def check_observation_id(value: str, where: str = "input") -> str:
    """Return ``value`` upper-cased if it is a HiRISE observation id, else raise DataError."""
    text = value.strip().upper()
    if not OBSERVATION_ID_RE.match(text):
        raise DataError(
            f"{where}: {value!r} is not a HiRISE observation id (expected e.g. ESP_011277_1825)"
        )
    return text


def observation_id_from_name(name: str, where: str = "input") -> str:
    """Observation id of a RED product file name (``ESP_011277_1825_RED.JP2``), else DataError."""
    match = RED_PRODUCT_RE.match(name)
    if not match:
        raise DataError(f"{where}: {name!r} is not a HiRISE RED product name (ID_RED.JP2)")
    return match.group(1).upper()
