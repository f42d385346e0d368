from celery import shared_task


@shared_task
def comment_score_task(comment_id: int) -> None:
    # Imported here: services import this module to enqueue (HackSoft's rule for the cycle).
    from moderation.services import comment_score

    comment_score(comment_id=comment_id)
