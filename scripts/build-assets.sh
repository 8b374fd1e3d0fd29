#!/usr/bin/env bash
# Build the web app's static assets: install the pinned npm packages (nhsuk-frontend,
# axe-core for the accessibility tests) and copy the compiled NHS.UK design system into
# src/carepilot/web/static/nhsuk/. Skips the work when the copy is already current.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
want=$(node -p "require('./package.json').dependencies['nhsuk-frontend']")
have=$(cat ../src/carepilot/web/static/nhsuk/VERSION 2>/dev/null || true)
if [ -d node_modules/nhsuk-frontend ] && [ -d node_modules/axe-core ] && [ "$have" = "$want" ]; then
    exit 0
fi
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi
npm run --silent build
