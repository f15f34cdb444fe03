#!/usr/bin/env bash
# Runs jest in band (the suites share one PostgreSQL and start their own servers) with
# any path filters given, then ends with one plain line, `jest: N passed, N failed,
# N skipped`, under jest's own summary. Exits with jest's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Per run, so two runs at once do not read each other's results.
results=.build/jest-results.$$.json
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
# The last run's details stay in .build/jest-results.json for a look at failures.
[ -s "$results" ] && mv "$results" .build/jest-results.json
exit "$status"
