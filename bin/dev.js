#!/usr/bin/env node
// Runs the CLI from the TypeScript sources (Node 22's type stripping), without a build.
const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
