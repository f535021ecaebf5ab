// Lifecycle events from a bus (LBMETER_EVENTS_URL, amqp(s):// or nats://, LBMETER_EVENTS_TOPIC):
// each message is what POST /management/usage/events takes (`{"events": [...]}`, or one event),
// held to the same schema and checks. A message is acknowledged only after its events are stored,
// so a crash before the ack redelivers it, and the event ids make that harmless. A message that
// can never be stored (not JSON, not events, an event the checks refuse) goes to the dead-letter
// queue or subject `<topic>.dead-letters` with the reason, instead of blocking the ones after it;
// a store that cannot be reached leaves the message to be delivered again. Several processes may
// consume one queue (RabbitMQ) or durable consumer (JetStream): each message goes to one of them.

import AjvModule from 'ajv';
import amqp from 'amqplib';
import { AckPolicy, connect as natsConnect, headers as natsHeaders, type NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import { EVENTS_BODY_SCHEMA } from './eventSchema.ts';
import { validateEvents, type EventInput } from '../api/ingestValidation.ts';
import { ingestEvents } from './events.ts';
import { ApiFault } from '../api/faults.ts';
import { ensureStream, streamName } from '../bus/jetstream.ts';
import type { Metrics } from '../metrics.ts';

const Ajv = AjvModule as unknown as typeof AjvModule.default;
const validBody = new Ajv({ allErrors: false, coerceTypes: false }).compile(EVENTS_BODY_SCHEMA);

export interface EventConsumer {
  /** Stops taking messages; the one being stored is finished and acknowledged first. */
  stop(): Promise<void>;
}

export interface EventConsumerOptions {
  url: string;
  topic: string;
  logger: Logger;
  /** Counts each message's outcome (lbmeter_bus_event_messages_total). */
  metrics?: Metrics;
  now?: () => number;
  /** Tries to reach the broker again this often while it is away. */
  retryMs?: number;
}

/** What a message's text holds: the events to store, or why it never can be. */
type Decoded = { events: EventInput[] } | { refused: string };

function decode(text: string): Decoded {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { refused: 'not JSON' };
  }
  const wrapped = body && typeof body === 'object' && !Array.isArray(body) && !('events' in body) ? { events: [body] } : body;
  if (!validBody(wrapped)) {
    const e = validBody.errors?.[0];
    return { refused: `${e?.instancePath || 'the message'} ${e?.message ?? 'is not events'}`.replace(/^\//, '').replaceAll('/', '.') };
  }
  return { events: (wrapped as { events: EventInput[] }).events };
}

/** Stores a message's events: 'stored', a refusal for the dead letters, or a throw (try again later). */
async function storeMessage(store: Store, text: string, now: () => number): Promise<{ stored: number } | { refused: string }> {
  const decoded = decode(text);
  if ('refused' in decoded) return decoded;
  let events;
  try {
    events = await validateEvents(store.db, decoded.events, now());
  } catch (err) {
    if (err instanceof ApiFault && err.status === 400) return { refused: err.message };
    throw err;
  }
  const r = await ingestEvents(store, events, now());
  return { stored: r.accepted };
}

export function consumeEvents(db: Store, options: EventConsumerOptions): EventConsumer {
  const scheme = new URL(options.url).protocol;
  return scheme === 'nats:' ? natsConsumer(db, options) : amqpConsumer(db, options);
}

const deadLetters = (topic: string) => `${topic}.dead-letters`;

/** A connection consuming messages: closed when the broker goes away; stop() finishes the message in hand. */
interface Session {
  closed: Promise<unknown>;
  stop(): Promise<void>;
}

/** Opens a session, and again whenever it closes or cannot be opened, until stopped. */
function reconnecting(options: EventConsumerOptions, open: () => Promise<Session>): EventConsumer {
  let stopped = false;
  let session: Session | undefined;
  let retry: NodeJS.Timeout | undefined;
  let opening: Promise<void> = Promise.resolve();
  const again = () => {
    if (!stopped) retry = setTimeout(() => { opening = start(); }, options.retryMs ?? 1000);
  };
  const start = async () => {
    try {
      const opened = await open();
      // Stopped while it was opening: a session left open would keep the process alive.
      if (stopped) return await opened.stop();
      session = opened;
      void opened.closed.then(() => {
        if (session === opened) session = undefined;
        again();
      });
      options.logger.info({ topic: options.topic }, 'consuming lifecycle events');
    } catch (err) {
      if (!stopped) options.logger.warn({ err: (err as Error).message }, 'event bus not reachable; trying again');
      again();
    }
  };
  opening = start();
  return {
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await opening;
      await session?.stop();
    },
  };
}

/** What became of a message: stored (or sent to the dead letters), or to be delivered again. */
async function handle(db: Store, text: string, options: EventConsumerOptions, deadLetter: (fault: string) => Promise<void>): Promise<boolean> {
  try {
    const result = await storeMessage(db, text, options.now ?? Date.now);
    if ('refused' in result) {
      await deadLetter(result.refused);
      options.logger.warn({ topic: options.topic, fault: result.refused }, 'event message refused: sent to the dead letters');
    }
    options.metrics?.busEventMessages.inc({ result: 'refused' in result ? 'dead_letter' : 'stored' });
    return true;
  } catch (err) {
    options.logger.warn({ err }, 'event message not stored; it will be delivered again');
    options.metrics?.busEventMessages.inc({ result: 'retried' });
    return false;
  }
}

function amqpConsumer(db: Store, options: EventConsumerOptions): EventConsumer {
  return reconnecting(options, async () => {
    const connection = await amqp.connect(options.url);
    try {
      connection.on('error', () => {}); // a close follows, and the session is opened again
      const closed = new Promise((resolve) => connection.on('close', resolve));
      const channel = await connection.createChannel();
      await channel.assertQueue(options.topic, { durable: true });
      await channel.assertQueue(deadLetters(options.topic), { durable: true });
      await channel.prefetch(1); // one message at a time: stored, then acknowledged
      let working = Promise.resolve();
      await channel.consume(options.topic, (message) => {
        if (!message) return;
        working = working.then(async () => {
          const done = await handle(db, message.content.toString(), options, async (fault) => {
            channel.sendToQueue(deadLetters(options.topic), message.content, { persistent: true, headers: { 'x-lbmeter-fault': fault }, contentType: message.properties.contentType });
          });
          if (done) channel.ack(message);
          else channel.nack(message, false, true);
        }).catch(() => {});
      });
      return {
        closed,
        async stop() {
          await working;
          await connection.close().catch(() => {});
        },
      };
    } catch (err) {
      await connection.close().catch(() => {});
      throw err;
    }
  });
}

function natsConsumer(db: Store, options: EventConsumerOptions): EventConsumer {
  const stream = streamName(options.topic);
  return reconnecting(options, async () => {
    const nc = await natsConnect({ servers: options.url, reconnect: false });
    try {
      const jsm = await nc.jetstreamManager();
      await ensureStream(jsm, stream, [options.topic]);
      await ensureStream(jsm, `${stream}_DEAD_LETTERS`, [deadLetters(options.topic)]);
      await jsm.consumers.info(stream, 'lbmeter').catch(() => jsm.consumers.add(stream, { durable_name: 'lbmeter', ack_policy: AckPolicy.Explicit, ack_wait: 30_000_000_000 }));
      const js = nc.jetstream();
      const messages = await (await js.consumers.get(stream, 'lbmeter')).consume({ max_messages: 1 });
      const loop = (async () => {
        for await (const m of messages) {
          const done = await handle(db, new TextDecoder().decode(m.data), options, async (fault) => {
            const h = natsHeaders();
            h.set('Lbmeter-Fault', fault);
            // Named by the refused message's place in its stream: dead-lettered again after a
            // lost ack (a server restart between the two), it is one dead letter, not two.
            await js.publish(deadLetters(options.topic), m.data, { headers: h, msgID: `dead-letter-${m.seq}` });
          });
          if (done) m.ack();
          else m.nak(1000);
        }
      })().catch(() => {});
      return {
        closed: nc.closed(),
        async stop() {
          messages.stop(); // ends the loop after the message in hand, which is acknowledged first
          await loop;
          await nc.drain().catch(() => {});
        },
      };
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  });
}
