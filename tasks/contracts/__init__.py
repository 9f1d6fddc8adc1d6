"""What crosses the broker: plain JSON, validated on both sides. One module per kind of
message; everything is imported from here."""

from __future__ import annotations

from tasks.contracts.decision import (
    DECIDE_TASK as DECIDE_TASK,
)
from tasks.contracts.decision import (
    SAFE_ID as SAFE_ID,
)
from tasks.contracts.decision import (
    VERSION_PATTERN as VERSION_PATTERN,
)
from tasks.contracts.decision import (
    Decision as Decision,
)
from tasks.contracts.decision import (
    DecisionRef as DecisionRef,
)
from tasks.contracts.decision import (
    DecisionStep as DecisionStep,
)
from tasks.contracts.decision import (
    DecisionWhat as DecisionWhat,
)
from tasks.contracts.lookup import (
    ID_PATTERN as ID_PATTERN,
)
from tasks.contracts.lookup import (
    LOOKUP_TASK as LOOKUP_TASK,
)
from tasks.contracts.lookup import (
    MAX_IDS as MAX_IDS,
)
from tasks.contracts.lookup import (
    MAX_RESPONSE_URL as MAX_RESPONSE_URL,
)
from tasks.contracts.lookup import (
    NOTICE_TASK as NOTICE_TASK,
)
from tasks.contracts.lookup import (
    REPORT_PAGE_SIZE as REPORT_PAGE_SIZE,
)
from tasks.contracts.lookup import (
    RESPONSE_URL_LIFETIME_S as RESPONSE_URL_LIFETIME_S,
)
from tasks.contracts.lookup import (
    SLACK_RESPONSE_URL_PREFIXES as SLACK_RESPONSE_URL_PREFIXES,
)
from tasks.contracts.lookup import (
    ButtonValue as ButtonValue,
)
from tasks.contracts.lookup import (
    LookupRequest as LookupRequest,
)
from tasks.contracts.lookup import (
    Mode as Mode,
)
from tasks.contracts.lookup import (
    Notice as Notice,
)
from tasks.contracts.lookup import (
    ReplyTarget as ReplyTarget,
)
from tasks.contracts.lookup import (
    ReplyVia as ReplyVia,
)
from tasks.contracts.lookup import (
    response_url_allowed as response_url_allowed,
)
from tasks.contracts.monitoring import (
    safe_argsrepr as safe_argsrepr,
)
from tasks.contracts.monitoring import (
    safe_kwargsrepr as safe_kwargsrepr,
)
from tasks.contracts.preview import (
    PREVIEW_TASK as PREVIEW_TASK,
)
from tasks.contracts.preview import (
    PreviewButton as PreviewButton,
)
from tasks.contracts.preview import (
    PreviewRequest as PreviewRequest,
)
from tasks.contracts.review import (
    MAX_EVENT_BYTES as MAX_EVENT_BYTES,
)
from tasks.contracts.review import (
    OUTBOUND_ACTIONS as OUTBOUND_ACTIONS,
)
from tasks.contracts.review import (
    REVIEW_ASK_TASK as REVIEW_ASK_TASK,
)
from tasks.contracts.review import (
    REVIEW_EVENT_TASK as REVIEW_EVENT_TASK,
)
from tasks.contracts.review import (
    ReviewAsk as ReviewAsk,
)
from tasks.contracts.review import (
    ReviewAskKind as ReviewAskKind,
)
from tasks.contracts.review import (
    ReviewEvent as ReviewEvent,
)
