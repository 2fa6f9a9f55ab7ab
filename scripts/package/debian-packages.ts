// Debian packages for a container image's base, for any architecture, without installing them: a private apt
// configuration (its own sources, package lists and cache; the host's dpkg database and architectures are left
// alone) resolves each package's current version in one Debian release, downloads the .deb once into a cache
// (checked against the archive's SHA256) and reads its files with `dpkg-deb --fsys-tarfile`. Needs `apt-get`,
// `apt-cache`, `dpkg-deb` and Debian's archive keyring: any Debian or Ubuntu host, as any user.
import {execFile, execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'
import {promisify} from 'node:util'
import tar from 'tar-stream'

const execFileAsync = promisify(execFile)

export type DebianArch = 'amd64' | 'arm64'

export interface DebianRelease {
  /** The release's code name: `trixie` (Debian 13). */
  suite: string
  mirror: string
  securityMirror: string
  /** The OpenPGP keyring that signs the release (Debian's `debian-archive-keyring` package). */
  keyring: string
}

export const DEBIAN_13: DebianRelease = {
  suite: 'trixie',
  mirror: 'http://deb.debian.org/debian',
  securityMirror: 'http://deb.debian.org/debian-security',
  keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
}

export interface DebianPackage {
  name: string
  version: string
  /** `amd64`, `arm64` or `all`. */
  architecture: string
  /** The downloaded .deb. */
  file: string
  sha256: string
  /** The package's control paragraph, as `dpkg-deb --field` prints it. */
  control: string
}

/** One entry of a package's filesystem tree: a relative path (`usr/lib/x86_64-linux-gnu/libc.so.6`), no `./`. */
export type DebianFile = {path: string; mode: number; mtime: Date} & ({type: 'directory'} | {type: 'file'; data: Buffer} | {type: 'symlink' | 'link'; target: string})

/** A paragraph of an apt index (`Field: value` lines, continuation lines start with a space). */
function parseParagraph(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  let current = ''
  for (const line of text.split('\n')) {
    if (/^\s/.test(line) && current) fields.set(current, `${fields.get(current)}\n${line}`)
    else {
      const match = /^([^:\s]+):\s?(.*)$/.exec(line)
      if (match) {
        current = match[1]!
        fields.set(current, match[2]!)
      }
    }
  }
  return fields
}

/** Names of the packages a Depends/Pre-Depends field requires (the first of alternatives, without versions). */
function dependencyNames(field: string | undefined): string[] {
  if (!field) return []
  return field
    .split(',')
    .map((clause) => clause.split('|')[0]!.trim().split(/[\s(:]/)[0]!)
    .filter(Boolean)
}

/** A private apt for one architecture and release, rooted in `dir`. */
class PrivateApt {
  private readonly dir: string
  private readonly arch: DebianArch
  private readonly release: DebianRelease

  constructor(dir: string, arch: DebianArch, release: DebianRelease) {
    this.dir = dir
    this.arch = arch
    this.release = release
  }

  private options(): string[] {
    const d = this.dir
    // The host's apt.conf.d stays in force: a proxy configured there applies here too.
    return [
      `-o`, `Dir::State::Lists=${d}/lists`,
      `-o`, `Dir::State::status=${d}/status`,
      `-o`, `Dir::Cache=${d}/cache`,
      `-o`, `Dir::Etc::SourceList=${d}/sources.list`,
      `-o`, `Dir::Etc::SourceParts=${d}/sources.list.d`,
      `-o`, `Dir::Etc::Preferences=${d}/preferences`,
      `-o`, `Dir::Etc::PreferencesParts=${d}/preferences.d`,
      `-o`, `APT::Architecture=${this.arch}`,
      `-o`, `APT::Architectures=${this.arch}`,
      `-o`, `Acquire::Languages=none`,
      // As root, apt downloads as its unprivileged _apt user, which may not be able to write our directories.
      ...(process.getuid?.() === 0 ? ['-o', 'APT::Sandbox::User=root'] : []),
    ]
  }

  async update(): Promise<void> {
    for (const sub of ['lists/partial', 'cache/archives/partial', 'sources.list.d', 'preferences.d']) await mkdir(path.join(this.dir, sub), {recursive: true})
    if (!existsSync(path.join(this.dir, 'status'))) await writeFile(path.join(this.dir, 'status'), '')
    const {suite, mirror, securityMirror, keyring} = this.release
    if (!existsSync(keyring)) throw new Error(`${keyring} is missing: install Debian's debian-archive-keyring package`)
    const signed = `[signed-by=${keyring}]`
    await writeFile(
      path.join(this.dir, 'sources.list'),
      [`deb ${signed} ${mirror} ${suite} main`, `deb ${signed} ${mirror} ${suite}-updates main`, `deb ${signed} ${securityMirror} ${suite}-security main`, ''].join('\n'),
    )
    await execFileAsync('apt-get', [...this.options(), '-qq', 'update'], {maxBuffer: 16 * 1024 * 1024})
  }

  /** The candidate version's index paragraph of each of `names` (one apt-cache run: each loads every list). */
  async show(names: string[]): Promise<Map<string, Map<string, string>>> {
    const {stdout} = await execFileAsync('apt-cache', [...this.options(), 'show', '--no-all-versions', ...names], {maxBuffer: 16 * 1024 * 1024}).catch((error: Error & {stderr?: string}) => {
      throw new Error(`Debian ${this.release.suite} (${this.arch}): apt-cache show ${names.join(' ')}: ${error.stderr?.trim() || error.message}`)
    })
    const found = new Map<string, Map<string, string>>()
    for (const paragraph of stdout.split(/\n\n+/)) {
      const fields = parseParagraph(paragraph)
      const name = fields.get('Package')
      if (name && fields.get('Version') && !found.has(name)) found.set(name, fields)
    }
    const missing = names.filter((name) => !found.has(name))
    if (missing.length > 0) throw new Error(`Debian ${this.release.suite} has no package ${missing.join(', ')} for ${this.arch}`)
    return found
  }

  async download(name: string, version: string, intoDir: string): Promise<void> {
    await execFileAsync('apt-get', [...this.options(), '-qq', 'download', `${name}=${version}`], {cwd: intoDir, maxBuffer: 16 * 1024 * 1024})
  }
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

/**
 * The current version of each of `names` for `arch` in `release`, downloaded into `cacheDir`, with what the
 * Depends and Pre-Depends of those in `withDependenciesOf` require (and what that requires). Sorted by name.
 */
export async function fetchDebianPackages(o: {
  arch: DebianArch
  names: string[]
  withDependenciesOf?: string[]
  cacheDir: string
  release?: DebianRelease
  log?: (line: string) => void
}): Promise<DebianPackage[]> {
  const release = o.release ?? DEBIAN_13
  const apt = new PrivateApt(path.join(o.cacheDir, `apt-${release.suite}-${o.arch}`), o.arch, release)
  await apt.update()
  const resolved = new Map<string, Map<string, string>>()
  const follow = new Set(o.withDependenciesOf ?? [])
  for (let wanted = [...new Set(o.names)]; wanted.length > 0; ) {
    const found = await apt.show(wanted)
    const next = new Set<string>()
    for (const [name, fields] of found) {
      resolved.set(name, fields)
      if (!follow.has(name)) continue
      for (const dependency of [...dependencyNames(fields.get('Pre-Depends')), ...dependencyNames(fields.get('Depends'))]) {
        follow.add(dependency)
        if (!resolved.has(dependency)) next.add(dependency)
      }
    }
    wanted = [...next]
  }
  const debs = path.join(o.cacheDir, 'debs')
  await mkdir(debs, {recursive: true})
  const packages: DebianPackage[] = []
  for (const [name, fields] of [...resolved].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const version = fields.get('Version')!
    const expected = fields.get('SHA256')
    const file = path.join(debs, path.basename(fields.get('Filename') ?? `${name}_${version}.deb`))
    if (!existsSync(file) || sha256File(file) !== expected) {
      await apt.download(name, version, debs)
      if (!existsSync(file)) throw new Error(`apt-get download ${name}=${version} did not write ${file}`)
    }
    const sha256 = sha256File(file)
    if (expected && sha256 !== expected) throw new Error(`${file}: SHA256 ${sha256}, the archive says ${expected}`)
    const control = execFileSync('dpkg-deb', ['--field', file], {encoding: 'utf8'})
    packages.push({name, version, architecture: fields.get('Architecture') ?? o.arch, file, sha256, control})
  }
  o.log?.(`debian ${release.suite} ${o.arch}: ${packages.map((p) => `${p.name} ${p.version}`).join(', ')}`)
  return packages
}

/** The files of a .deb (its data archive), in archive order. */
export async function readDebianFiles(deb: string): Promise<DebianFile[]> {
  const data = execFileSync('dpkg-deb', ['--fsys-tarfile', deb], {maxBuffer: 1024 * 1024 * 1024})
  const extract = tar.extract()
  Readable.from([data]).pipe(extract)
  const files: DebianFile[] = []
  for await (const entry of extract) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    const {header} = entry
    const name = header.name.replace(/^\.?\//, '').replace(/\/+$/, '')
    if (name === '' || name === '.') continue
    const mode = (header.mode ?? 0o644) & 0o7777
    const mtime = header.mtime ?? new Date(0)
    if (header.type === 'directory') files.push({path: name, mode, mtime, type: 'directory'})
    else if (header.type === 'file') files.push({path: name, mode, mtime, type: 'file', data: Buffer.concat(chunks)})
    else if (header.type === 'symlink') files.push({path: name, mode, mtime, type: 'symlink', target: header.linkname ?? ''})
    else if (header.type === 'link') files.push({path: name, mode, mtime, type: 'link', target: (header.linkname ?? '').replace(/^\.?\//, '')})
    else throw new Error(`${deb}: ${name} is a ${header.type}, which a base image does not take`)
  }
  return files
}
