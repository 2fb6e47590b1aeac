#!/usr/bin/env bash
# Prints the README's catalogue of compile errors: for every case in tests/ui, the
# network as written and the first line of each error it produces.
set -euo pipefail
cd "$(dirname "$0")/../tests/ui"
echo "| case | network as written | error |"
echo "|---|---|---|"
for rs in *.rs; do
  case="${rs%.rs}"
  net=$(sed -n '/network! {/,/^}/p' "$rs" | grep -v -e 'network! {' -e '^}' -e '///' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
  errors=$(grep '^error' "$case.stderr" | sed 's/^error: //; s/|/\\|/g' | awk 'BEGIN{ORS=""} NR>1{print "<br>"} {print}')
  printf '| `%s` | `%s` | %s |\n' "$case" "$(echo "$net" | sed 's/|/\\|/g')" "$errors"
done
