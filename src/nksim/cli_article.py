"""``nksim article``: every claim of the source article with the nksim evidence behind it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nksim.errors import UserError


@click.command("article")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the claims, verdicts and evidence.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Also write article.html and article.json to this folder.")
@click.option("--only", metavar="IDS", help="Comma-separated claim ids (e.g. B4,E1).")
@click.option("--no-cache", is_flag=True, help="Rerun the slow checks instead of reusing "
              "their cached results.")
def article(lang: str, as_json: bool, out_dir: Path | None, only: str | None,
            no_cache: bool) -> None:
    """Check every claim of the source article against nksim's runs and data (offline)."""
    from nksim._article_checks import run_checks
    from nksim._io import atomic_output_dir, check_output_dir
    from nksim.evidence._article import assess, load_claims

    if out_dir is not None:
        check_output_dir(out_dir)
    claims = load_claims()
    if only is not None:
        wanted = {c.strip().upper() for c in only.split(",") if c.strip()}
        if not wanted:
            raise UserError(f"names no claim id (got {only!r}; e.g. B4,E1)", field="--only")
        unknown = wanted - {c.id for c in claims}
        if unknown:
            raise UserError(f"unknown claim id(s) {', '.join(sorted(unknown))} "
                            f"(ids: {', '.join(c.id for c in claims)})", field="--only")
        claims = [c for c in claims if c.id in wanted]
    names = {c.check for c in claims if c.check and not c.untestable}
    checking = "正在检查" if lang == "zh" else "checking"
    findings = run_checks(names, use_cache=not no_cache,
                          progress=lambda n: click.echo(f"{checking} {n} …", err=True))
    result = assess(claims, findings, lang)
    if out_dir is not None:
        from nksim.report.article import render_article

        with atomic_output_dir(out_dir) as staging:
            (staging / "article.html").write_text(render_article(result), encoding="utf-8")
            (staging / "article.json").write_text(
                json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    from nksim.report.article import render_text

    click.echo(render_text(result))
