"""Reading a serialized `ExportTraceServiceRequest` directly: the spans that matter, and what the walk needs of them.

The receivers hand trace exports to the processor as bytes. Parsing all of a 512-span request into protobuf's
objects (`FromString`, ~400 µs) and reading every span's fields through them (~450 µs) paid for the ~90% of spans
the walk skips. Here:

* `candidate_spans` walks the framing of the request, its resources, scopes and spans, and picks the spans that
  may matter (roots, spans with events, ERROR spans, agent invocations), skipping every other field by its length
  (~100 µs). It notes where each resource is.
* a `WireReader` reads the picked spans, their events and attributes, and their resources: the same values
  protobuf's objects give (`_otlp.attributes`, the same bounds).

The picks are a superset: a span is picked when it may be a root, may have an event, may have an ERROR status or
may be named `invoke_agent…`, and the walk filters again; a span picked in doubt costs a little time and never
changes the result. What it must never do is miss one, hence the cases where protobuf merges repeated
occurrences of a singular field (the last `parent_span_id` wins; any `status` holding code 2 picks the span).

Where the bytes are not in the form protobuf itself writes (groups, a singular field twice, an unknown field inside
an attribute, a resource given twice), these functions return None and the walk parses the request and reads
those spans through protobuf's objects, whose merge rules then decide; malformed framing raises protobuf's
`DecodeError` there. Like the Collector, nothing validates what no one reads (a skipped span's contents), and
invalid UTF-8 in a string that is read becomes U+FFFD, as opentelemetry-proto recommends, instead of failing the
whole export as protobuf's parser does; the walk reports how many strings it replaced (an OTLP warning).
"""

from ._read import WireEvent, WireReader, WireSpan
from ._scan import WirePicks, candidate_spans

__all__ = ["WireEvent", "WirePicks", "WireReader", "WireSpan", "candidate_spans"]
