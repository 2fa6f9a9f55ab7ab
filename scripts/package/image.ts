// The container image: the linux executable on a distroless-like base built from Debian's own packages (the C and
// C++ runtime the executable links against, CA certificates, a nonroot user), written without a Docker daemon.
//
//   dist/release/image/                                          an OCI image layout: the tag <version> is an image
//                                                                index over linux/amd64 and linux/arm64
//   dist/release/kubectl-snyk-watch_<version>_linux_<arch>.docker.tar   `docker load -i` archives, tagged
//                                                                ghcr.io/snyk-watch/kubectl-snyk-watch:<version>
//
// Each image has two layers: the base (identical from one release to the next while Debian's packages do not
// change, so a registry and a node keep it) and the executable. Reproducible: Debian's files with Debian's
// mtimes, the executable's layer and the config with $SOURCE_DATE_EPOCH (else the commit's time), owners 0:0 (the
// nonroot home 65532), entries sorted, fixed JSON. Two builds from the same commit with the same Debian package
// versions give the same digests.
//
// Needs, beside npm's packages: apt-get, apt-cache and dpkg-deb (any Debian host; the packages of every
// architecture come from the Debian archive through a private apt configuration) and skopeo (the docker-archive).
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, rm, stat} from 'node:fs/promises'
import {homedir} from 'node:os'
import path from 'node:path'
import {parse as parseYaml} from 'yaml'
import {sourceDateEpoch} from './archives.ts'
import {fetchDebianPackages, readDebianFiles, DEBIAN_13, type DebianArch, type DebianFile, type DebianPackage, type DebianRelease} from './debian-packages.ts'
import {OciLayout, type Descriptor, type LayerEntry, type Platform, type WrittenLayer} from './oci-layout.ts'
import type {Platform as ReleasePlatform} from './platforms.ts'

/** The image's repository: what the deploy manifests (deploy/) reference, with the version as the tag. */
export const IMAGE_REPOSITORY = 'ghcr.io/snyk-watch/kubectl-snyk-watch'
export const IMAGE_EXECUTABLE = '/usr/local/bin/kubectl-snyk_watch'
/** The nonroot user and group, as in distroless images. */
export const NONROOT_ID = 65532

/** The release platforms an image is built for. */
export type ImagePlatform = Extract<ReleasePlatform, `linux-${string}`>

const platforms: Record<ImagePlatform, {arch: DebianArch; platform: Platform; triplet: string}> = {
  'linux-amd64': {arch: 'amd64', platform: {architecture: 'amd64', os: 'linux'}, triplet: 'x86_64-linux-gnu'},
  'linux-arm64': {arch: 'arm64', platform: {architecture: 'arm64', os: 'linux', variant: 'v8'}, triplet: 'aarch64-linux-gnu'},
}

/** What the base takes from Debian: the runtime of a glibc executable linked like Node's official binaries. */
const RUNTIME_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6']
/** Taken without their dependencies: the filesystem skeleton and os-release, and the CA bundle's certificates. */
const BASE_PACKAGES = ['base-files', 'ca-certificates']

export interface BuildImagesOptions {
  root: string
  version: string
  /** The linux executables, by platform; the image index holds one image per executable given. */
  executables: Partial<Record<ImagePlatform, string>>
  /** Where the release goes: `image/` and the docker archives are written there. */
  outDir: string
  log?: (line: string) => void
  /** Default IMAGE_REPOSITORY. */
  repository?: string
  /** Where .deb files and apt's lists are kept between builds; default `$XDG_CACHE_HOME/kubectl-snyk-watch/debian`. */
  cacheDir?: string
  release?: DebianRelease
  /** gzip level of the layers (default 6: level 9 takes 2.5 times as long for 0.4% less). */
  compressionLevel?: number
}

export interface BuiltImage {
  platform: ImagePlatform
  manifest: Descriptor & {platform: Platform}
  config: Descriptor
  layers: WrittenLayer[]
  packages: Array<Pick<DebianPackage, 'name' | 'version' | 'architecture' | 'sha256'>>
  /** The `docker load` archive. */
  dockerArchive: {file: string; path: string; sha256: string; size: number}
}

export interface BuiltImages {
  /** The OCI image layout directory. */
  layout: string
  /** The layout's tag (the version) and the image reference the docker archives carry. */
  tag: string
  reference: string
  /** The image index the tag names: its digest is the multi-platform image's digest. */
  index: Descriptor
  images: BuiltImage[]
}

export function dockerArchiveName(version: string, platform: ImagePlatform): string {
  return `kubectl-snyk-watch_${version}_${platform.replace('-', '_')}.docker.tar`
}

function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'kubectl-snyk-watch', 'debian')
}

/** The repository's URL for `org.opencontainers.image.source`: package.json's repository or homepage, else plugin.yaml's homepage. */
export function sourceUrl(root: string): string {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {repository?: string | {url?: string}; homepage?: string}
  const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url
  const fromPackage = repository ?? pkg.homepage
  if (fromPackage) return fromPackage.replace(/^git\+/, '').replace(/\.git$/, '')
  const plugin = path.join(root, 'plugin.yaml')
  const homepage = existsSync(plugin) ? (parseYaml(readFileSync(plugin, 'utf8')) as {spec?: {homepage?: unknown}}).spec?.homepage : undefined
  if (typeof homepage === 'string') return homepage
  throw new Error('package.json has no repository or homepage, and plugin.yaml no spec.homepage: the image needs its source URL')
}

function gitRevision(root: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim() || undefined
  } catch {
    return undefined
  }
}

const root0 = {uid: 0, gid: 0}
const dir = (p: string, mode = 0o755, owner = root0): LayerEntry => ({path: p, type: 'directory', mode, ...owner})
const text = (p: string, content: string, mode = 0o644): LayerEntry => ({path: p, type: 'file', mode, data: Buffer.from(content), ...root0})

/** What the base keeps of base-files: the filesystem skeleton, the merged-/usr links, os-release, the license texts. */
function keepFromBaseFiles(file: DebianFile): boolean {
  const skeleton = ['bin', 'lib', 'lib64', 'sbin', 'dev', 'etc', 'home', 'proc', 'root', 'run', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/lib', 'usr/sbin', 'usr/share', 'usr/share/doc', 'var', 'var/lib']
  return (
    skeleton.includes(file.path) ||
    ['etc/os-release', 'usr/lib/os-release', 'etc/debian_version', 'usr/share/doc/base-files/copyright'].includes(file.path) ||
    file.path.startsWith('usr/share/common-licenses/')
  )
}

/** What the base keeps of a runtime library package: its shared libraries (iconv's gconv modules left out), its copyright. */
function keepFromLibrary(file: DebianFile, triplet: string): boolean {
  if (file.type === 'directory') return false
  if (file.path.startsWith(`usr/lib/${triplet}/gconv/`)) return false
  return /^usr\/lib(64)?\//.test(file.path) || file.path.startsWith('etc/ld.so.conf.d/') || /^usr\/share\/doc\/[^/]+(\/copyright)?$/.test(file.path)
}

/** /etc/ssl/certs/ca-certificates.crt as update-ca-certificates writes it: every certificate, in path order. */
function caBundle(files: DebianFile[]): string {
  const certificates = files
    .filter((file): file is DebianFile & {type: 'file'} => file.type === 'file' && file.path.startsWith('usr/share/ca-certificates/') && file.path.endsWith('.crt'))
    .sort((a, b) => (a.path < b.path ? -1 : 1))
    .map((file) => file.data.toString('utf8'))
    .map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`))
  if (certificates.length < 50) throw new Error(`ca-certificates holds ${certificates.length} certificates: not the package expected`)
  return certificates.join('')
}

/** dpkg's record of an installed package, one file per package as distroless images keep them: scanners read it. */
function dpkgStatus(control: string): string {
  const lines = control.replace(/\n+$/, '').split('\n')
  const at = lines.findIndex((line) => line.startsWith('Package:'))
  lines.splice(at + 1, 0, 'Status: install ok installed')
  return `${lines.join('\n')}\n`
}

/**
 * The base layer for `platform` from Debian's `packages`: Debian's files keep the mtime Debian gives them, and what
 * is written here takes the newest of those, so the base changes only when a package does.
 */
export async function baseLayer(platform: ImagePlatform, packages: DebianPackage[]): Promise<{entries: LayerEntry[]; mtime: Date}> {
  const {triplet} = platforms[platform]
  const entries = new Map<string, LayerEntry>()
  const directories = new Map<string, DebianFile>()
  let newest = 0
  const put = (file: DebianFile) => {
    if (file.type === 'directory' && entries.has(file.path)) return
    entries.set(file.path, fromDebian(file))
    newest = Math.max(newest, file.mtime.getTime())
  }
  let bundle = ''
  for (const pkg of packages) {
    const files = await readDebianFiles(pkg.file)
    for (const file of files) if (file.type === 'directory' && !directories.has(file.path)) directories.set(file.path, file)
    if (pkg.name === 'ca-certificates') {
      bundle = caBundle(files)
      for (const file of files) if (file.path === 'usr/share/doc/ca-certificates/copyright') put(file)
      continue
    }
    const keep = pkg.name === 'base-files' ? keepFromBaseFiles : (file: DebianFile) => keepFromLibrary(file, triplet)
    for (const file of files) if (keep(file)) put(file)
  }
  if (!bundle) throw new Error('the base needs the ca-certificates package')
  const generated: LayerEntry[] = [
    text('etc/passwd', `root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:${NONROOT_ID}:${NONROOT_ID}:nonroot:/home/nonroot:/usr/sbin/nologin\n`),
    text('etc/group', `root:x:0:\nnonroot:x:${NONROOT_ID}:\n`),
    text('etc/nsswitch.conf', 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n'),
    dir('etc/ssl'),
    dir('etc/ssl/certs'),
    text('etc/ssl/certs/ca-certificates.crt', bundle),
    dir('home/nonroot', 0o700, {uid: NONROOT_ID, gid: NONROOT_ID}),
    dir('usr/local'),
    dir('usr/local/bin'),
    dir('var/lib/dpkg'),
    dir('var/lib/dpkg/status.d'),
    ...packages.map((pkg) => text(`var/lib/dpkg/status.d/${pkg.name}`, dpkgStatus(pkg.control))),
  ]
  for (const entry of generated) entries.set(entry.path, entry)
  // Every directory above a kept entry, as its package has it.
  for (const p of [...entries.keys()]) {
    for (let parent = path.posix.dirname(p); parent !== '.'; parent = path.posix.dirname(parent)) {
      if (entries.has(parent)) continue
      const known = directories.get(parent)
      entries.set(parent, known ? fromDebian(known) : dir(parent))
    }
  }
  checkNoEntryBelowSymlink(entries)
  return {entries: [...entries.values()], mtime: new Date(newest)}
}

function fromDebian(file: DebianFile): LayerEntry {
  const common = {path: file.path, mode: file.mode, mtime: file.mtime, ...root0}
  switch (file.type) {
    case 'directory':
      return {...common, type: 'directory'}
    case 'file':
      return {...common, type: 'file', data: file.data}
    default:
      return {...common, type: file.type, target: file.target}
  }
}

/** A package that installs below a merged-/usr link (`lib/...` with `lib -> usr/lib`) would be lost: fail instead. */
function checkNoEntryBelowSymlink(entries: Map<string, LayerEntry>): void {
  for (const p of entries.keys()) {
    for (let parent = path.posix.dirname(p); parent !== '.'; parent = path.posix.dirname(parent)) {
      if (entries.get(parent)?.type === 'symlink') throw new Error(`${p} is below the symbolic link ${parent}`)
    }
  }
}

/** The executable's layer: the executable and the project's LICENSE. */
export function executableLayerEntries(root: string, executable: string): LayerEntry[] {
  return [
    {path: IMAGE_EXECUTABLE.slice(1), type: 'file', mode: 0o755, source: executable, ...root0},
    dir('usr/share/doc/kubectl-snyk-watch'),
    {path: 'usr/share/doc/kubectl-snyk-watch/LICENSE', type: 'file', mode: 0o644, data: readFileSync(path.join(root, 'LICENSE')), ...root0},
  ]
}

/** The OCI labels of the image (its config's Labels) and annotations of its index. */
export function imageLabels(root: string, version: string, created: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {license?: string; description?: string}
  const revision = gitRevision(root)
  return {
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.description': pkg.description ?? '',
    'org.opencontainers.image.licenses': pkg.license ?? 'NOASSERTION',
    ...(revision ? {'org.opencontainers.image.revision': revision} : {}),
    'org.opencontainers.image.source': sourceUrl(root),
    'org.opencontainers.image.title': 'kubectl-snyk-watch',
    'org.opencontainers.image.version': version,
  }
}

function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/** `docker load` archives through skopeo from the layout's tag, one platform at a time. */
function writeDockerArchive(layout: string, tag: string, reference: string, platform: ImagePlatform, target: string): void {
  const {architecture, variant} = platforms[platform].platform
  execFileSync(
    'skopeo',
    ['copy', '--quiet', '--override-os', 'linux', '--override-arch', architecture, ...(variant ? ['--override-variant', variant] : []), `oci:${layout}:${tag}`, `docker-archive:${target}:${reference}`],
    {stdio: ['ignore', 'ignore', 'pipe']},
  )
}

/** The programs a build runs, and the Debian package of each. */
const REQUIRED_TOOLS: Record<string, string> = {'apt-get': 'apt', 'apt-cache': 'apt', 'dpkg-deb': 'dpkg', skopeo: 'skopeo'}

function checkTools(): void {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)
  const missing = Object.keys(REQUIRED_TOOLS).filter((tool) => !dirs.some((dir) => existsSync(path.join(dir, tool))))
  if (missing.length > 0) {
    throw new Error(`the container image needs ${missing.join(', ')}: apt-get install ${[...new Set(missing.map((tool) => REQUIRED_TOOLS[tool]))].join(' ')} (a Debian or Ubuntu host)`)
  }
}

export async function buildImages(o: BuildImagesOptions): Promise<BuiltImages> {
  checkTools()
  const requested = (Object.keys(platforms) as ImagePlatform[]).filter((platform) => o.executables[platform])
  if (requested.length === 0) throw new Error('buildImages needs at least one linux executable')
  const log = o.log ?? (() => {})
  const repository = o.repository ?? IMAGE_REPOSITORY
  const reference = `${repository}:${o.version}`
  const epoch = sourceDateEpoch(o.root)
  const mtime = new Date(epoch * 1000)
  const created = mtime.toISOString().replace(/\.000Z$/, 'Z')
  const labels = imageLabels(o.root, o.version, created)
  const release = o.release ?? DEBIAN_13
  const cacheDir = o.cacheDir ?? defaultCacheDir()
  const layoutDir = path.join(o.outDir, 'image')
  await mkdir(o.outDir, {recursive: true})
  const layout = await OciLayout.create(layoutDir)

  const built: Array<Omit<BuiltImage, 'dockerArchive'>> = []
  for (const platform of requested) {
    const executable = o.executables[platform]!
    if (!(await stat(executable).catch(() => undefined))?.isFile()) throw new Error(`${platform}: the executable ${executable} does not exist`)
    const {arch, platform: ociPlatform} = platforms[platform]
    const packages = await fetchDebianPackages({arch, names: [...BASE_PACKAGES, ...RUNTIME_PACKAGES], withDependenciesOf: RUNTIME_PACKAGES, cacheDir, release, log})
    const level = o.compressionLevel ? {level: o.compressionLevel} : {}
    const {entries: baseEntries, mtime: baseMtime} = await baseLayer(platform, packages)
    const base = await layout.writeLayer(baseEntries, {mtime: baseMtime, ...level})
    const app = await layout.writeLayer(executableLayerEntries(o.root, executable), {mtime, ...level})
    const manifest = await layout.writeImage([base, app], {
      platform: ociPlatform,
      created,
      config: {
        User: `${NONROOT_ID}:${NONROOT_ID}`,
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Entrypoint: [IMAGE_EXECUTABLE],
        WorkingDir: '/home/nonroot',
        Labels: labels,
      },
      history: [
        {createdBy: `debian ${release.suite} ${arch}: ${packages.map((p) => `${p.name} ${p.version}`).join(', ')}`, comment: 'runtime libraries, CA certificates, nonroot user 65532'},
        {createdBy: `${IMAGE_EXECUTABLE} ${o.version}`, comment: 'the kubectl-snyk_watch executable'},
      ],
    })
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    log(`image ${platform}: ${manifest.digest} (layers ${mib(base.size)} + ${mib(app.size)} compressed, ${mib(base.uncompressedSize + app.uncompressedSize)} unpacked)`)
    built.push({platform, manifest, config: manifest.config, layers: [base, app], packages: packages.map(({name, version, architecture, sha256}) => ({name, version, architecture, sha256}))})
  }
  const index = await layout.tagIndex(o.version, built.map((image) => image.manifest), labels)
  log(`image index ${o.version}: ${index.digest} (${layoutDir})`)

  const images: BuiltImage[] = []
  for (const image of built) {
    const file = dockerArchiveName(o.version, image.platform)
    const target = path.join(o.outDir, file)
    await rm(target, {force: true})
    writeDockerArchive(path.resolve(layoutDir), o.version, reference, image.platform, path.resolve(target))
    const dockerArchive = {file, path: target, sha256: sha256Of(target), size: (await stat(target)).size}
    log(`${file}: ${reference}, ${(dockerArchive.size / 1024 / 1024).toFixed(1)} MiB, sha256 ${dockerArchive.sha256}`)
    images.push({...image, dockerArchive})
  }
  return {layout: layoutDir, tag: o.version, reference, index, images}
}
