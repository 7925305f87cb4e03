import { describe, expect, it } from 'vitest'
import { encodeLine, encodeTextLine, scanLines } from './log-lines.js'

describe('log lines', () => {
  it('encodes a line from text exactly as from its parts, multi-byte characters included', () => {
    const json = JSON.stringify({ response: 'é€𝄞'.repeat(50), n: 1 })

    const line = encodeTextLine(json)

    expect(line.equals(encodeLine([Buffer.from(json)]))).toBe(true)
    expect(scanLines(Buffer.concat([line, line]))).toMatchObject({
      lines: [{ start: 0 }, { start: line.length, end: 2 * line.length }],
      damaged: null,
    })
    expect(scanLines(line).lines[0]?.json.toString()).toBe(json)
  })
})
