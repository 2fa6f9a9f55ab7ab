// `npm run package`: the release, from one build of the CLI. The build (tsc and oclif.manifest.json) when the
// sources are newer than the manifest, then the self-contained executables (scripts/package/sea.ts) in
// dist/release/bin/<os>-<arch>/, then the archives and the container image made from them.
//
//     node scripts/package.ts [--platform linux-amd64]... [--skip-build] [--no-sign-macos] [--no-image]
//
// --platform: only these platforms (repeatable; default all five), for a quick build.
// --skip-build: use dist/ and oclif.manifest.json as they are.
// --no-sign-macos: leave the macOS executables unsigned (no rcodesign needed; macOS then needs `codesign --sign -`).
// --no-image: no container image (no skopeo needed); the Containerfile uses it.
//
// plugin.yaml's platforms are rewritten with the archives' sums when all five platforms are built, so the committed
// plugin.yaml matches what its commit packs (run this after a change, then commit plugin.yaml).
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'
import {buildArchives, writeSums} from './package/archives.ts'
import {buildCli} from './package/cli-build.ts'
import {buildImages, type ImagePlatform} from './package/image.ts'
import {writeKrewManifest} from './package/krew-manifest.ts'
import {parsePlatform, platforms} from './package/platforms.ts'
import {buildExecutables} from './package/sea.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const {values} = parseArgs({
  options: {
    platform: {type: 'string', multiple: true},
    'skip-build': {type: 'boolean', default: false},
    'no-sign-macos': {type: 'boolean', default: false},
    'no-image': {type: 'boolean', default: false},
  },
})
const selected = values.platform?.map(parsePlatform) ?? [...platforms]
const log = (line: string) => console.log(line)

const started = performance.now()
if (!values['skip-build']) await buildCli(root)

const {version} = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {version: string}
const releaseDir = path.join(root, 'dist', 'release')
const executables = await buildExecutables({root, version, platforms: selected, log, signMacos: !values['no-sign-macos']})

const archives = await buildArchives({root, version, inputs: executables.map(({os, arch, path: executable}) => ({os, arch, executable})), outDir: releaseDir, log})
const released = archives.map((archive) => archive.file)

const linux = Object.fromEntries(executables.filter((e) => e.os === 'linux').map((e) => [e.platform, e.path])) as Partial<Record<ImagePlatform, string>>
if (!values['no-image'] && Object.keys(linux).length > 0) {
  const images = await buildImages({root, version, executables: linux, outDir: releaseDir, log})
  released.push(...images.images.map((image) => image.dockerArchive.file))
}
writeSums(releaseDir, released)

const manifest = path.join(root, 'plugin.yaml')
if (archives.length === platforms.length) {
  writeKrewManifest(manifest, {version, archives})
  log(`plugin.yaml: version v${version}, ${archives.length} platforms with their sums`)
} else {
  log(`plugin.yaml left as it is: ${archives.length} of ${platforms.length} platforms built`)
}

console.log(`${executables.length} executable(s) and archive(s) of ${version} in ${path.relative(root, releaseDir)} in ${((performance.now() - started) / 1000).toFixed(0)} s`)
