import { z } from 'zod'
import type { ActionOf, CrmActionDefinition } from './action-definition.js'
import { DISTRIBUTION_ACTIONS } from './distribution-actions.js'
import { ITEM_ACTIONS } from './item-actions.js'
import { SUBSCRIPTION_ACTIONS } from './life-cycle-actions.js'
import { SERVICE_ACTIONS } from './service-actions.js'

/**
 * Every CRM action that can change what Conax should hold, by concept: the subscription's life
 * cycle, its distribution, its services, its installed items. A new action is declared in the
 * file of its concept (type, schema and planning in one `defineAction`) and added to that file's
 * list; the planner, the API schema and the OpenAPI document take it from here.
 */
export const CRM_ACTIONS = [
  ...SUBSCRIPTION_ACTIONS,
  ...DISTRIBUTION_ACTIONS,
  ...SERVICE_ACTIONS,
  ...ITEM_ACTIONS,
] as const

const BY_NAME: ReadonlyMap<string, CrmActionDefinition> = new Map(
  CRM_ACTIONS.flatMap((definition) => [...definition.names].map((name) => [name, definition])),
)

/** The definition that declares this action, if any (a caller outside the types may send any name). */
export function definitionOf(action: { readonly action: string }): CrmActionDefinition | undefined {
  return BY_NAME.get(action.action)
}

/** The actions' schema, each action's object with the fields of `more` as well (the API's send options). */
export function crmActionSchemaWith<M extends z.ZodRawShape>(more: M) {
  const [first, ...rest] = CRM_ACTIONS
  return z.discriminatedUnion('action', [
    first.schemaWith(more),
    ...rest.map((definition) => definition.schemaWith(more)),
  ])
}

/** Every CRM action's JSON shape, as a library caller passes it. */
export const crmActionsSchema = crmActionSchemaWith({})

/** Every CRM action that can change what Conax should hold. */
export type CrmAction = ActionOf<typeof crmActionsSchema>
export type CrmActionName = CrmAction['action']
