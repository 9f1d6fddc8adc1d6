"""One Preview click: the person's access checked as for Refresh links, a fresh link from
Ekuaibao, the file downloaded and rendered in a limited child process (`tasks.files`), the
pages uploaded to Slack and shown where the click came from. The click's own reply says
where the preview went, or why there is none and what to do instead: exactly one reply."""

from __future__ import annotations

import logging
from typing import cast

from tasks.contracts import LookupRequest, PreviewRequest
from tasks.contracts.preview import MAX_FILE_NAME
from tasks.ekuaibao.client import InvoiceData
from tasks.ekuaibao.models import Attachment, attachment_kind
from tasks.files import Kind, PreviewFailed, download, render
from tasks.files.results import KINDS
from tasks.lookup.delivery import audit, deliver
from tasks.lookup.fetching import fetch
from tasks.lookup.gate import only_what_they_may_see, refusal
from tasks.preview.deps import PreviewDeps
from tasks.preview.fields import fields_text
from tasks.preview.posting import post_pages
from tasks.shared.blocks import Block, Message, neutral, section
from tasks.shared.preview_texts import PreviewTexts, preview_texts_for
from tasks.slack.attachments import MAX_URL, open_button
from tasks.summary import InvoiceSummary, LookupResult, assemble

log = logging.getLogger(__name__)


def handle_preview(request: PreviewRequest, deps: PreviewDeps) -> None:
    words = preview_texts_for(request.language)
    lookup = as_lookup(request)
    if refusal(lookup, deps.lookup, deps.lookup.texts(lookup)) is not None:
        return  # the gate answered the click itself
    try:
        result = only_what_they_may_see(lookup, deps.lookup, _fresh(lookup, request, deps))
    except Exception as exc:  # Ekuaibao away, or its answer unusable: nothing to render
        log.warning("preview %s: no fresh link (%s)", request.request_id, type(exc).__name__)
        _answer(deps, lookup, words.unavailable, "ekuaibao unavailable")
        return
    found = the_file(result.invoices, request)
    if found is None:
        _answer(deps, lookup, words.not_found, "file not found (or not theirs)")
        return
    invoice, link = found
    name = neutral(link.file_name, 200)
    try:
        if link.kind not in KINDS:  # a file of no kind we read (`file`)
            raise PreviewFailed("unsupported")
        rendered = render(download(deps.files, link.url), cast(Kind, link.kind))
    except PreviewFailed as failed:
        log.info("preview %s: %s", request.request_id, failed.reason)
        text = words.failures[failed.reason].format(name=name) + "\n" + words.instead
        _answer(deps, lookup, text, f"preview failed: {failed.reason}", link)
        return
    if not rendered.pages:  # a data file: its fields, in the reply itself (nothing stored)
        _answer(deps, lookup, fields_text(rendered.fields, invoice, name, words), "fields shown")
        return
    where = post_pages(deps, request, link, rendered, words)
    if where is None:
        _answer(deps, lookup, words.upload_failed, "preview not uploaded", link)
        return
    sent = words.sent_thread if where == "thread" else words.sent_dm
    _answer(deps, lookup, sent.format(name=name), f"preview posted ({where})")


def _fresh(lookup: LookupRequest, request: PreviewRequest, deps: PreviewDeps) -> LookupResult:
    """The invoice with a freshly signed link: only the link (one call) for a picture or a
    PDF, unless the access policy reads the invoice's report (ACCESS_MODE=ekuaibao); the
    whole lookup (its master too) for a data file, whose fields are compared with it."""
    policy = deps.lookup.access.policy.mode if deps.lookup.access is not None else "open"
    if policy == "ekuaibao" or attachment_kind(request.file_name, "") in ("xml", "ofd"):
        return fetch(lookup, deps.lookup)
    fetched_at = deps.lookup.clock()
    links = tuple(deps.lookup.client.attachments([request.invoice_id], fetched_at))
    data = InvoiceData((), links, fetched_at)
    return assemble(lookup.ids, data)


def as_lookup(request: PreviewRequest) -> LookupRequest:
    """The click as a lookup of its one invoice: the same gate, fetch and reply ledger."""
    return LookupRequest(
        request_id=request.request_id,
        ids=(request.invoice_id,),
        owner_id=request.user_id,
        team_id=request.team_id,
        channel_id=request.channel_id,
        user_id=request.user_id,
        response_url=request.response_url,
        replace_original=False,
        language=request.language,
        received_at=request.received_at,
    )


def the_file(
    invoices: tuple[InvoiceSummary, ...], request: PreviewRequest
) -> tuple[InvoiceSummary, Attachment] | None:
    """The clicked file among the invoice's fresh links: by its name (a name as long as a
    button can carry is matched by that beginning)."""
    clipped = len(request.file_name) >= MAX_FILE_NAME
    for invoice in invoices:
        if invoice.invoice_id != request.invoice_id:
            continue
        for link in invoice.attachments:
            name = link.file_name
            if name == request.file_name or (clipped and name.startswith(request.file_name)):
                return invoice, link
    return None


def _answer(
    deps: PreviewDeps,
    lookup: LookupRequest,
    text: str,
    outcome: str,
    link: Attachment | None = None,
) -> None:
    """The click's one reply, private; with the file's freshly signed link when the preview
    could not be made, so the person still has the file."""
    blocks: list[Block] = [section(text)]
    if link is not None and len(link.url) <= MAX_URL:
        button = open_button(link, 0, deps.lookup.texts(lookup), named=True)
        blocks.append({"type": "actions", "elements": [button]})
    message: Message = {"text": text, "blocks": blocks}
    delivered = deliver(deps.lookup, lookup, [message], final=True, private=True)
    audit(lookup, outcome + ("" if delivered else " (reply not delivered)"))


__all__ = ["PreviewTexts", "as_lookup", "handle_preview", "the_file"]
