import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { capturedIo } from '../../../common/test-support/captured-io.js'
import { buildCommand } from './main.js'

// compose.yaml is not run by the tests (no container engine in CI): its simulator service's
// command line must at least parse with the simulator's own options and accept the Host header
// the adapter containers send (src/compose.test.ts checks the adapters' side).

const ROOT = join(import.meta.dirname, '..', '..', '..')

describe("compose.yaml's simulator service", () => {
  it('parses with conax-sim options, listens on all interfaces and accepts the Host sim', () => {
    const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: { sim: { command: string[]; ports: string[] } }
    }
    const [node, bin, ...args] = compose.services.sim.command
    expect([node, bin]).toEqual(['node', 'bin/conax-sim.js'])
    const command = buildCommand(capturedIo({})).exitOverride()
    command.parse(['node', 'conax-sim', ...args])
    const options = command.opts()

    expect(options['host']).toBe('0.0.0.0')
    expect(options['allowedHosts']).toContain('sim')
    expect(compose.services.sim.ports).toEqual([
      `${String(options['port'])}:${String(options['port'])}`,
    ])
  })
})
