"""XML from a stranger, through expat with everything dangerous refused.

An invoice's XML never declares a DTD or an entity, so any declaration is refused outright
("unsupported") before its content is seen: no external entity (file:///etc/passwd), no
billion laughs, no parameter entities. What is kept is only the text of the few elements
a caller asks for, bounded, so memory is bounded by the size cap and not by the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn
from xml.parsers import expat

from tasks.files.limits import MAX_XML_BYTES, MAX_XML_DEPTH
from tasks.files.results import PreviewFailed

#: Characters kept of one element's text: enough for any field, an 80-character seller
#: name with its whitespace included.
MAX_TEXT_CHARS = 512
#: Elements kept per document: an invoice has a few dozen of interest at most.
MAX_FOUND = 256
#: A legacy invoice XML may declare GBK, which expat cannot decode by itself.
_GB_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"'](gb2312|gbk|gb18030)[\"']", re.I)

#: Decides which elements are kept: (local name in lower case, attributes) → a key, or None.
Wanted = Callable[[str, dict[str, str]], str | None]


@dataclass
class Found:
    """A kept element: its key, its parent's local name, its own text, and (OFD's tags)
    the texts of its ObjectRef children, which point at text objects on a page."""

    key: str
    parent: str
    text: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)

    @property
    def value(self) -> str:
        return "".join(self.text)


def local_name(name: str) -> str:
    """`ofd:InvoiceNo` → `invoiceno`: prefixes vary between issuers, names do not."""
    return name.rpartition(":")[2].lower()


def _refuse(*_: object) -> NoReturn:
    raise PreviewFailed("unsupported")


class _Collector:
    def __init__(self, wanted: Wanted) -> None:
        self.wanted = wanted
        self.found: list[Found] = []
        self.stack: list[str] = []
        self.open: Found | None = None  # the kept element being read
        self.open_depth = 0
        self.ref: list[str] | None = None  # an ObjectRef's text, inside a kept element

    def start(self, name: str, attributes: dict[str, str]) -> None:
        local = local_name(name)
        if len(self.stack) >= MAX_XML_DEPTH:
            raise PreviewFailed("unreadable")
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(local)
        if self.open is not None:
            self.ref = [] if local == "objectref" else self.ref
        elif len(self.found) < MAX_FOUND and (key := self.wanted(local, attributes)):
            self.open, self.open_depth = Found(key, parent), len(self.stack)

    def end(self, _name: str) -> None:
        if self.open is not None and self.ref is not None and self.stack[-1] == "objectref":
            self.open.refs.append("".join(self.ref).strip())
            self.ref = None
        if self.open is not None and len(self.stack) == self.open_depth:
            self.found.append(self.open)
            self.open = None
        self.stack.pop()

    def text(self, data: str) -> None:
        if self.open is None:
            return
        into = self.ref if self.ref is not None else self.open.text
        if sum(map(len, into)) < MAX_TEXT_CHARS:
            into.append(data[:MAX_TEXT_CHARS])


def collect(data: bytes, wanted: Wanted) -> list[Found]:
    """The elements `wanted` keys, in document order; refusals as PreviewFailed."""
    if len(data) > MAX_XML_BYTES:
        raise PreviewFailed("too_big")
    collector = _Collector(wanted)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.text
    parser.buffer_text = True
    try:
        if _GB_DECLARATION.match(data):  # a str is parsed as UTF-8, whatever it declares
            parser.Parse(data.decode("gb18030"), True)
        else:
            parser.Parse(data, True)
    except (expat.ExpatError, UnicodeDecodeError, ValueError):
        raise PreviewFailed("unreadable") from None
    return collector.found
