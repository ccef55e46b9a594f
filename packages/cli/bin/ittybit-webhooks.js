#!/usr/bin/env node
// The command's entry. It is a file in the source tree, not in dist/, so that npm links
// `ittybit-webhooks` into node_modules/.bin even when it installs before the build has run
// (a fresh clone of this monorepo: the build runs in `prepare`, after linking).
import '../dist/cli.js';
