// Writes container images as an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// without a daemon: gzip'd tar layers, image configs, manifests, one image index per tag. Reproducible: a layer is
// its entries sorted by path, each with the owner, mode and mtime it is given (no user or group names, no atime or
// ctime), gzip'd at a fixed level with no timestamp of its own; JSON documents are written in a fixed key order.
import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, rename, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'
import tar from 'tar-stream'

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const

export interface Descriptor {
  mediaType: string
  /** `sha256:<hex>`. */
  digest: string
  size: number
  platform?: Platform
  annotations?: Record<string, string>
}

export interface Platform {
  architecture: string
  os: string
  variant?: string
}

/**
 * One entry of a layer. Paths are relative (`usr/local/bin/x`), without a leading `./` or `/`. Without an `mtime`
 * of its own an entry takes the layer's.
 */
export type LayerEntry = {path: string; mode: number; uid: number; gid: number; mtime?: Date} & (
  | {type: 'directory'}
  | {type: 'file'; data: Buffer}
  /** A file read from disk when the layer is written (a large executable is never held in memory). */
  | {type: 'file'; source: string}
  | {type: 'symlink'; target: string}
  /** A hard link to an earlier entry's path. */
  | {type: 'link'; target: string}
)

export interface WrittenLayer extends Descriptor {
  /** The digest of the uncompressed tar: the image config's `rootfs.diff_ids`. */
  diffId: string
  /** The uncompressed tar's size. */
  uncompressedSize: number
}

export interface ImageConfig {
  /** The runtime configuration (`config` in the image config): User, Entrypoint, Env, Labels... */
  config: Record<string, unknown>
  platform: Platform
  /** RFC 3339 time of the image, and of every history entry. */
  created: string
  /** One history entry per layer, in layer order. */
  history: Array<{createdBy: string; comment?: string}>
}

/** Byte order of paths, the same in every locale. */
function byPath(a: LayerEntry, b: LayerEntry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0
}

function checkEntries(entries: LayerEntry[]): void {
  const seen = new Set<string>()
  for (const entry of entries) {
    if (entry.path === '' || entry.path.startsWith('/') || entry.path.startsWith('./') || entry.path.endsWith('/') || entry.path.split('/').includes('..')) {
      throw new Error(`layer entry "${entry.path}": a path is relative, without ./, .., or a trailing /`)
    }
    if (seen.has(entry.path)) throw new Error(`layer entry "${entry.path}" appears twice`)
    seen.add(entry.path)
  }
}

function sha256Tap(onChunk: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onChunk(chunk)
      callback(null, chunk)
    },
  })
}

/** An OCI image layout directory: blobs under `blobs/sha256/`, tags in `index.json`. */
export class OciLayout {
  readonly dir: string
  private readonly blobs: string
  private temporaryFiles = 0

  private constructor(dir: string) {
    this.dir = dir
    this.blobs = path.join(dir, 'blobs', 'sha256')
  }

  /** Creates an empty layout at `dir`, removing whatever was there. */
  static async create(dir: string): Promise<OciLayout> {
    await rm(dir, {recursive: true, force: true})
    const layout = new OciLayout(dir)
    await mkdir(layout.blobs, {recursive: true})
    await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
    return layout
  }

  blobPath(digest: string): string {
    return path.join(this.blobs, digest.replace(/^sha256:/, ''))
  }

  /** Writes one layer: `entries` sorted by path (those without an mtime of their own get `mtime`), gzip'd at `level` (default 6). */
  async writeLayer(entries: LayerEntry[], options: {mtime: Date; level?: number}): Promise<WrittenLayer> {
    checkEntries(entries)
    const sorted = [...entries].sort(byPath)
    const pack = tar.pack()
    const uncompressed = createHash('sha256')
    const compressed = createHash('sha256')
    let uncompressedSize = 0
    let size = 0
    const temporary = path.join(this.blobs, `.layer-${process.pid}-${this.temporaryFiles++}`)
    const written = pipeline(
      pack,
      sha256Tap((chunk) => {
        uncompressed.update(chunk)
        uncompressedSize += chunk.length
      }),
      // Node's gzip header has no file name and mtime 0.
      createGzip({level: options.level ?? 6}),
      sha256Tap((chunk) => {
        compressed.update(chunk)
        size += chunk.length
      }),
      createWriteStream(temporary),
    )
    // The pipeline's failure surfaces through `written`; adding entries must not leave it unobserved.
    written.catch(() => {})
    for (const entry of sorted) await addEntry(pack, entry, options.mtime)
    pack.finalize()
    await written
    const digest = `sha256:${compressed.digest('hex')}`
    await rename(temporary, this.blobPath(digest))
    return {mediaType: MEDIA_TYPES.layer, digest, size, diffId: `sha256:${uncompressed.digest('hex')}`, uncompressedSize}
  }

  /** Writes a JSON document as a blob and returns its descriptor. */
  async writeJson(mediaType: string, document: object): Promise<Descriptor> {
    const data = Buffer.from(JSON.stringify(document))
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
    await writeFile(this.blobPath(digest), data)
    return {mediaType, digest, size: data.length}
  }

  /** Writes an image (its config and manifest) over `layers` and returns the manifest's descriptor with its platform. */
  async writeImage(layers: WrittenLayer[], image: ImageConfig): Promise<Descriptor & {platform: Platform; config: Descriptor}> {
    if (image.history.length !== layers.length) throw new Error(`${layers.length} layers but ${image.history.length} history entries`)
    const config = await this.writeJson(MEDIA_TYPES.config, {
      created: image.created,
      architecture: image.platform.architecture,
      os: image.platform.os,
      ...(image.platform.variant ? {variant: image.platform.variant} : {}),
      config: image.config,
      rootfs: {type: 'layers', diff_ids: layers.map((layer) => layer.diffId)},
      history: image.history.map((entry) => ({created: image.created, created_by: entry.createdBy, ...(entry.comment ? {comment: entry.comment} : {})})),
    })
    const manifest = await this.writeJson(MEDIA_TYPES.manifest, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config,
      layers: layers.map(({mediaType, digest, size}) => ({mediaType, digest, size})),
    })
    return {...manifest, platform: image.platform, config}
  }

  /**
   * Writes an image index over `manifests` (one per platform) and names it `tag` in `index.json`, which then
   * holds that tag alone.
   */
  async tagIndex(tag: string, manifests: Array<Descriptor & {platform: Platform}>, annotations: Record<string, string> = {}): Promise<Descriptor> {
    const index = await this.writeJson(MEDIA_TYPES.index, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: manifests.map(({mediaType, digest, size, platform}) => ({mediaType, digest, size, platform})),
      ...(Object.keys(annotations).length > 0 ? {annotations} : {}),
    })
    await writeFile(
      path.join(this.dir, 'index.json'),
      JSON.stringify({schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [{...index, annotations: {'org.opencontainers.image.ref.name': tag}}]}),
    )
    return index
  }
}

async function addEntry(pack: tar.Pack, entry: LayerEntry, mtime: Date): Promise<void> {
  const header = {name: entry.path, mode: entry.mode, uid: entry.uid, gid: entry.gid, uname: '', gname: '', mtime: entry.mtime ?? mtime}
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolve())
    switch (entry.type) {
      case 'directory':
        pack.entry({...header, type: 'directory'}, done)
        return
      case 'symlink':
      case 'link':
        pack.entry({...header, type: entry.type, linkname: entry.target}, done)
        return
      case 'file':
        if ('data' in entry) {
          pack.entry({...header, type: 'file'}, entry.data, done)
          return
        }
        stat(entry.source).then((info) => {
          const sink = pack.entry({...header, type: 'file', size: info.size}, done)
          createReadStream(entry.source).on('error', reject).pipe(sink)
        }, reject)
    }
  })
}
