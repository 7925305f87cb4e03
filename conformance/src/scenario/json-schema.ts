import { z } from 'zod'
import { scenarioSchema } from './schema.js'

/** The JSON Schema of scenario files, generated from the zod schema the loader checks with. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://conax-contego-sim.local/conformance/scenario.schema.json',
    title: 'Conax Contego conformance scenario',
    ...z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any', reused: 'ref' }),
  }
}
