"""Which frames belong to the application, and which to libraries, runtimes and test runners.

A frame is judged by its module (dotted/`::` name) and its file path. Defaults cover what every workspace
shares; `GroupingConfig.in_app_include` / `in_app_exclude` prefixes override them per workspace.
"""

from __future__ import annotations

import re

from ._model import Frame

# Module prefixes of runtimes, standard libraries and test runners (JVM, Kotlin, .NET, Go runtime).
_LIBRARY_MODULE_PREFIXES: tuple[str, ...] = (
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "groovy.",
    "junit.",
    "org.junit.",
    "org.testng.",
    "org.apache.tools.ant.",
    "org.apache.maven.surefire.",
    "org.gradle.",
    "org.eclipse.jdt.internal.junit",
    "com.intellij.rt.",
    "org.springframework.cglib.",
    "jdk.internal.",
    "android.",
    "androidx.",
    "dalvik.",
    "com.android.internal.",
    "System.",
    "Microsoft.",
    "NUnit.",
    "Xunit.",
    "xunit.",
    "runtime.",
    "testing.",
    "reflect.",
    "net/http.",
    "internal/",
)

# Path fragments of installed packages, module caches and system libraries.
_LIBRARY_PATH_FRAGMENTS: tuple[str, ...] = (
    "site-packages/",
    "dist-packages/",
    "/lib/python",
    "<frozen ",
    "<string>",
    "/usr/lib/python",
    "node_modules/",
    "node:internal",
    "(internal/",
    "webpack/bootstrap",
    "<anonymous>",
    "/go/pkg/mod/",
    "/pkg/mod/",
    "/usr/local/go/src/",
    "/usr/lib/go",
    "go/src/runtime/",
    "GOROOT/",
    "/gems/",
    "/ruby/",
    "/rubygems/",
    "vendor/bundle/",
    "/vendor/",
    "/usr/share/php/",
    "/lib/x86_64-linux-gnu/",
    "/lib/i386-linux-gnu/",
    "/lib/aarch64-linux-gnu/",
    "/lib64/",
    "/usr/lib/jvm/",
    "/System/Library/",
    "/usr/lib/system/",
)

# Native system libraries: libc and friends, the dynamic loader, the C++ runtime.
# The name's own run of word characters is possessive: the `[.\-\w]*` after it would otherwise re-read each
# shorter split of it (`libsystem_` followed by a long word).
_SYSTEM_LIBRARY = re.compile(
    r"(?:^|/)(?:libc|libm|libdl|libpthread|librt|ld-linux[\w-]*+|ld|libstdc\+\+|libgcc_s|libc\+\+|libc\+\+abi"
    r"|libsystem_\w++|libdyld|ntdll|kernel32|KERNELBASE|ucrtbase|msvcrt|vcruntime\d*+)[.\-\w]*\.(?:so|dylib|dll)"
)
_PYTEST_MODULES = ("_pytest/", "pluggy/", "unittest/")


def default_in_app(language: str, module: str, filename: str) -> bool:
    """The default verdict for one frame: False for library, runtime, test-runner and system frames."""
    if module and module.startswith(_LIBRARY_MODULE_PREFIXES):
        return False
    if filename:
        path = filename.replace("\\", "/")
        if any(fragment in path for fragment in _LIBRARY_PATH_FRAGMENTS):
            return False
        if path.startswith("internal/") or any(fragment in path for fragment in _PYTEST_MODULES):
            return False
        if language == "native" and _SYSTEM_LIBRARY.search(path):
            return False
    return True


def apply_workspace_rules(frame: Frame, include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """Workspace prefixes win over the defaults; exclude wins over include when both match."""
    names = (frame.module, frame.filename.replace("\\", "/"), frame.function)
    if exclude and any(name.startswith(exclude) for name in names if name):
        return False
    if include and any(name.startswith(include) for name in names if name):
        return True
    return frame.in_app


def why_not_in_app(frame: Frame) -> str:
    """A short reason for the explanation tree: "site-packages frame", "java. frame", "workspace exclude"."""
    path = frame.filename.replace("\\", "/")
    for fragment in _LIBRARY_PATH_FRAGMENTS + _PYTEST_MODULES:
        if fragment in path:
            return f"{fragment.strip('/<( ')} frame"
    for prefix in _LIBRARY_MODULE_PREFIXES:
        if frame.module.startswith(prefix):
            return f"{prefix} frame"
    if _SYSTEM_LIBRARY.search(path):
        return "system library frame"
    return "non-app frame"
