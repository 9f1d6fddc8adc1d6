"""The decision modal, filled by the worker once the guard has passed: the report's code,
amount and invoices again, and what this decision needs (a comment, a reason and where
it goes back to, or the question); or the reason nothing can be done."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from tasks.contracts import Decision
from tasks.review.decide.deps import DecideDeps
from tasks.review.decide.guard import Refused, audit, guard
from tasks.shared.decide_texts import decide_texts_for
from tasks.slack.decision_card import decision_modal, refused_modal

log = logging.getLogger(__name__)


def prepare(decision: Decision, deps: DecideDeps) -> None:
    """Fill the modal the bot opened, or turn it into the reason nothing can be done."""
    texts = decide_texts_for(decision.language)
    try:
        checked = guard(deps, decision, texts)
    except Refused as refused:
        audit(decision, "", decision.node_id, f"refused at open: {refused.reason}")
        view = refused_modal(decision.what, decision.flow_id, refused.text, texts)
    else:
        submitter_id = checked.report.flow.submitter_id
        found = deps.review.api.staff([submitter_id]).get(submitter_id)
        name = found.name if found and found.name else submitter_id.split(":", 1)[-1]
        view = decision_modal(
            decision.what,
            checked.report.flow,
            node_id=checked.node_id,
            stage=checked.stage.name,
            submitter=name,
            earlier_nodes=checked.report.earlier_nodes(),
            texts=texts,
        )
    try:
        deps.review.slack.views_update(view_id=decision.view_id, view=view)
    except SlackApiError as exc:
        log.warning("could not fill the decision modal: %s", exc.response.get("error"))
