#!/usr/bin/env bash
# Runs jest in band (the suites share one PostgreSQL and start their own servers) with
# any path filters given, then ends with one plain line, `jest: N passed, N failed,
# N skipped`, under jest's own summary. Exits with jest's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

results=.build/jest-results.json
mkdir -p .build
rm -f "$results"
status=0
npx jest --runInBand --json --outputFile="$results" "$@" || status=$?
if [ -s "$results" ]; then
  # A suite that fails to load runs no test: count it as a failure, not as nothing.
  node -e '
    const r = require(require("path").resolve(process.argv[1]));
    const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
    console.log(`jest: ${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  ' "$results"
fi
exit "$status"
