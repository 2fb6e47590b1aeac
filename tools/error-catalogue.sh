#!/usr/bin/env bash
# Prints docs/errors.md, the catalogue of compile errors: for every case in tests/ui, the
# network as written and the first line of each error it produces. After adding a case
# to tests/ui or changing a message, regenerate the page with
#   bash tools/error-catalogue.sh > docs/errors.md
set -euo pipefail
cd "$(dirname "$0")/../tests/ui"
cat <<'HEADER'
# Every compile error

Each case in `tests/ui/` is a network the `network!` macro rejects; this table gives the
network as written and the first line of each error it produces. The case's `.stderr`
holds the full message, with where it points. The checks themselves are described in
[the layer language](language.md#compile-time-checks).

This file is generated from `tests/ui/`; do not edit it by hand. To regenerate it after
adding a case or changing a message:

```sh
TRYBUILD=overwrite cargo test --test ui     # refresh the .stderr files; review the diff
bash tools/error-catalogue.sh > docs/errors.md
```

HEADER
echo "| case | network as written | error |"
echo "|---|---|---|"
for rs in *.rs; do
  case="${rs%.rs}"
  net=$(sed -n '/network! {/,/^}/p' "$rs" | grep -v -e 'network! {' -e '^}' -e '///' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
  errors=$(grep '^error' "$case.stderr" | sed 's/^error: //; s/|/\\|/g' | awk 'BEGIN{ORS=""} NR>1{print "<br>"} {print}')
  printf '| `%s` | `%s` | %s |\n' "$case" "$(echo "$net" | sed 's/|/\\|/g')" "$errors"
done
