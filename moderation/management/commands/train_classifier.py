from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from moderation.models import Comment, ExternalCheck, SiteKey
from moderation.spam import classifier, features, training, versions
from moderation.spam.datasets import news_file, news_missing_note

# A moderator's verdict as a training label: the model's own decisions never count (the queryset
# keeps only decisions a person made).
LABELS = {Comment.Status.SPAM: 1, Comment.Status.PUBLISHED: 0}
EXTERNAL_LABELS = {ExternalCheck.Label.SPAM: 1, ExternalCheck.Label.HAM: 0}


class Command(BaseCommand):
    help = (
        "Train the spam model on the datasets plus moderators' decisions, write its report and "
        "plots beside it, and activate it unless it is worse than the active model."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing if an active model loads."
        )
        parser.add_argument(
            "--force", action="store_true", help="Activate even if worse than the active model."
        )
        parser.add_argument(
            "--shadow",
            action="store_true",
            dest="shadow_mode",
            help="Never activate: score live comments beside the active model, deciding nothing.",
        )
        parser.add_argument(
            "--datasets",
            type=Path,
            help="Default: REPLYGUARD_DATASETS_DIR (the repository's datasets/).",
        )
        parser.add_argument(
            "--evaluation-datasets",
            type=Path,
            help="A folder holding news-comments-dev/ (evaluation only, never shipped); "
            "default: REPLYGUARD_EVALUATION_DATASETS_DIR. Skipped with a note where absent.",
        )
        parser.add_argument("--model-dir", type=Path, help="Default: REPLYGUARD_MODEL_DIR.")

    def handle(
        self,
        *args,
        if_missing,
        force,
        datasets,
        evaluation_datasets,
        model_dir,
        shadow_mode=False,
        **options,
    ):
        if shadow_mode and force:
            raise CommandError("--shadow never activates: leave out --force.")
        datasets_dir = Path(datasets or settings.REPLYGUARD_DATASETS_DIR)
        evaluation_dir = Path(evaluation_datasets or settings.REPLYGUARD_EVALUATION_DATASETS_DIR)
        model_dir = Path(model_dir or settings.REPLYGUARD_MODEL_DIR)
        if if_missing and (active := classifier.load_active_model(model_dir, warn=False)):
            self.stdout.write(f"Model {active.version} is active and loads: nothing to do.")
            return
        if not datasets_dir.is_dir():
            raise CommandError(
                f"Datasets directory {datasets_dir} not found: set REPLYGUARD_DATASETS_DIR "
                "or pass --datasets."
            )
        if not news_file(evaluation_dir).is_file():
            self.stdout.write(news_missing_note(evaluation_dir))
        version, report = self.train(
            datasets_dir,
            evaluation_dir,
            model_dir,
            moderator_labels(),
            site_labels(),
            force,
            shadow_mode,
        )
        self.present(version, report, versions.report_path(model_dir, version))
        if shadow_mode:
            self.start_shadow(model_dir, version)
        if not classifier.load_active_model(model_dir, warn=False):
            self.stdout.write(
                self.style.WARNING(f"No active spam model in {model_dir}: comments will be held.")
            )

    def train(
        self,
        datasets_dir: Path,
        evaluation_dir: Path,
        model_dir: Path,
        extra: list,
        sites: list,
        force: bool,
        shadow_mode: bool,
    ):
        steps = training.TRAINING_STEPS
        with tqdm(total=len(steps), desc="train_classifier") as bar:

            def progress(step: str) -> None:
                bar.update(steps.index(step) - bar.n)  # every step before this one is done
                bar.set_postfix_str(step)

            try:
                trained = training.train_and_save(
                    datasets_dir=datasets_dir,
                    evaluation_dir=evaluation_dir,
                    model_dir=model_dir,
                    publish_below=settings.REPLYGUARD_PUBLISH_BELOW,
                    spam_above=settings.REPLYGUARD_SPAM_ABOVE,
                    extra=extra,
                    site_labels=sites,
                    progress=progress,
                    force=force,
                    activate_if_not_worse=not shadow_mode,
                )
            except FileNotFoundError as error:
                raise CommandError(f"Dataset file missing: {error}") from error
            bar.update(len(steps) - bar.n)
        return trained

    def start_shadow(self, model_dir: Path, version: str) -> None:
        try:
            versions.shadow_set(model_dir, version)
        except versions.UnusableCandidateError as error:
            raise CommandError(
                f"{version} was saved but not put in shadow mode: {error}"
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"{version} is in shadow mode: it scores live comments beside the active model "
                "and decides nothing. See where they disagree with "
                "`manage.py model_versions shadow-report` or in the admin's Shadow scores page."
            )
        )

    def present(self, version: str, report: dict, report_file: Path) -> None:
        held_out, news = report["held_out"], report["news_at_configured_thresholds"]
        labels, gate = report["moderator_labels"], report["gate"]
        self.stdout.write(
            f"Trained {version} on {report['training_rows']} rows, of which "
            f"{labels['used']} moderator labels ({labels['spam_rows']} spam in {labels['rows']}) "
            f"and {report['site_labels']['used']} labels from other sites."
        )
        self.stdout.write(
            f"Held-out spam at p >= 0.5: F1 {held_out['f1']}, precision {held_out['precision']}, "
            f"recall {held_out['recall']}, ROC AUC {held_out['roc_auc']}"
        )
        self.stdout.write(
            f"At publish_below {news['publish_below']} / spam_above {news['spam_above']} "
            "(rows never trained on):"
        )
        for group, rates in report["by_group_at_configured_thresholds"].items():
            self.stdout.write(
                f"  {group}: {rates['published']:.1%} published, {rates['held']:.1%} held, "
                f"{rates['binned']:.1%} binned"
            )
        self.stdout.write(f"Trained in {report['training_seconds']} s. Report: {report_file}")
        if gate["activated"]:
            forced = " (forced)" if gate["worse_because"] else ""
            self.stdout.write(self.style.SUCCESS(f"Activated spam model {version}{forced}"))
        elif gate["worse_because"]:
            self.stdout.write(
                self.style.WARNING(
                    f"Kept the active model {gate['active_version']}: the new one is worse "
                    f"({'; '.join(gate['worse_because'])}). "
                    f"Activate it anyway with: manage.py model_versions activate {version}"
                )
            )


def moderator_labels() -> list[tuple[str, int]]:
    """Our moderators' decisions on comments, and their corrections of other sites' checks."""
    comments = Comment.objects.labeled_by_moderators().only("body", "author_name", "author_url")
    corrected = ExternalCheck.objects.filter(label_source=ExternalCheck.LabelSource.MODERATOR)
    return [(form_text(c), LABELS[c.moderator_decision]) for c in comments.iterator()] + [
        (form_text(check), EXTERNAL_LABELS[check.label]) for check in corrected.iterator()
    ]


def site_labels() -> list[tuple[str, int]]:
    """Each site's latest REPLYGUARD_SITE_LABELS_MAX submit-spam / submit-ham labels (not the
    is_test ones): kept apart from the moderators' and weighed less (training_weights)."""
    labels = []
    for site in SiteKey.objects.all():
        reported = (
            site.checks.filter(label_source=ExternalCheck.LabelSource.SITE, is_test=False)
            .exclude(label="")
            .order_by("-created_at")[: settings.REPLYGUARD_SITE_LABELS_MAX]
        )
        labels += [(form_text(check), EXTERNAL_LABELS[check.label]) for check in reported]
    return labels


def form_text(row) -> str:
    return features.comment_text(
        body=row.body, author_name=row.author_name, author_url=row.author_url
    )
