#!/usr/bin/env bash
# mypy --strict over the package as it installs: the top-level folders are subpackages of `otel_errors`
# (pyproject's package-dir), which mypy cannot follow in the source tree. A tree of symlinks gives it that view.
set -euo pipefail
cd "$(dirname "$0")/.."
view=build/typecheck
rm -rf "$view"
mkdir -p "$view/otel_errors"
for entry in otel_errors/*; do
    case "$entry" in *.so|*/__pycache__) continue ;; esac
    ln -s "$PWD/$entry" "$view/otel_errors/"
done
python - <<'PY' > build/typecheck/mapping
import tomllib
for namespace, folder in tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"].items():
    if namespace != "otel_errors":
        print(namespace.split(".", 1)[1], folder)
PY
while read -r name folder; do ln -s "$PWD/$folder" "$view/otel_errors/$name"; done < build/typecheck/mapping
cd "$view"
exec "${MYPY:-mypy}" --config-file ../../pyproject.toml --cache-dir ../.mypy_cache -p otel_errors "$@"
