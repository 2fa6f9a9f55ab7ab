import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {describe, it} from 'node:test'
import {frameText, screenLines, StatusLiveView, type LiveOutput} from '../../../src/render/status-live-view.ts'
import type {StatusImage, StatusResult} from '../../../src/status/status-result.ts'

function image(name: string, extra: Partial<StatusImage> = {}): StatusImage {
  return {image: `docker.io/acme/${name}:1`, key: `docker.io/acme/${name}@sha256:aa`, registry: 'docker.io', repository: `acme/${name}`, tag: '1', result: 'monitored', fips: false, fipsSource: 'name', projects: [], runsIn: {clusters: ['dev'], namespaces: ['dev/shop'], workloads: ['dev/shop/Deployment/web'], containers: 1}, ...extra}
}

function result(images: StatusImage[], generatedAt = '2025-01-01T00:00:00.000Z'): StatusResult {
  return {
    schemaVersion: 1, command: 'status', outcome: 'ok', exitCode: 0, generatedAt, statePath: '/s', view: 'image', images, drift: [],
    counts: {images: images.length, monitored: images.length, pending: 0, failed: 0, skipped: 0, notSubmitted: 0, fips: 0, drift: 0, critical: 0, high: 0, medium: 0, low: 0},
  }
}

class FakeTerminal extends EventEmitter implements LiveOutput {
  readonly writes: string[] = []
  isTTY = true
  columns = 100
  rows = 10
  write(text: string): boolean {
    this.writes.push(text)
    return true
  }
}

const now = () => new Date(2025, 0, 1, 12, 30, 15)

describe('status live view', () => {
  it('on a terminal: takes the alternate screen, redraws in place in one write, only on change, and gives the terminal back', () => {
    const tty = new FakeTerminal()
    const view = new StatusLiveView(tty, {format: 'table', intervalMs: 1000, now})
    view.start()
    assert.deepEqual(tty.writes, ['\u001b[?1049h\u001b[?25l\u001b[H\u001b[2J'])
    view.show(result([image('web')]))
    assert.equal(tty.writes.length, 2)
    const frame = tty.writes[1]!
    assert.ok(frame.startsWith('\u001b[H'), 'cursor home first')
    assert.ok(frame.endsWith('\u001b[J'), 'then clear below')
    const lines = frame.slice(3, -3).split('\n')
    assert.ok(lines.every((line) => line.endsWith('\u001b[K')), 'each line clears to its end')
    assert.match(lines[0]!, /status --watch: every 1s, changed 12:30:15 \(Ctrl\+C to quit\)/)
    assert.match(frame, /docker\.io\/acme\/web/)

    view.show(result([image('web')], '2025-01-01T00:00:01.000Z'))
    assert.equal(tty.writes.length, 2, 'the same status at a later time draws nothing')
    view.show(result([image('web'), image('api', {fips: true})]))
    assert.equal(tty.writes.length, 3)
    assert.match(tty.writes[2]!, /docker\.io\/acme\/api/)

    tty.columns = 60
    tty.emit('resize')
    assert.equal(view.resized, true)
    view.redraw()
    assert.equal(view.resized, false)
    assert.equal(tty.writes.length, 4)
    for (const line of tty.writes[3]!.slice(3, -3).split('\u001b[K\n')) assert.ok(line.replace('\u001b[K', '').length <= 60, line)

    view.stop()
    view.stop()
    assert.equal(tty.writes.at(-1), '\u001b[?25h\u001b[?1049l')
    assert.equal(tty.writes.length, 5)
    assert.equal(tty.listenerCount('resize'), 0)
  })

  it('fits a tall status to the screen: the table is cut, the summary stays at the bottom', () => {
    const text = ['┌─┐', ...Array.from({length: 30}, (_, i) => `│ row ${i} │`), '└─┘', '31 images, a summary long enough to wrap at twenty columns'].join('\n')
    const lines = screenLines('header', text, 20, 10)
    assert.equal(lines.length, 10)
    assert.equal(lines[0], 'header')
    assert.match(lines[6]!, /^… 27 more lines/)
    assert.deepEqual(lines.slice(7), ['31 images, a summary', ' long enough to wrap', ' at twenty columns'], 'lines other than the table wrap at the width')
    assert.deepEqual(screenLines('h', 'a\nb\n', 20, 10), ['h', 'a', 'b'])
    assert.equal(frameText(['a', 'b']), '\u001b[Ha\u001b[K\nb\u001b[K\u001b[J')
  })

  it('not on a terminal: a new table after a blank line per change; -o json: a document per line; -o yaml: documents after ---', () => {
    const pipe: LiveOutput & {writes: string[]} = {writes: [], write(text: string) { this.writes.push(text) }}
    const table = new StatusLiveView(pipe, {format: 'table', intervalMs: 1000})
    table.start()
    table.show(result([image('web')]))
    table.show(result([image('web')], 'later'))
    table.show(result([image('web'), image('api')]))
    table.stop()
    assert.equal(pipe.writes.length, 2)
    assert.ok(pipe.writes[0]!.startsWith('┌'))
    assert.ok(pipe.writes[1]!.startsWith('\n┌'))
    assert.ok(pipe.writes.every((w) => !w.includes('\u001b[')))

    const json: LiveOutput & {writes: string[]} = {writes: [], write(text: string) { this.writes.push(text) }, isTTY: true}
    const jsonView = new StatusLiveView(json, {format: 'json', intervalMs: 1000})
    jsonView.start()
    jsonView.show(result([image('web')]))
    jsonView.show(result([image('web')], 'later'))
    jsonView.show(result([]))
    assert.equal(json.writes.length, 2, 'JSON streams even on a terminal')
    for (const line of json.writes) {
      assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'))
      assert.equal((JSON.parse(line) as StatusResult).command, 'status')
    }

    const yaml: LiveOutput & {writes: string[]} = {writes: [], write(text: string) { this.writes.push(text) }}
    const yamlView = new StatusLiveView(yaml, {format: 'yaml', intervalMs: 1000, stringifyYaml: (value) => `${JSON.stringify(value)}\n`})
    yamlView.show(result([image('web')]))
    assert.ok(yaml.writes[0]!.startsWith('---\n{'))
    assert.throws(() => new StatusLiveView(yaml, {format: 'yaml', intervalMs: 1000}), /needs stringifyYaml/)
  })
})
