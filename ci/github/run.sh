#!/usr/bin/env bash
# One stablebuild command for action.yml: writes the report files asked for, records the step's
# outputs (exit-code, reports-dir, one per report file written), and never fails the step itself,
# so that the SARIF upload still runs; the action's last step exits with the worst code.
set -uo pipefail

command="$1"
outputs="${GITHUB_OUTPUT:-/dev/null}"
fail() {
  echo "::error title=stablebuild $command::$1"
  echo "exit-code=2" >> "$outputs"
  exit 0
}

case "${SB_COMMAND:-audit}" in
  "$command" | both) ;;
  audit | validate) exit 0 ;;
  *) fail "input command must be audit, validate or both, not '${SB_COMMAND}'" ;;
esac

cd "${GITHUB_WORKSPACE:-$PWD}" || fail "cannot enter the workspace ${GITHUB_WORKSPACE:-}"
out="${SB_OUTPUT_DIR:-stablebuild-reports}"
mkdir -p "$out" || fail "cannot create the report folder $out"

args=()
written=()
for fmt in ${SB_FORMATS//,/ }; do
  case "$fmt" in
    sarif) ext=sarif ;;
    markdown) ext=md ;;
    json) ext=json ;;
    junit) ext=xml ;;
    codequality) ext=codequality.json ;;
    github) ext=txt ;;
    *) fail "unknown format '$fmt' in input formats (sarif, markdown, json, junit, codequality, github)" ;;
  esac
  if [ "$command" = audit ] && [ "$fmt" = junit ]; then
    continue  # audit has no JUnit report: findings are not test cases
  fi
  args+=(-o "$fmt:$out/$command.$ext")
  written+=("$fmt=$out/$command.$ext")
done
if [ -n "${SB_PROFILE:-}" ]; then
  args+=(--profile "$SB_PROFILE")
fi
if [ "$command" = audit ]; then
  args+=(--fail-on "${SB_FAIL_ON:-error}")
fi
read -r -a extra <<< "${SB_ARGS:-}"

stablebuild "$command" "${SB_DIR:-.}" "${args[@]}" "${extra[@]}"
code=$?

echo "exit-code=$code" >> "$outputs"
echo "reports-dir=$out" >> "$outputs"
for entry in "${written[@]}"; do
  if [ -f "${entry#*=}" ]; then
    echo "$entry" >> "$outputs"
  fi
done
exit 0
