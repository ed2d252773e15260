"""sphinx-gallery hooks of ``conf.py``, in a module so that Sphinx can cache the
configuration (``sphinx_gallery_conf`` names them as ``"_gallery_hooks.<name>"``)."""

import shutil
from pathlib import Path

# each example writes its figure into a directory of its own under the build tree
FIGURES = Path(__file__).resolve().parent / "_build" / "gallery_figures"


def example_output_dir(gallery_conf, script_vars):
    """``--output DIR`` for each example (never ``examples/``, where it is run)."""
    out = FIGURES / Path(script_vars["src_file"]).stem
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return ["--output", str(out)]


def saved_figures_scraper(block, block_vars, gallery_conf):
    """Embed the PNG files an example wrote into its ``--output`` directory.

    The examples save their figure with ``savefig`` and close it, so matplotlib's
    own scraper, which collects the figures left open, sees none.
    """
    from sphinx_gallery.scrapers import figure_rst

    out = FIGURES / Path(block_vars["src_file"]).stem
    paths = []
    for png in sorted(out.glob("*.png")):
        target = next(block_vars["image_path_iterator"])
        shutil.move(str(png), target)
        paths.append(target)
    return figure_rst(paths, gallery_conf["src_dir"])
