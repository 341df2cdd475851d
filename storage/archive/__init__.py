"""Project export/import as one zip: `manifest.json` plus `audio/<sha256>` for every blob used.

The manifest refers to voices and takes by archive-local numbers (`ref`), never by database ids,
so an archive can be imported into any store, any number of times. Import checks the whole archive
(structure, references, every blob's sha256) before it writes anything: a damaged or tampered file
is refused without leaving rows or blobs behind.

Additions that an older reader may safely ignore keep FORMAT_VERSION: a take's optional
"transcript" (added with storage revision 0002) is one. Archives without it import unchanged, and
an older Retake importing a newer archive only loses transcripts, which it can hear again. Narration
scripts and the lexicon (revision 0005, see archive/scripts.py) are another such addition."""
from .export import export_project
from .importer import import_project
from .manifest import FORMAT, FORMAT_VERSION

__all__ = ["FORMAT", "FORMAT_VERSION", "export_project", "import_project"]
