import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from moderation import classifier


class Command(BaseCommand):
    help = (
        "List saved spam model versions, activate one, or roll back to the previously active one. "
        "Workers pick up the change on their next comment, without a restart."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model-dir", type=Path, help="Default: REPLYGUARD_MODEL_DIR.")
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Every version, newest last; * marks the active one.")
        activate = actions.add_parser("activate", help="Make VERSION the active model.")
        activate.add_argument("version")
        actions.add_parser("rollback", help="Activate the version that was active before.")

    def handle(self, *args, action, model_dir=None, version=None, **options):
        model_dir = Path(model_dir or settings.REPLYGUARD_MODEL_DIR)
        if action == "list":
            self.list(model_dir)
        elif action == "activate":
            self.activate(model_dir, version)
        else:
            previous = classifier.previous_version(model_dir)
            if previous is None:
                raise CommandError("No earlier active version to roll back to.")
            self.activate(model_dir, previous)

    def list(self, model_dir: Path) -> None:
        active = classifier.active_version(model_dir)
        for version in classifier.saved_versions(model_dir):
            marker = "*" if version == active else " "
            self.stdout.write(f"{marker} {version}  {summary(model_dir, version)}")

    def activate(self, model_dir: Path, version: str) -> None:
        path = classifier.artifact_path(model_dir, version)
        try:
            classifier.load_version(path, version)  # refuse what a worker could not load
        except Exception as error:
            raise CommandError(f"{version} cannot be activated: {error!r}") from error
        classifier.activate_version(model_dir, version)
        self.stdout.write(self.style.SUCCESS(f"Activated spam model {version}"))


def summary(model_dir: Path, version: str) -> str:
    """Key held-out and news figures from the version's report, as one line."""
    try:
        report = json.loads(classifier.report_path(model_dir, version).read_text())
        held_out, news = report["held_out"], report["news_at_configured_thresholds"]
    except (OSError, ValueError, KeyError):
        return "(no report)"
    return (
        f"F1 {held_out['f1']}  AUC {held_out['roc_auc']}  "
        f"news held {news['held']:.1%} binned {news['binned']:.1%}  "
        f"moderator labels {report.get('moderator_labels', {}).get('used', 0)}"
    )
