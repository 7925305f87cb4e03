import type { CaState } from './ca-state.js'
import {
  checkCard,
  checkCardCount,
  checkCardsAndModules,
  checkModule,
  fail,
  invalid,
  unique,
} from './checks.js'
import { isDistributor, isPairingModuleId } from './rules.js'
import type {
  ModelRules,
  OperationContext,
  Outcome,
  Pairing,
  PairingModule,
  Smartcard,
} from './types.js'

/**
 * Pairings (the `pairing` service): which smartcards work in which STBs (pairing modules).
 *
 * | operation                        | effect                                                       |
 * | -------------------------------- | ------------------------------------------------------------ |
 * | CreatePairing                    | a new pairing of these cards and STBs; earlier ones go first |
 * | AddToExistingPairing             | adds cards and STBs to a card's pairing; none: NOT_PAIRED    |
 * | GetPairingStatusForCard          | the pairing of a card                                        |
 * | GetPairingStatusForPairingModule | the pairing of an STB                                        |
 *
 * and, outside the SOAP flow (admin API), cancelling a card's pairing directly. An STB without
 * an owner becomes the SMS user's that pairs it first.
 */

export interface CreatePairingInput {
  readonly caClientIds: readonly string[]
  readonly pairingModuleIds: readonly string[]
  readonly distributor: string | null
}

export interface AddToExistingPairingInput {
  readonly pairedCaClientId: string
  readonly caClientIds: readonly string[]
  readonly pairingModuleIds: readonly string[]
}

export interface PairingStatus {
  readonly paired: boolean
  readonly caClientIds: readonly string[]
  readonly pairingModules: readonly PairingModuleView[]
}

export interface PairingModuleView {
  readonly pairingModuleId: string
  readonly serialNumber: string
  readonly productCode: string
  readonly productDescription: string
}

/** CreatePairing: a new pairing of these cards and STBs; earlier pairings of them are cancelled first. */
export function createPairing(
  state: CaState,
  ctx: OperationContext,
  input: CreatePairingInput,
): Outcome<string> {
  const cards = unique(input.caClientIds)
  const stbs = unique(input.pairingModuleIds)
  const problem =
    checkCardCount(state, cards) ??
    (input.distributor !== null && !isDistributor(input.distributor)
      ? invalid(`Distributor '${input.distributor}' must be 1 to 32 characters.`)
      : null) ??
    checkCardsAndModules(state, ctx, cards, stbs)
  if (problem) {
    return fail(problem)
  }
  for (const id of cards) {
    releaseDevice(state, state.existingCard(id), state.rules.pairingReplace)
  }
  for (const id of stbs) {
    releaseDevice(state, state.existingModule(id), state.rules.pairingReplace)
  }
  const pairing = state.addPairing({
    caClientIds: [...cards],
    pairingModuleIds: [...stbs],
    distributor: input.distributor,
    createdAt: ctx.now,
  })
  for (const id of cards) {
    const card = state.existingCard(id)
    state.touchCard(id, card)
    card.pairingId = pairing.id
  }
  for (const id of stbs) {
    joinPairing(state, ctx, state.existingModule(id), pairing)
  }
  return {
    ok: true,
    value: pairing.id,
    message: `Paired ${cards.length} card(s) with ${stbs.length} pairing module(s).`,
  }
}

/** AddToExistingPairing: adds cards and STBs to the pairing of `pairedCaClientId`. */
export function addToExistingPairing(
  state: CaState,
  ctx: OperationContext,
  input: AddToExistingPairingInput,
): Outcome<string> {
  const cards = unique(input.caClientIds)
  const stbs = unique(input.pairingModuleIds)
  const problem =
    (cards.length + stbs.length === 0
      ? invalid('AddToExistingPairing needs at least one CaClientId or PairingModuleId to add.')
      : null) ??
    checkCardCount(state, [input.pairedCaClientId, ...cards]) ??
    checkCard(state, ctx, input.pairedCaClientId, 'PairedCaClientId') ??
    checkCardsAndModules(state, ctx, cards, stbs)
  if (problem) {
    return fail(problem)
  }
  const anchor = state.existingCard(input.pairedCaClientId)
  const pairing = anchor.pairingId === null ? undefined : state.pairings.get(anchor.pairingId)
  if (!pairing) {
    return fail({
      code: 'NOT_PAIRED',
      message: `PairedCaClientId '${input.pairedCaClientId}' has no pairing to add to. Pair it first with CreatePairing.`,
    })
  }
  let added = 0
  state.touchPairing(pairing)
  for (const id of cards) {
    const card = state.existingCard(id)
    if (card.pairingId !== pairing.id) {
      releaseDevice(state, card, 'detach')
      state.touchCard(id, card)
      card.pairingId = pairing.id
      pairing.caClientIds.push(id)
      added++
    }
  }
  for (const id of stbs) {
    const stb = state.existingModule(id)
    if (stb.pairingId !== pairing.id) {
      releaseDevice(state, stb, 'detach')
      joinPairing(state, ctx, stb, pairing)
      pairing.pairingModuleIds.push(id)
      added++
    }
  }
  return { ok: true, value: pairing.id, message: `${added} device(s) added to the pairing.` }
}

/** GetPairingStatusForCard. */
export function pairingStatusForCard(
  state: CaState,
  ctx: OperationContext,
  caClientId: string,
): Outcome<PairingStatus> {
  const problem = checkCard(state, ctx, caClientId, 'CaClientId')
  if (problem) {
    return fail(problem)
  }
  return pairingStatus(state, state.existingCard(caClientId).pairingId)
}

/** GetPairingStatusForPairingModule. */
export function pairingStatusForModule(
  state: CaState,
  ctx: OperationContext,
  pairingModuleId: string,
): Outcome<PairingStatus> {
  if (!isPairingModuleId(pairingModuleId)) {
    return fail(invalid(`PairingModuleId '${pairingModuleId}' must be 1 to 20 digits.`))
  }
  const problem = checkModule(state, ctx, pairingModuleId)
  if (problem) {
    return fail(problem)
  }
  return pairingStatus(state, state.existingModule(pairingModuleId).pairingId)
}

/** Cancels the pairing a card belongs to, outside the SOAP flow. */
export function forceUnpair(state: CaState, caClientId: string): boolean {
  const card = state.cards.get(caClientId)
  if (!card || card.pairingId === null) {
    return false
  }
  releaseDevice(state, card, 'whole')
  return true
}

function pairingStatus(state: CaState, pairingId: string | null): Outcome<PairingStatus> {
  const pairing = pairingId === null ? undefined : state.pairings.get(pairingId)
  if (!pairing) {
    return {
      ok: true,
      value: { paired: false, caClientIds: [], pairingModules: [] },
      message: 'Not paired.',
    }
  }
  const pairingModules = pairing.pairingModuleIds.map((id) => {
    const stb = state.existingModule(id)
    return {
      pairingModuleId: stb.pairingModuleId,
      serialNumber: stb.serialNumber,
      productCode: stb.productCode,
      productDescription: stb.productDescription,
    }
  })
  return {
    ok: true,
    value: { paired: true, caClientIds: [...pairing.caClientIds], pairingModules },
    message: `Paired: ${pairing.caClientIds.length} card(s), ${pairingModules.length} pairing module(s).`,
  }
}

/** An STB joins a pairing; an STB without an owner becomes the caller's. */
function joinPairing(
  state: CaState,
  ctx: OperationContext,
  stb: PairingModule,
  pairing: Pairing,
): void {
  state.touchModule(stb.pairingModuleId, stb)
  stb.pairingId = pairing.id
  stb.sms ??= ctx.user
}

/** Takes a device out of its pairing; `whole` cancels that pairing for every member. */
function releaseDevice(
  state: CaState,
  device: Smartcard | PairingModule,
  mode: ModelRules['pairingReplace'],
): void {
  const pairing = device.pairingId === null ? undefined : state.pairings.get(device.pairingId)
  if ('caClientId' in device) {
    state.touchCard(device.caClientId, device)
  } else {
    state.touchModule(device.pairingModuleId, device)
  }
  device.pairingId = null
  if (!pairing) {
    return
  }
  switch (mode) {
    case 'whole':
      dissolve(state, pairing)
      return
    case 'detach':
      state.touchPairing(pairing)
      removeItem(pairing.caClientIds, 'caClientId' in device ? device.caClientId : '')
      removeItem(
        pairing.pairingModuleIds,
        'pairingModuleId' in device ? device.pairingModuleId : '',
      )
      if (pairing.caClientIds.length === 0 || pairing.pairingModuleIds.length === 0) {
        dissolve(state, pairing)
      }
  }
}

/** Cancels a pairing: every member leaves it, and it is gone. */
function dissolve(state: CaState, pairing: Pairing): void {
  for (const id of pairing.caClientIds) {
    const card = state.cards.get(id)
    if (card?.pairingId === pairing.id) {
      state.touchCard(id, card)
      card.pairingId = null
    }
  }
  for (const id of pairing.pairingModuleIds) {
    const stb = state.modules.get(id)
    if (stb?.pairingId === pairing.id) {
      state.touchModule(id, stb)
      stb.pairingId = null
    }
  }
  state.removePairing(pairing)
}

function removeItem(list: string[], value: string): void {
  const index = list.indexOf(value)
  if (index >= 0) {
    list.splice(index, 1)
  }
}
