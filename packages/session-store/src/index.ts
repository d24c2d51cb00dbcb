/**
 * @conf/session-store: the live plane. Meeting and Call objects in the Conference v2
 * API's exact JSON shape, atomic join/leave with attendee counts, meeting leases on
 * mixer nodes, a control channel to the owning node, an event stream, and a generic
 * pub/sub `Bus`. Redis (ioredis) in production, in-process as the embedded default.
 */
export {
  type Bus,
  type BusOptions,
  connectRedis,
  createBus,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_PREFIX,
  type RedisTimeouts,
} from "./bus.ts";
export {
  createDeliveryQueue,
  type Delivery,
  type DeliveryQueue,
  type DeliveryQueueLimits,
  type DeliveryQueueOptions,
  type EnqueueResult,
} from "./delivery-queue.ts";
export { StoreUnavailableError } from "./errors.ts";
export {
  DEFAULT_EVENT_DISPATCH_BACKLOG,
  DEFAULT_EVENT_LOG_MAX_EVENTS,
  DEFAULT_EVENT_LOG_RETENTION_MS,
  type DispatchEntry,
  type DispatchFeed,
  type EventLog,
  type EventLogLimits,
  isEventId,
  type LoggedEvent,
  NODE_EVENT_TYPES,
  type NodeEventType,
  PUBLIC_EVENT_TYPES,
  type PublicEvent,
  type PublicEventType,
  toPublicEvent,
} from "./event-log.ts";
export { serveLivePlane, type ServeLivePlaneOptions } from "./link.ts";
export type { ErrorSink, SubscriptionHealth } from "./pubsub.ts";
export {
  type ControlChannel,
  createSessionStore,
  DEFAULT_RESTORE_GRACE_MS,
  type EventStream,
  type NodeEventInput,
  type SessionStore,
  type SessionStoreOptions,
} from "./store.ts";
export * from "./types.ts";
