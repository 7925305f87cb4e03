import { SEQUENCE_NUMBER } from '../contract/common-types.js'
import { complex, el, list, opt, optList, type Read } from '../contract/schema.js'
import {
  addSubscriptions,
  cancelSubscriptions,
  getActiveSubscriptions,
  type AddSubscriptionItem,
  type CancelSubscriptionItem,
} from '../model/subscriptions.js'
import { answer, defineOperation, statusOnly } from './define-operation.js'

/** The `subscription` service: cards and products (model/subscriptions.ts). */

const ADD_ITEM = complex('AddSubscriptionItemType', [
  el('CaClientId', 'string'),
  el('ProductId', 'string'),
  opt('Distributor', 'string'),
  opt('StartDate', 'dateTime'),
  opt('EndDate', 'dateTime'),
])

const CANCEL_ITEM = complex('CancelSubscriptionItemType', [
  el('CaClientId', 'string'),
  el('ProductId', 'string'),
  opt('Distributor', 'string'),
])

const ACTIVE_ITEM = complex('ActiveSubscriptionType', [
  el('ProductId', 'string'),
  opt('Distributor', 'string'),
  el('StartDate', 'dateTime'),
  opt('EndDate', 'dateTime'),
])

/** A subscription item to cancel, as the model takes it. */
function cancelItemOf(item: Read<typeof CANCEL_ITEM.children>): CancelSubscriptionItem {
  return {
    caClientId: item.CaClientId,
    productId: item.ProductId,
    distributor: item.Distributor ?? null,
  }
}

/** A subscription item to add, as the model takes it. */
function addItemOf(item: Read<typeof ADD_ITEM.children>): AddSubscriptionItem {
  return { ...cancelItemOf(item), startDate: item.StartDate ?? null, endDate: item.EndDate ?? null }
}

export const SUBSCRIPTION_OPERATIONS = [
  defineOperation({
    name: 'AddSubscriptions',
    service: 'subscription',
    write: true,
    request: [
      el('Subscriptions', complex('AddSubscriptionListType', [list('Subscription', ADD_ITEM)])),
      SEQUENCE_NUMBER,
    ],
    response: [],
    handle: (state, ctx, { Subscriptions }) =>
      answer(addSubscriptions(state, ctx, Subscriptions.Subscription.map(addItemOf)), statusOnly),
    example: {
      Subscriptions: {
        Subscription: [
          {
            CaClientId: '01900080207',
            ProductId: 'EFA2',
            Distributor: 'Main',
            StartDate: '2030-01-01T00:00:00Z',
            EndDate: '2031-01-01T00:00:00Z',
          },
          { CaClientId: '01000000003', ProductId: 'GFA1' },
        ],
      },
      SequenceNumber: 41,
    },
  }),
  defineOperation({
    name: 'CancelSubscriptions',
    service: 'subscription',
    write: true,
    request: [
      el(
        'Subscriptions',
        complex('CancelSubscriptionListType', [list('Subscription', CANCEL_ITEM)]),
      ),
      SEQUENCE_NUMBER,
    ],
    response: [],
    handle: (state, ctx, { Subscriptions }) =>
      answer(
        cancelSubscriptions(state, ctx, Subscriptions.Subscription.map(cancelItemOf)),
        statusOnly,
      ),
    example: {
      Subscriptions: {
        Subscription: [{ CaClientId: '01450253313', ProductId: 'GFA1', Distributor: 'Main' }],
      },
      SequenceNumber: 42,
    },
  }),
  defineOperation({
    name: 'GetActiveSubscriptions',
    service: 'subscription',
    write: false,
    request: [el('CaClientId', 'string')],
    response: [
      opt(
        'Subscriptions',
        complex('ActiveSubscriptionListType', [optList('Subscription', ACTIVE_ITEM)]),
      ),
    ],
    handle: (state, ctx, { CaClientId }) =>
      answer(getActiveSubscriptions(state, ctx, CaClientId), (products) => ({
        Subscriptions: {
          Subscription: products.map((p) => ({
            ProductId: p.productId,
            Distributor: p.distributor,
            StartDate: p.startDate,
            EndDate: p.endDate,
          })),
        },
      })),
    example: { CaClientId: '01450253313' },
  }),
] as const
