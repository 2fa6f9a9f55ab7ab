// `-o json` for large results: the same text as `JSON.stringify(value, null, 2)`, written in pieces.
// The arrays of the top-level object (the images of status) are written a few hundred elements at a time, so
// the output is never one string of tens of megabytes that the garbage collector moves around before it is
// written, and a pipe gets the first images at once.

/** Writes `JSON.stringify(value, null, 2) + '\n'` of a plain object through `write`, in pieces of about `batch` array elements. */
export function writeJson(value: object, write: (text: string) => void, batch = 500): void {
  if (!Number.isInteger(batch) || batch < 1) throw new TypeError(`batch must be a positive integer, got ${batch}`)
  const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
  if (entries.length === 0) {
    write('{}\n')
    return
  }
  for (const [i, [key, v]] of entries.entries()) {
    const separator = i === 0 ? '{\n' : ',\n'
    // `{"key": value}` as JSON is `{\n  "key": value\n}`, with value indented as it is inside the whole object.
    if (!Array.isArray(v) || v.length <= batch) {
      write(`${separator}${JSON.stringify({[key]: v}, null, 2).slice(2, -2)}`)
      continue
    }
    const head = `  ${JSON.stringify(key)}: [\n`
    for (let at = 0; at < v.length; at += batch) {
      const text = JSON.stringify({[key]: v.slice(at, at + batch)}, null, 2)
      write(`${at === 0 ? `${separator}${head}` : ',\n'}${text.slice(2 + head.length, -6)}`)
    }
    write('\n  ]')
  }
  write('\n}\n')
}
