"""Parser snapshots: each test is named after the edge case it pins."""

from __future__ import annotations

from pathlib import Path

from otel_errors.grouping import parse_stacktrace

FIXTURES = Path(__file__).parent / "fixtures"


def test_python_chain_direct_cause_root_is_last() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/db.py", line 10, in load\n    raise KeyError(k)\n'
        "KeyError: 'user_7'\n\n"
        "The above exception was the direct cause of the following exception:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app/main.py", line 3, in <module>\n    run()\n'
        '  File "/srv/app/api.py", line 20, in run\n    load()\n'
        "app.errors.NotFound: missing\n"
    )
    parsed = parse_stacktrace(text)
    assert parsed.language == "python"
    assert [link.type for link in parsed.chain] == ["app.errors.NotFound", "KeyError"]
    assert parsed.root is not None and parsed.root.frames[0].function == "load"
    assert [f.function for f in parsed.chain[0].frames] == ["run", "<module>"]  # innermost first


def test_python_site_packages_frame_is_not_in_app() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/app/x.py", line 1, in f\n    g()\n'
        '  File "/usr/lib/python3.11/site-packages/requests/api.py", line 5, in get\n    x\n'
        "ValueError: boom\n"
    )
    frames = parse_stacktrace(text).chain[0].frames
    assert [(f.function, f.in_app, f.module) for f in frames] == [("get", False, "requests.api"), ("f", True, "")]


def test_java_caused_by_and_more_copies_enclosing_frames() -> None:
    text = (
        "java.lang.RuntimeException: wrap\n"
        "\tat com.acme.A.run(A.java:10)\n"
        "\tat com.acme.Main.main(Main.java:5)\n"
        "Caused by: java.lang.IllegalStateException: bad\n"
        "\tat com.acme.B.check(B.java:7)\n"
        "\t... 2 more\n"
        "\tSuppressed: java.io.IOException: close\n"
        "\t\tat com.acme.C.close(C.java:1)\n"
    )
    parsed = parse_stacktrace(text)
    assert parsed.language == "java"
    root = parsed.root
    assert root is not None and root.type == "java.lang.IllegalStateException"
    assert [f.function for f in root.frames] == ["check", "run", "main"]


def test_java_runner_frames_are_library() -> None:
    text = (FIXTURES / "labeled" / "defects4j_sample.jsonl").read_text().splitlines()[0]
    import json

    parsed = parse_stacktrace(json.loads(text)["stacktrace"])
    assert parsed.language == "java"
    frames = parsed.chain[-1].frames
    assert not [f for f in frames if f.module.startswith(("junit.", "org.apache.tools.ant")) and f.in_app]


def test_dotnet_inner_exception_frames_belong_to_inner() -> None:
    text = (
        "System.InvalidOperationException: outer ---> System.ArgumentException: inner\n"
        "   at Acme.Repo.Load(Int32 id) in C:\\src\\Repo.cs:line 12\n"
        "   --- End of inner exception stack trace ---\n"
        "   at Acme.Service.Get(Int32 id) in C:\\src\\Service.cs:line 40\n"
    )
    parsed = parse_stacktrace(text)
    assert parsed.language == "dotnet"
    assert [(link.type, [f.function for f in link.frames]) for link in parsed.chain] == [
        ("System.InvalidOperationException", ["Get"]),
        ("System.ArgumentException", ["Load"]),
    ]


def test_node_cause_chain_and_node_modules() -> None:
    text = (
        "Error: request failed\n"
        "    at fetchUser (/srv/app/dist/users.js:10:5)\n"
        "    at async handler (/srv/app/node_modules/express/lib/router.js:1:2) {\n"
        "  [cause]: TypeError: x is undefined\n"
        "      at parse (/srv/app/dist/parse.js:3:9)\n"
        "}\n"
    )
    parsed = parse_stacktrace(text)
    assert parsed.language == "javascript"
    assert [link.type for link in parsed.chain] == ["Error", "TypeError"]
    assert parsed.chain[0].frames[1].in_app is False


def test_firefox_format() -> None:
    parsed = parse_stacktrace("foo@http://x.com/app.js:10:3\n@http://x.com/app.js:20:1\n")
    assert parsed.language == "javascript"
    assert [f.function for f in parsed.chain[0].frames] == ["foo", ""]


def test_go_panic_first_goroutine_only() -> None:
    text = (FIXTURES / "clusterfuzz" / "golang_panic_runtime_error_index_out_of_range.txt").read_text()
    parsed = parse_stacktrace(text)
    assert parsed.language == "go"
    assert parsed.chain[0].frames and "index out of range" in parsed.chain[0].message


def test_ruby_backtrace() -> None:
    text = (
        "/app/foo.rb:10:in `bar': undefined method (NoMethodError)\n\tfrom /app/foo.rb:5:in `block (2 levels) in baz'\n"
    )
    parsed = parse_stacktrace(text)
    assert parsed.language == "ruby"
    assert parsed.chain[0].type == "NoMethodError"
    assert [f.function for f in parsed.chain[0].frames] == ["bar", "block (2 levels) in baz"]


def test_php_uncaught_with_stack() -> None:
    text = (
        "PHP Fatal error:  Uncaught RuntimeException: boom in /var/www/src/Repo.php:12\n"
        "Stack trace:\n#0 /var/www/src/Service.php(40): App\\Repo->load(5)\n#1 {main}\n"
    )
    parsed = parse_stacktrace(text)
    assert parsed.language == "php"
    assert parsed.chain[0].type == "RuntimeException"
    assert parsed.chain[0].frames[0].function == "load"


def test_gdb_wrapped_arguments_and_unknown_frames() -> None:
    text = (
        "#0  0xb6905c40 in ?? () from /lib/libc.so.6\n"
        "#1  IA__g_logv (log_domain=0x0, \n    log_level=G_LOG_LEVEL_ERROR)\n    at gmessages.c:512\n"
        "#2  0x00877281 in gdk_x_error (display=0xa0167b0) at gdkmain-x11.c:466\n"
    )
    frames = parse_stacktrace(text).chain[0].frames
    assert [(f.function, f.filename) for f in frames] == [
        ("??", "/lib/libc.so.6"),
        ("IA__g_logv", "gmessages.c"),
        ("gdk_x_error", "gdkmain-x11.c"),
    ]
    assert frames[0].in_app is False


def test_sanitizer_first_stack_only() -> None:
    parsed = parse_stacktrace((FIXTURES / "clusterfuzz" / "asan_uaf.txt").read_text())
    assert parsed.language == "native"
    assert parsed.chain[0].frames and parsed.chain[0].type == "heap-use-after-free"


def test_fixture_traces_parse_without_raising() -> None:
    for path in sorted(FIXTURES.rglob("*")):
        if path.is_file() and path.suffix in (".txt", ".trace"):
            parse_stacktrace(path.read_text(errors="replace"))


def test_garbage_gives_empty_chain() -> None:
    assert parse_stacktrace("\x00 not a trace \n at (((").chain == ()
