"""``python -m nksim.config`` prints the schema reference page (``docs/schema.md``)."""

from nksim.config._reference import reference_markdown

print(reference_markdown(), end="")
