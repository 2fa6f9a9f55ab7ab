// The logger writing to a memory stream: JSON lines off a TTY, human lines on one, and no credential ever.
import assert from 'node:assert/strict'
import {Writable} from 'node:stream'
import {describe, it} from 'node:test'
import {createLogger} from '../../../src/observe/logger.ts'

class MemoryStream extends Writable {
  readonly chunks: string[] = []
  isTTY: boolean

  constructor(isTTY = false) {
    super()
    this.isTTY = isTTY
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(String(chunk))
    callback()
  }

  get lines(): string[] {
    return this.chunks.join('').split('\n').filter((line) => line !== '')
  }
}

const TOKEN = 'aaaaaaaa-1111-4222-8333-bbbbbbbbbbbb'
const PAT = 'snyk_uat.12345678.abcdefghijklmnop'

describe('createLogger', () => {
  it('writes one JSON object per line when not on a TTY (auto), synchronously', () => {
    const stream = new MemoryStream(false)
    const logger = createLogger({format: 'auto', stream})
    logger.info({image: 'docker.io/library/nginx:1.27', target: 'prod', result: 'submitted', job: 'job-1'}, 'submitted')
    logger.debug('not shown at info')
    // No await: the line is written by the time the call returns.
    assert.equal(stream.lines.length, 1)
    const record = JSON.parse(stream.lines[0]!) as Record<string, unknown>
    assert.equal(record.level, 'info')
    assert.equal(record.msg, 'submitted')
    assert.equal(record.image, 'docker.io/library/nginx:1.27')
    assert.equal(record.target, 'prod')
    assert.match(String(record.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('writes human lines on a TTY (auto) and with format text: time, level, message, key=value', () => {
    for (const [format, isTTY] of [['auto', true], ['text', false]] as const) {
      const stream = new MemoryStream(isTTY)
      const logger = createLogger({format, level: 'debug', stream})
      logger.child({target: 'prod'}).warn({image: 'nginx:1.27', attempts: 3, note: 'two words', ok: false}, 'retrying')
      logger.debug('details')
      logger.error({err: new Error('connection reset')}, 'watch ended')
      const [first, second, third] = stream.lines
      assert.match(first ?? '', /^\d\d:\d\d:\d\d warn {2}retrying target=prod image=nginx:1\.27 attempts=3 note="two words" ok=false$/)
      assert.match(second ?? '', /^\d\d:\d\d:\d\d debug details$/)
      assert.match(third ?? '', /^\d\d:\d\d:\d\d error watch ended err="connection reset"$/)
      assert.ok(!stream.lines.some((line) => line.includes('{')), 'no JSON in text lines')
    }
  })

  it('writes JSON with format json even on a TTY', () => {
    const stream = new MemoryStream(true)
    createLogger({format: 'json', stream}).info('hello')
    assert.equal((JSON.parse(stream.lines[0]!) as {msg: string}).msg, 'hello')
  })

  it('never writes the Snyk token: secret keys, headers, messages, nested values and error stacks', () => {
    for (const format of ['json', 'text'] as const) {
      const stream = new MemoryStream()
      const logger = createLogger({format, level: 'debug', stream})
      logger.info({token: TOKEN, snykToken: TOKEN, config: {apiToken: TOKEN}, headers: {authorization: `token ${TOKEN}`}}, 'starting')
      logger.info({request: {headers: {Authorization: `token ${TOKEN}`}}}, 'request')
      logger.warn(`Snyk answered 401 for Authorization: token ${TOKEN}`)
      logger.warn({detail: `env SNYK_TOKEN=${TOKEN} and ${PAT}`, list: [`https://user:${TOKEN}@registry.example.com/v2`]}, 'quoted "token: ' + TOKEN + '"')
      logger.error({err: new Error(`bad token: ${TOKEN}`)}, 'failed')
      logger.child({token: TOKEN}).info('child')
      const text = stream.chunks.join('')
      assert.ok(!text.includes(TOKEN), `${format} output leaks the token:\n${text}`)
      assert.ok(!text.includes('abcdefghijklmnop'), `${format} output leaks the PAT:\n${text}`)
      assert.ok(text.includes('[redacted]'))
      assert.equal(stream.lines.length, 6)
    }
  })
})
