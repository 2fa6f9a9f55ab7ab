// Release archives are reproducible: the same inputs give the same bytes, whatever the time zone or the
// files' own times and owners, and hold the executable (mode 755), LICENSE and the completion script with the
// source date.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {gunzipSync} from 'node:zlib'
import tar from 'tar-stream'
import {archiveName, buildArchives, writeSums} from '../../../scripts/package/archives.ts'

const root = fileURLToPath(new URL('../../..', import.meta.url))
const work = mkdtempSync(path.join(tmpdir(), 'snyk-watch-archives-'))
after(() => rmSync(work, {recursive: true, force: true}))

const executable = path.join(work, 'exe')
writeFileSync(executable, '#!/bin/sh\necho hello\n', {mode: 0o700})

/** Builds the linux and windows archives in a child process with the given time zone; returns their bytes. */
function buildIn(tz: string, outDir: string): Buffer[] {
  const script = `
    import {buildArchives} from ${JSON.stringify(path.join(root, 'scripts/package/archives.ts'))}
    await buildArchives({root: ${JSON.stringify(root)}, version: '1.2.3', outDir: ${JSON.stringify(outDir)},
      inputs: [{os: 'linux', arch: 'amd64', executable: ${JSON.stringify(executable)}}, {os: 'windows', arch: 'amd64', executable: ${JSON.stringify(executable)}}]})`
  execFileSync(process.execPath, ['--input-type=module', '-e', script], {env: {...process.env, TZ: tz, SOURCE_DATE_EPOCH: '1700000000'}})
  return [archiveName('1.2.3', 'linux', 'amd64'), archiveName('1.2.3', 'windows', 'amd64')].map((file) => readFileSync(path.join(outDir, file)))
}

describe('release archives', () => {
  it('are byte-identical across builds, time zones and file times', () => {
    const first = buildIn('UTC', mkdtempSync(path.join(work, 'a-')))
    utimesSync(executable, new Date(), new Date(2001, 1, 1))
    const second = buildIn('America/Los_Angeles', mkdtempSync(path.join(work, 'b-')))
    assert.ok(first[0]!.equals(second[0]!), 'the tar.gz differs')
    assert.ok(first[1]!.equals(second[1]!), 'the zip differs')
  })

  it('hold the executable, LICENSE and kubectl_complete-snyk_watch, owned by 0:0, with the source date', async () => {
    process.env.SOURCE_DATE_EPOCH = '1700000000'
    const outDir = mkdtempSync(path.join(work, 'c-'))
    const [built] = await buildArchives({root, version: '1.2.3', outDir, inputs: [{os: 'linux', arch: 'arm64', executable}]})
    delete process.env.SOURCE_DATE_EPOCH
    assert.equal(built!.file, 'kubectl-snyk_watch_1.2.3_linux_arm64.tar.gz')
    const entries: Array<{name: string; mode: number; uid: number; gid: number; mtime: number; body: string}> = []
    const extract = tar.extract()
    const done = new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        const chunks: Buffer[] = []
        stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
        stream.on('end', () => {
          entries.push({name: header.name, mode: header.mode ?? 0, uid: header.uid ?? -1, gid: header.gid ?? -1, mtime: header.mtime?.getTime() ?? 0, body: Buffer.concat(chunks).toString()})
          next()
        })
      })
      extract.on('finish', resolve)
      extract.on('error', reject)
    })
    extract.end(gunzipSync(readFileSync(built!.path)))
    await done
    assert.deepEqual(entries.map((e) => [e.name, e.mode.toString(8), e.uid, e.gid, e.mtime]), [
      ['kubectl-snyk_watch', '755', 0, 0, 1700000000_000],
      ['LICENSE', '644', 0, 0, 1700000000_000],
      ['kubectl_complete-snyk_watch', '755', 0, 0, 1700000000_000],
    ])
    assert.match(entries[1]!.body, /^Apache License\nVersion 2\.0/)
    assert.match(entries[2]!.body, /^#!\/bin\/sh\n[\s\S]*exec kubectl-snyk_watch __complete "\$@"\n$/)
    const sums = readFileSync(writeSums(outDir, [built!.file]), 'utf8')
    assert.equal(sums, `${built!.sha256}  ${built!.file}\n`)
  })
})
