"""Authentication and authorization failures are `auth` (issue 15, item 8; docs/classification.md), whatever
the client library raised: the cases below are what agents' HTTP, gRPC, cloud and LLM clients actually raise."""

from __future__ import annotations

import time
from typing import Any

import pytest
from otlp_builders import new_id, span, traces

from otel_errors import Category, Processor
from otel_errors.classify import MESSAGE_READ, category, names_auth_failure

# (exception type, message, attributes) of auth failures.
AUTH_FAILURES: list[tuple[str, str, dict[str, Any]]] = [
    # httpx: raise_for_status()
    ("httpx.HTTPStatusError", "Client error '401 Unauthorized' for url 'https://api.example.com/v1/runs'", {}),
    ("HTTPStatusError", "Client error '403 Forbidden' for url 'https://api.example.com/v1/runs'\nFor more", {}),
    ("httpx.HTTPStatusError", "", {"http.response.status_code": 401}),
    ("httpx.HTTPStatusError", "", {"http.response.status_code": 403}),
    ("HTTPStatusError", "", {"http.status_code": "401"}),
    # requests, urllib, aiohttp
    ("requests.exceptions.HTTPError", "401 Client Error: Unauthorized for url: https://api.example.com/x", {}),
    ("HTTPError", "403 Client Error: Forbidden for url: https://api.example.com/x", {}),
    ("urllib.error.HTTPError", "HTTP Error 401: Unauthorized", {}),
    ("aiohttp.client_exceptions.ClientResponseError", "401, message='Unauthorized', url='https://a/b'", {}),
    ("ClientResponseError", "403, message='Forbidden', url=URL('https://a/b')", {}),
    # gRPC: the status attribute, or the status in the message of the one RpcError class
    ("grpc.RpcError", "", {"rpc.grpc.status_code": 16}),
    ("grpc.RpcError", "", {"rpc.grpc.status_code": 7}),
    (
        "grpc._channel._InactiveRpcError",
        '<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.UNAUTHENTICATED\n\tdetails = "bad"',
        {},
    ),
    ("AioRpcError", "<AioRpcError of RPC that terminated with:\n\tstatus = StatusCode.PERMISSION_DENIED", {}),
    ("RpcError", "", {"rpc.response.status_code": "UNAUTHENTICATED"}),  # the newer RPC conventions: names
    ("RpcError", "", {"rpc.response.status_code": "PERMISSION_DENIED"}),
    ("RpcError", "", {"error.type": "UNAUTHENTICATED"}),
    # AWS (botocore ClientError carries the error code in parentheses)
    ("botocore.exceptions.ClientError", "An error occurred (AccessDenied) when calling the GetObject operation", {}),
    ("ClientError", "An error occurred (AccessDeniedException) when calling the InvokeModel operation: x", {}),
    ("ClientError", "An error occurred (UnrecognizedClientException) when calling the Query operation", {}),
    ("ClientError", "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation", {}),
    ("ClientError", "An error occurred (ExpiredToken) when calling the ListBuckets operation", {}),
    ("ClientError", "An error occurred (SignatureDoesNotMatch) when calling the PutObject operation", {}),
    ("ClientError", "An error occurred (UnauthorizedOperation) when calling the RunInstances operation", {}),
    ("botocore.exceptions.NoCredentialsError", "Unable to locate credentials", {}),
    # Azure, Google, Kubernetes, Slack, Stripe, GitHub
    ("azure.core.exceptions.HttpResponseError", "Operation returned an invalid status 'Forbidden'", {}),
    ("HttpResponseError", "(AuthorizationFailed) The client does not have authorization to perform action", {}),
    ("azure.core.exceptions.ClientAuthenticationError", "(InvalidAuthenticationToken) expired", {}),
    ("google.api_core.exceptions.PermissionDenied", "403 Permission denied on resource project x", {}),
    ("google.api_core.exceptions.Unauthenticated", "401 Request had invalid authentication credentials", {}),
    ("google.api_core.exceptions.Forbidden", "403 POST https://x: caller does not have permission", {}),
    ("kubernetes.client.exceptions.ApiException", "(403)\nReason: Forbidden\nHTTP response headers: x", {}),
    (
        "slack_sdk.errors.SlackApiError",
        "The request to the Slack API failed. {'ok': False, 'error': 'invalid_auth'}",
        {},
    ),
    ("SlackApiError", "The request to the Slack API failed. {'ok': False, 'error': 'token_revoked'}", {}),
    ("stripe.error.AuthenticationError", "Invalid API Key provided: sk_test_****", {}),
    ("github.GithubException.BadCredentialsException", '401 {"message": "Bad credentials"}', {}),
    # LLM SDKs
    ("openai.AuthenticationError", "Error code: 401 - {'error': {'message': 'Incorrect API key provided'}}", {}),
    ("openai.PermissionDeniedError", "Error code: 403 - {'error': {'message': 'not allowed'}}", {}),
    ("openai.APIStatusError", "Error code: 401 - {'error': {'code': 'invalid_api_key'}}", {}),
    ("anthropic.APIStatusError", "Error code: 401 - {'type': 'error', 'error': {'type': 'authentication_error'}}", {}),
    ("APIError", "invalid x-api-key", {}),
    # Frameworks, databases, tokens
    ("django.core.exceptions.PermissionDenied", "", {}),
    ("fastapi.HTTPException", "403: Not authenticated", {"http.response.status_code": 403}),
    ("psycopg.errors.InsufficientPrivilege", "permission denied for table runs", {}),
    ("psycopg.errors.InvalidPassword", 'password authentication failed for user "agent"', {}),
    ("jwt.exceptions.ExpiredSignatureError", "Signature has expired", {}),
    ("jwt.exceptions.InvalidTokenError", "Invalid token", {}),
    ("oauthlib.oauth2.rfc6749.errors.TokenExpiredError", "(token_expired)", {}),
    ("Exception", "OAuth token request failed: invalid_grant", {}),
    ("TokenError", "jwt expired", {}),
    ("ServiceError", "upstream said: Unauthorized", {}),
    ("SomethingFailed", "", {"error.type": "401"}),
    ("SomethingFailed", "", {"error.type": "403"}),
]

# (exception type, message, attributes, category): what must not become auth.
NOT_AUTH: list[tuple[str, str, dict[str, Any], Category]] = [
    ("httpx.HTTPStatusError", "Client error '404 Not Found' for url 'https://api.example.com/v1/x'", {}, Category.API),
    ("httpx.HTTPStatusError", "Server error '500 Internal Server Error' for url 'https://a/b'", {}, Category.API),
    ("HTTPStatusError", "Client error '429 Too Many Requests'", {}, Category.API),
    ("HTTPStatusError", "Client error '401 Unauthorized'", {"http.response.status_code": 500}, Category.API),
    ("ClientError", "An error occurred (NoSuchKey) when calling the GetObject operation", {}, Category.UNKNOWN),
    ("ConnectionError", "port 4013 refused; retried 401 times", {}, Category.API),  # numbers, not statuses
    ("ValueError", "forbidden character '/' in name", {}, Category.VALIDATION),  # a type that says more
    ("ValueError", "401 Unauthorized", {}, Category.VALIDATION),
    ("RuntimeError", "HTTP Error 401: Unauthorized", {}, Category.SYSTEM),
    ("TimeoutError", "waiting for the 401 Unauthorized page", {}, Category.TIMEOUT),
    ("SyntaxError", "invalid token", {}, Category.UNKNOWN),  # a parser's token
    ("RateLimitError", "Error code: 429 - rate limit exceeded for key sk-****", {}, Category.API),
    ("APIError", "the API key field is empty in the request body", {}, Category.API),
    ("APIError", "x" * MESSAGE_READ + " 401 Unauthorized", {}, Category.API),  # only the start of a message is read
    ("SomethingFailed", "", {"error.type": "404"}, Category.VALIDATION),
    ("RpcError", "StatusCode.UNAUTHENTICATED", {"rpc.response.status_code": "UNAVAILABLE"}, Category.API),
    ("RpcError", "", {"rpc.response.status_code": "DEADLINE_EXCEEDED"}, Category.TIMEOUT),
    ("RpcError", "", {"error.type": "DEADLINE_EXCEEDED"}, Category.TIMEOUT),
    ("SomethingFailed", "", {"error.category": "api", "http.response.status_code": 401}, Category.API),
]


@pytest.mark.parametrize("exception_type,message,attrs", AUTH_FAILURES)
def test_auth_failures_are_auth(exception_type: str, message: str, attrs: dict[str, Any]) -> None:
    assert category(exception_type, attrs, message=message) == Category.AUTH


@pytest.mark.parametrize("exception_type,message,attrs,expected", NOT_AUTH)
def test_what_is_not_an_auth_failure_keeps_its_category(
    exception_type: str, message: str, attrs: dict[str, Any], expected: Category
) -> None:
    assert category(exception_type, attrs, message=message) == expected


def test_the_memo_does_not_carry_one_message_over_to_another() -> None:
    """The memo is keyed by type and attributes: two messages of one type decide for themselves, in any order."""
    for _ in range(2):
        assert category("HTTPStatusError", {}, message="Client error '401 Unauthorized'") == Category.AUTH
        assert category("HTTPStatusError", {}, message="Client error '404 Not Found'") == Category.API
        assert category("HTTPStatusError", {}) == Category.API


@pytest.mark.parametrize(
    "text",
    [
        "40" * 100_000,
        "auth " * 50_000,
        "401 " * 50_000 + "unauthorized",
        "status " * 50_000,
        "'" * 200_000,
        "token_" * 50_000,
        "a" * 1_000_000,
    ],
)
def test_a_hostile_message_costs_a_bounded_scan(text: str) -> None:
    """The rules read the first MESSAGE_READ characters with linear patterns: a megabyte costs what they cost."""
    started = time.perf_counter()
    for _ in range(100):
        names_auth_failure(text)
    assert (time.perf_counter() - started) / 100 < 0.002


@pytest.mark.parametrize("exception_type,message,attrs", AUTH_FAILURES[:8] + AUTH_FAILURES[12:22])
def test_the_processor_classifies_what_it_receives(exception_type: str, message: str, attrs: dict[str, Any]) -> None:
    """End to end through the processor: the message it reads (scrubbed) reaches the rules."""
    request = traces(
        span(
            trace_id=new_id(16),
            parent=new_id(8),
            attrs=attrs,
            exceptions=[{"exception.type": exception_type, "exception.message": message}],
        )
    )
    batch = Processor().process_traces(request, received_ns=time.time_ns())
    assert [event.category for event in batch.events] == [int(Category.AUTH)]
