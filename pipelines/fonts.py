"""The faces `synth` draws with: by default files that pip installs, the same on every machine;
or the user's font files, folders of them, and every face fontconfig finds (`--font`).

matplotlib (a dependency) ships DejaVu, STIX and Computer Modern; small font packages from
PyPI (dependencies too, each a wheel of OFL-licensed files in `<package>/files/`) add modern
sans, serif, condensed, rounded and hand-drawn families, so that a model sees letter shapes
closer to the signs, shop fronts and labels of photographs. Files are found without
importing any package. TensorFlow-free: worker processes import this module.
"""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from PIL import ImageFont

__all__ = ["BUILTIN_FONT", "BUNDLED_FACES", "DEFAULT_FONTS", "FONT_PACKAGES", "SYSTEM_FONTS",
           "bundled_font_folder", "default_fonts", "expand_font_specs", "folder_fonts",
           "load_font", "package_fonts", "system_fonts"]

BUILTIN_FONT = "builtin"  # Pillow's own scalable font (no system font needed)
# Words `--font` takes besides files and folders.
DEFAULT_FONTS = "default"  # the faces below
SYSTEM_FONTS = "system"  # every face fontconfig lists
# matplotlib's text faces: sans, serif and monospace DejaVu; STIX (a Times-like serif);
# Computer Modern roman, bold, italic, sans and typewriter. (Its other files are math
# symbols and a last-resort glyph font.)
BUNDLED_FACES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf", "cmtt10.ttf",
)
# Font packages (module names) whose every face is drawn with. Left out: Amatic SC, whose
# lower case is drawn as small capitals (a case-sensitive label would be wrong), and
# variable fonts (Pillow draws only their default instance, a duplicate face).
FONT_PACKAGES = (
    "font_source_sans_pro", "font_source_serif_pro", "font_lato", "font_hanken_grotesk",
    "font_manrope", "font_rhd", "font_caladea", "font_fjallaone", "font_fredoka_one",
    "font_intuitive",
)
_FONT_EXTENSIONS = (".ttf", ".otf")
# What Pillow's FreeType draws, found in folders and fontconfig's list (a collection's
# first face); bitmap and Type 1 files are left out.
_SCALABLE_EXTENSIONS = (".ttf", ".otf", ".ttc", ".otc")


def _package_folder(module: str) -> str | None:
    # Searched on sys.path itself: the command line marks matplotlib as not importable
    # (loops/lean_imports.py), which `importlib.util.find_spec` would take for "missing".
    spec = importlib.machinery.PathFinder.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return spec.submodule_search_locations[0]


def bundled_font_folder() -> str:
    """matplotlib's font folder, found without importing matplotlib."""
    folder = _package_folder("matplotlib")
    if folder is None:
        raise FileNotFoundError("synth's default fonts come with matplotlib, which is not "
                                "installed: pip install matplotlib, or name fonts with --font")
    return os.path.join(folder, "mpl-data", "fonts", "ttf")


def package_fonts(packages: tuple[str, ...] = FONT_PACKAGES) -> list[str]:
    """Every face of the installed font packages, sorted; a face shipped as both TrueType
    and OpenType counts once (the TrueType file). Packages not installed are skipped."""
    fonts = []
    for module in packages:
        folder = _package_folder(module)
        if folder is None:
            continue
        files = os.path.join(folder, "files")
        names = sorted(os.listdir(files)) if os.path.isdir(files) else []
        faces = {}
        for name in names:
            stem, ext = os.path.splitext(name)
            if ext.lower() in _FONT_EXTENSIONS and "Variable" not in stem:
                if stem not in faces or ext.lower() == ".ttf":
                    faces[stem] = os.path.join(files, name)
        fonts += sorted(faces.values())
    return fonts


def default_fonts() -> list[str]:
    """matplotlib's text faces, the font packages' faces and Pillow's own font."""
    folder = bundled_font_folder()
    return ([os.path.join(folder, name) for name in BUNDLED_FACES] + package_fonts()
            + [BUILTIN_FONT])


def load_font(path: str, size: int) -> "ImageFont.FreeTypeFont":
    """A face at `size` pixels, laid out glyph by glyph as `synth` draws (boxes per glyph)."""
    from PIL import ImageFont  # here: the command line reads this module's names only
    if path == BUILTIN_FONT:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size=size, layout_engine=ImageFont.Layout.BASIC)


def folder_fonts(folder: str) -> list[str]:
    """Every scalable font file under `folder` (its subfolders too), sorted."""
    found = []
    for root, _, names in os.walk(folder):
        found += [os.path.join(root, name) for name in names
                  if os.path.splitext(name)[1].lower() in _SCALABLE_EXTENSIONS]
    return sorted(found)


def system_fonts() -> list[str]:
    """Every scalable font file fontconfig lists (`fc-list`), sorted."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise FileNotFoundError("--font=system lists the machine's fonts with fontconfig's "
                                "fc-list, which is not installed (apt-get install fontconfig); "
                                "or name font files or folders")
    listed = subprocess.run([fc_list, "--format=%{file}\n"], capture_output=True, text=True,
                            timeout=120, check=True).stdout.splitlines()
    return sorted({path for path in listed
                   if os.path.splitext(path)[1].lower() in _SCALABLE_EXTENSIONS})


def expand_font_specs(specs: Sequence[str]) -> list[str]:
    """`--font`'s values as font files, in order, each once: a file as it is, a folder as
    the font files under it, `default` as `default_fonts()`, `system` as `system_fonts()`.
    No values: `default_fonts()`."""
    fonts: list[str] = []
    for spec in specs or [DEFAULT_FONTS]:
        if spec == DEFAULT_FONTS:
            fonts += default_fonts()
        elif spec == SYSTEM_FONTS:
            fonts += system_fonts()
        elif os.path.isdir(spec):
            fonts += folder_fonts(spec)
        else:
            fonts.append(spec)
    return list(dict.fromkeys(fonts))
