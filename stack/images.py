"""`python -m stack.images`: the stack's image names as `key=image` lines, for
stack/build-images (one source for the names: render.Images)."""

from __future__ import annotations

import dataclasses

from .render import Images


def lines(images: Images | None = None) -> list[str]:
    images = images or Images()
    return [f"{f.name}={getattr(images, f.name)}" for f in dataclasses.fields(images)]


if __name__ == "__main__":
    print("\n".join(lines()))
