"""What a Well-Architected review file asks the Tool to hold: the workload and its answers.

Plain data, built from a validated review file (:mod:`guard.config.wellarchitected`) and read by
the sync (:mod:`guard.wellarchitected_sync`), which compares it with what the Tool holds. The
values are the API's own (``PRODUCTION``, ``OUT_OF_SCOPE``), so the comparison needs no mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The tag ``guard wa sync`` creates workloads with. The deploy role may edit only workloads that
#: carry it (:func:`guard.ci_permissions.deploy_grants`), never a review kept by hand.
REVIEW_TAG = ("managed-by", "guard")


@dataclass(frozen=True)
class DesiredWorkload:
    """The workload's properties as ``CreateWorkload`` takes them."""

    name: str
    description: str
    #: ``PRODUCTION`` or ``PREPRODUCTION``.
    environment: str
    account_ids: tuple[str, ...]
    regions: tuple[str, ...]
    #: Lens aliases, ``wellarchitected`` first when it is reviewed.
    lenses: tuple[str, ...]
    review_owner: str


@dataclass(frozen=True)
class DesiredAnswer:
    """One question's answer as ``UpdateAnswer`` takes it."""

    lens: str
    question_id: str
    #: The selected choice IDs, sorted; empty when the question is not applicable.
    selected: tuple[str, ...]
    notes: str
    applicable: bool
    #: The API's ``AnswerReason`` (``OUT_OF_SCOPE``, ...) when not applicable, else None.
    reason: str | None = None

    @property
    def subject(self) -> str:
        """``wellarchitected/network-protection``: how plans and reports name the answer."""
        return f"{self.lens}/{self.question_id}"
