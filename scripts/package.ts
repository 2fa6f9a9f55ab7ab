// `npm run package`: the release, from one build of the CLI. The build (tsc and oclif.manifest.json) when the
// sources are newer than the manifest, then the self-contained executables (scripts/package/sea.ts) in
// dist/release/bin/<os>-<arch>/, then the archives and the container image made from them.
//
//     node scripts/package.ts [--platform linux-amd64]... [--skip-build] [--no-sign-macos]
//
// --platform: only these platforms (repeatable; default all five), for a quick build.
// --skip-build: use dist/ and oclif.manifest.json as they are.
// --no-sign-macos: leave the macOS executables unsigned (no rcodesign needed; macOS then needs `codesign --sign -`).
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {buildCli} from './package/cli-build.ts'
import {parsePlatform, platforms} from './package/platforms.ts'
import {buildExecutables} from './package/sea.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const {values} = parseArgs({
  options: {
    platform: {type: 'string', multiple: true},
    'skip-build': {type: 'boolean', default: false},
    'no-sign-macos': {type: 'boolean', default: false},
  },
})
const selected = values.platform?.map(parsePlatform) ?? [...platforms]
const log = (line: string) => console.log(line)

const started = performance.now()
if (!values['skip-build']) await buildCli(root)

const {version} = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {version: string}
const releaseDir = path.join(root, 'dist', 'release')
const executables = await buildExecutables({root, version, platforms: selected, log, signMacos: !values['no-sign-macos']})

// LEAD: archives of the executables (scripts/package/archives.ts), e.g.
//   const archives = await buildArchives({root, version, inputs: executables.map(({os, arch, path}) => ({os, arch, executable: path})), outDir: releaseDir, log})

// LEAD: the container image from the linux executables (scripts/package/image.ts), e.g.
//   const linux = Object.fromEntries(executables.filter((e) => e.os === 'linux').map((e) => [e.platform, e.path]))
//   const images = await buildImages({root, version, executables: linux, outDir: releaseDir, log})

console.log(`${executables.length} executable(s) of ${version} in ${path.relative(root, releaseDir)}/bin in ${((performance.now() - started) / 1000).toFixed(0)} s`)
