"""Counting and reporting bad samples: each names its source and reason; a JSON report."""

from __future__ import annotations

import collections
import dataclasses
import json
import logging

from textscanner import storage

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ConversionReport:
    """What a conversion wrote and what it rejected, and why."""

    written: int = 0
    # Records kept with their unread symbols left out of the label (validation.py).
    relabelled: int = 0
    # Word-only records given boxes by a model (`convert --pseudo_boxes_from`), and those
    # it could not give boxes to.
    pseudo_boxed: int = 0
    left_word_only: int = 0
    # Records written without character boxes (word-only; after any pseudo-boxing).
    without_boxes: int = 0
    # Images stored turned as their EXIF orientation said (pipelines/orientation.py).
    turned_upright: int = 0
    # Images stored smaller than their source, as training can use them (stored_size.py).
    shrunk: int = 0
    errors: list[dict] = dataclasses.field(default_factory=list)
    shards: list[str] = dataclasses.field(default_factory=list)
    log_limit: int = 20

    def add_error(self, source: str, reason: str, message: str) -> None:
        self.errors.append({"source": source, "reason": reason, "message": message})
        if len(self.errors) <= self.log_limit:
            log.warning("skipped %s: %s: %s", source, reason, message)
        elif len(self.errors) == self.log_limit + 1:
            log.warning("more skipped samples: see the report file for all of them")

    @property
    def by_reason(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(e["reason"] for e in self.errors).items()))

    def summary(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in self.by_reason.items()) or "none"
        relabelled = (f"; {self.relabelled} label(s) without their unread symbols"
                      if self.relabelled else "")
        boxed = (f"; {self.pseudo_boxed} given boxes by a model, {self.left_word_only} left "
                 f"word-only" if self.pseudo_boxed or self.left_word_only else "")
        turned = (f"; {self.turned_upright} image(s) turned upright as their EXIF orientation "
                  f"says" if self.turned_upright else "")
        shrunk = (f"; {self.shrunk} large image(s) stored shrunk" if self.shrunk else "")
        return f"wrote {self.written} records to {len(self.shards)} shard(s){relabelled}{boxed}" \
               f"{turned}{shrunk}; skipped {len(self.errors)} ({reasons})"

    def to_json(self) -> dict:
        return {"written": self.written, "relabelled": self.relabelled,
                "pseudo_boxed": self.pseudo_boxed, "left_word_only": self.left_word_only,
                "without_boxes": self.without_boxes, "turned_upright": self.turned_upright,
                "shrunk": self.shrunk, "skipped": len(self.errors),
                "skipped_by_reason": self.by_reason, "shards": self.shards,
                "errors": self.errors}

    def save(self, path: str) -> None:
        with storage.open_file(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, ensure_ascii=False, indent=1)
