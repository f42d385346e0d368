from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from moderation.abuse import classifier, training
from moderation.models import Cause, Comment

Status = Comment.Status


class Command(BaseCommand):
    help = (
        "Train the abuse model on toxicity-wikipedia plus moderators' decisions ('Reject: "
        "abusive' is abusive, a moderator's publish is not), write its report beside it, and "
        "activate it unless it is worse than the active model."
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
        parser.add_argument("--datasets", type=Path, help="Default: REPLYGUARD_DATASETS_DIR.")
        parser.add_argument(
            "--evaluation-datasets",
            type=Path,
            help="Where news-comments-dev/ is (evaluation only); default: "
            "REPLYGUARD_EVALUATION_DATASETS_DIR. Skipped where absent.",
        )
        parser.add_argument("--model-dir", type=Path, help="Default: REPLYGUARD_ABUSE_MODEL_DIR.")

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
        model_dir = Path(model_dir or settings.REPLYGUARD_ABUSE_MODEL_DIR)
        datasets_dir = Path(datasets or settings.REPLYGUARD_DATASETS_DIR)
        if if_missing and (active := classifier.load_active_model(model_dir)):
            self.stdout.write(f"Abuse model {active.version} is active and loads: nothing to do.")
            return
        if not (datasets_dir / "toxicity-wikipedia").is_dir():
            raise CommandError(f"No toxicity-wikipedia/ in {datasets_dir}: pass --datasets.")
        version, report = training.train_and_save(
            datasets_dir=datasets_dir,
            model_dir=model_dir,
            evaluation_dir=evaluation_datasets or settings.REPLYGUARD_EVALUATION_DATASETS_DIR,
            moderator_labels=moderator_labels(),
            force=force,
            shadow=shadow_mode,
        )
        figures = report["held_out"]
        self.stdout.write(
            f"Abuse model {version}: held-out ROC AUC {figures['roc_auc']}, "
            f"news ROC AUC {figures.get('news_roc_auc', 'not measured (no news comments)')}, "
            f"moderator labels used {report['moderator_labels']['used']}."
        )
        if report["activated"]:
            self.stdout.write(self.style.SUCCESS(f"Activated abuse model {version}"))
        elif shadow_mode:
            if worse := report["gate"]["worse_because"]:
                self.stdout.write(self.style.WARNING(f"Worse than the active: {'; '.join(worse)}"))
            self.stdout.write(
                self.style.SUCCESS(
                    f"Abuse model {version} is in shadow mode: it scores live comments beside the "
                    "active one and decides nothing. See where they disagree with "
                    "`manage.py model_versions --abuse shadow-report` or in the admin's Shadow "
                    "scores page."
                )
            )
        else:
            worse = "; ".join(report["gate"]["worse_because"])
            self.stdout.write(self.style.WARNING(f"Not activated, worse than the active: {worse}"))


def moderator_labels() -> list[tuple[str, int]]:
    """Comments a moderator rejected as abusive (1) or published (0), by their latest decision
    by a person: the model's own decisions never count."""
    by_people = Comment.objects.labeled_by_moderators(statuses=[Status.PUBLISHED, Status.REJECTED])
    return [
        (comment.body, int(comment.moderator_decision == Status.REJECTED))
        for comment in by_people.only("body", "cause").iterator()
        if comment.moderator_decision == Status.PUBLISHED or comment.cause == Cause.ABUSE
    ]
