#!/usr/bin/env bash
# solc CLI shim over solc-js; see solc.js. Installed as .tools/bin/solc by scripts/install-tools.sh.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
tools="$(dirname "$here")"
[ "$(basename "$here")" = bin ] || tools="$here"
case " $* " in
  *" --version "*) exec node "$tools/solc.js" --version ;;
  *" --standard-json"*)
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    cat > "$tmp/in.json"
    node "$tools/solc.js" --standard-json-file "$tmp/in.json" "$tmp/out.json"
    cat "$tmp/out.json" ;;
  *) echo "this solc wrapper supports only --version and --standard-json" >&2; exit 1 ;;
esac
