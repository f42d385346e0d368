import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from moderation import domains
from moderation.abuse import classifier as abuse_classifier
from moderation.spam import classifier, features


class Command(BaseCommand):
    help = (
        "Dry run: score one JSON comment per line ({body, author_name?, author_url?}) and print "
        "one JSON line each with spam_probability, the default policy's decision and reasons, "
        "and abuse_probability with the words that made it (null without an abuse model). "
        "A line that is not such a comment is reported on stderr with its number and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A JSON-lines file, or - for stdin.")
        parser.add_argument("--model-dir", type=Path, help="Default: REPLYGUARD_MODEL_DIR.")
        parser.add_argument(
            "--abuse-model-dir", type=Path, help="Default: REPLYGUARD_ABUSE_MODEL_DIR."
        )

    def handle(self, *args, path, model_dir=None, abuse_model_dir=None, **options):
        model = classifier.load_active_model(model_dir or settings.REPLYGUARD_MODEL_DIR)
        if model is None:
            raise CommandError("No active spam model loads: train or activate one first.")
        abuse_model = abuse_classifier.load_active_model(abuse_model_dir)
        lines = sys.stdin if path == "-" else open_or_fail(path)
        trusted, skipped = domains.domain_lists().trusted, 0  # the newsroom's, as the worker
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                text, body = comment_line_text(line, trusted)
            except ValueError as error:
                self.stderr.write(f"line {number}: {error}; skipped")
                skipped += 1
                continue
            line_scores = scored(model, text) | abuse_scored(abuse_model, body)
            self.stdout.write(json.dumps(line_scores, ensure_ascii=False))
        if skipped:
            raise CommandError(f"{skipped} line(s) skipped, see above.")


def open_or_fail(path: str):
    try:
        return open(path, encoding="utf-8")  # noqa: SIM115 - read lazily, line by line
    except OSError as error:
        raise CommandError(f"Cannot read {path}: {error}") from error


def comment_line_text(line: str, trusted: frozenset) -> tuple[str, str]:
    """(the form as the spam model reads it, the body the abuse model reads)."""
    comment = json.loads(line)  # json.JSONDecodeError is a ValueError
    if not isinstance(comment, dict) or not isinstance(comment.get("body"), str):
        raise ValueError('expected a JSON object with a string "body"')
    text = features.comment_text(
        body=comment["body"],
        author_name=str(comment.get("author_name") or ""),
        author_url=str(comment.get("author_url") or ""),
        trusted_domains=trusted,
    )
    return text, comment["body"]


def abuse_scored(model, body: str) -> dict:
    if model is None:
        return {"abuse_probability": None, "abuse_words": []}
    words = [body[start:end] for start, end in model.offending_words(body)]
    return {
        "abuse_probability": round(model.abuse_probabilities([body])[0], 4),
        "abuse_words": words,
        "abuse_model_version": model.version,
    }


def scored(model: classifier.SpamModel, text: str) -> dict:
    # Imported here: the policy needs the app registry, and only this command needs it.
    from articles.models import Article
    from moderation.policy import policy_band

    probability = model.spam_probability(text)
    decision, _ = policy_band(article=Article(), spam_probability=probability)
    return {
        "spam_probability": round(probability, 4),
        "decision": str(decision),
        "reasons": model.explain(text),
        "model_version": model.version,
    }
