import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from moderation.abuse import ARTIFACT as ABUSE_ARTIFACT
from moderation.abuse import classifier as abuse_classifier
from moderation.spam import classifier, shadow, versions
from moderation.wording import percent


class Command(BaseCommand):
    help = (
        "List saved spam model versions, activate one, or roll back to the previously active one; "
        "put a candidate in shadow mode and see where it disagrees with the active one. With "
        "--abuse, the same for the abuse model. Workers pick up the change on their next "
        "comment, without a restart."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--model-dir",
            type=Path,
            help="Default: REPLYGUARD_MODEL_DIR (REPLYGUARD_ABUSE_MODEL_DIR with --abuse).",
        )
        parser.add_argument("--abuse", action="store_true", help="The abuse model's versions.")
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser(
            "list", help="Every version, newest last; * marks the active one, s the shadow one."
        )
        activate = actions.add_parser("activate", help="Make VERSION the active model.")
        activate.add_argument("version")
        actions.add_parser("rollback", help="Activate the version that was active before.")
        candidate = actions.add_parser(
            "shadow", help="Score live comments with VERSION too, deciding nothing; 'off' stops."
        )
        candidate.add_argument("version", metavar="VERSION|off")
        report = actions.add_parser(
            "shadow-report", help="Where the shadow model (or VERSION) disagreed with decisions."
        )
        report.add_argument("version", nargs="?", help="Default: the current shadow version.")
        report.add_argument("--examples", type=int, default=10, help="Disagreements to show.")

    def handle(
        self, *args, action, model_dir=None, abuse=False, version=None, examples=10, **options
    ):
        default = settings.REPLYGUARD_ABUSE_MODEL_DIR if abuse else settings.REPLYGUARD_MODEL_DIR
        model_dir = Path(model_dir or default)
        self.loads = abuse_classifier.load_version if abuse else classifier.load_version
        self.kind = "abuse" if abuse else "spam"
        # What a shadow version is checked against without loading it (spam's by default).
        self.expected = ABUSE_ARTIFACT if abuse else {}
        if action == "list":
            self.list(model_dir)
        elif action == "activate":
            self.activate(model_dir, version)
        elif action == "shadow":
            self.set_shadow(model_dir, version)
        elif action == "shadow-report":
            self.print_shadow_report(model_dir, version, examples)
        else:
            previous = versions.previous_version(model_dir)
            if previous is None:
                raise CommandError("No earlier active version to roll back to.")
            self.activate(model_dir, previous)

    def list(self, model_dir: Path) -> None:
        markers = {versions.shadow_version(model_dir): "s", versions.active_version(model_dir): "*"}
        for version in versions.saved_versions(model_dir):
            marker = markers.get(version, " ")
            self.stdout.write(f"{marker} {version}  {version_one_line(model_dir, version)}")

    def activate(self, model_dir: Path, version: str) -> None:
        try:
            self.loads(model_dir, version)  # refuse what a worker could not load
        except Exception as error:
            raise CommandError(f"{version} cannot be activated: {error!r}") from error
        versions.activate_version(model_dir, version)
        self.stdout.write(self.style.SUCCESS(f"Activated {self.kind} model {version}"))
        if version == versions.shadow_version(model_dir):
            versions.shadow_clear(model_dir)  # a model cannot shadow itself
            self.stdout.write("It was in shadow mode: shadow mode is now off.")

    def set_shadow(self, model_dir: Path, version: str) -> None:
        if version == "off":
            versions.shadow_clear(model_dir)
            self.stdout.write(self.style.SUCCESS("Shadow mode is off."))
            return
        try:
            versions.shadow_set(model_dir, version, **self.expected)
        except versions.UnusableCandidateError as error:
            raise CommandError(f"{version} cannot be put in shadow mode: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(
                f"{self.kind} model {version} now scores live comments in shadow mode, "
                "deciding nothing."
            )
        )

    def print_shadow_report(self, model_dir: Path, version: str | None, examples: int) -> None:
        version = version or versions.shadow_version(model_dir)
        if version is None:
            raise CommandError("No model is in shadow mode: pass the VERSION to report on.")
        for line in report_lines(shadow.shadow_report(version, examples=examples)):
            self.stdout.write(line)


def version_one_line(model_dir: Path, version: str) -> str:
    """Key held-out and news figures from the version's report, as one line."""
    try:
        report = json.loads(versions.report_path(model_dir, version).read_text())
        held_out = report["held_out"]
        if "f1" not in held_out:  # an abuse model's report
            return (
                f"AUC {held_out['roc_auc']}  news AUC {held_out.get('news_roc_auc', '-')}  "
                f"moderator labels {report.get('moderator_labels', {}).get('used', 0)}"
            )
        news = report["news_at_configured_thresholds"]
    except (OSError, ValueError, KeyError):
        return "(no report)"
    return (
        f"F1 {held_out['f1']}  AUC {held_out['roc_auc']}  "
        f"news held {news['held']:.1%} binned {news['binned']:.1%}  "
        f"moderator labels {report.get('moderator_labels', {}).get('used', 0)}"
    )


def report_lines(report: dict) -> list[str]:
    """The shadow report as lines to read in a terminal."""
    if not report["total"]:
        return [f"{report['version']} has scored no comment in shadow mode yet."]
    lines = [
        f"{report['version']} scored {report['total']} comment(s) in shadow mode and agreed with "
        f"the decision on {report['agreeing']} ({percent(report['agreement'], most=100)}).",
        "Decided -> candidate would decide: comments",
    ]
    for pair in report["matrix"]:
        differs = "" if pair["active_status"] == pair["status"] else "  (disagree)"
        lines.append(f"  {pair['active_status']} -> {pair['status']}: {pair['count']}{differs}")
    if report["disagreements"]:
        lines.append("Latest disagreements (decided score/status -> candidate's):")
    for example in report["disagreements"]:
        lines.append(
            f"  #{example['comment_id']} {percent(example['active_score'])} "
            f"{example['active_status']} -> {percent(example['candidate_score'])} "
            f"{example['status']}: {example['body']}"
        )
    return lines
