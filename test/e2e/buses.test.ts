// Buses against real brokers (issue 22): RabbitMQ on this machine (127.0.0.1:5672) and NATS
// JetStream servers the tests start. In one file, so that one test's restart of the machine's
// RabbitMQ never lands in another's middle.
//
// Export: a broker goes away in the middle of an export and comes back: every record reaches the
// bus, each is marked exported only after the broker confirmed it, and JetStream stores each
// event once (its duplicate window drops the redelivered ones).
//
// Lifecycle events from a bus: the control plane publishes the documents POST
// /management/usage/events takes, one event or a batch a message. lbmeter stores each event once,
// however often it is delivered and by however many consumers; refused messages go to the dead
// letters with the reason; the broker goes away mid-consume and comes back: nothing lost.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { connect as natsConnect } from 'nats';
import pino from 'pino';
import { putCluster } from '../../src/store/inventory.ts';
import { consumeEvents } from '../../src/ingest/busEvents.ts';
import { Metrics } from '../../src/metrics.ts';
import { engines } from '../helpers/engines.ts';
import { freePort } from '../helpers/haproxy.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { reviseFinalRecords } from '../../src/store/usageRecords.ts';
import { runExport } from '../../src/jobs/export.ts';
import { configuredSink } from '../../src/export/sinks.ts';
import { loadConfig } from '../../src/config.ts';
import { usageEventId } from '../../src/export/cloudEvents.ts';
import { streamName } from '../../src/bus/jetstream.ts';
import type { BillingSink } from '../../src/export/sink.ts';
import type { UsageRecordDraft } from '../../src/domain/rollup.ts';

const HOUR = 3_600_000;
const H0 = Date.UTC(2026, 10, 5, 0);
const RABBIT = 'amqp://guest:guest@127.0.0.1:5672';
const logger = pino({ level: process.env.LBMETER_TEST_LOG ?? 'silent' });
const [sqlite] = await engines();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  // Each cleanup bounded: one that hangs is named, not left to hold the whole run.
  for (const [i, c] of cleanups.reverse().entries()) {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => { timer = setTimeout(() => resolve('hung'), 15_000); });
    const outcome = await Promise.race([c().then(() => 'done', () => 'failed'), hung]);
    clearTimeout(timer);
    if (outcome === 'hung') console.log(`# cleanup ${i} did not finish in 15 s: ${c.toString().slice(0, 200)}`);
  }
});

const reachable = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
  s.on('error', () => resolve(false));
});
const noRabbit = (await reachable(5672)) ? undefined : 'RabbitMQ is not running on 127.0.0.1:5672';
const noNats = (() => {
  try {
    execFileSync('nats-server', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'nats-server is not installed';
  }
})();
for (const why of [noRabbit, noNats]) {
  if (why && process.env.REQUIRE_TOOLS === '1') throw new Error(`REQUIRE_TOOLS=1 but ${why}`);
  if (why) console.log(`# skipping: ${why}`);
}

/** A NATS server with JetStream on a free loopback port, its store in a temporary folder; stopped with the tests. */
async function natsServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lbmeter-nats-'));
  let server: ChildProcess | undefined;
  /** SIGKILL: a crash; SIGTERM: a restart that finishes what it acknowledged. */
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const s = server;
    if (!s || s.exitCode !== null || s.signalCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill(signal);
    await exited;
  };
  const start = async () => {
    server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await reachable(port)); i++) await new Promise((r) => setTimeout(r, 100));
  };
  cleanups.push(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return { port, url: `nats://127.0.0.1:${port}`, start, stop };
}

/** rabbitmqctl stop_app / start_app: the machine's broker goes away and comes back. */
const rabbitctl = (command: 'stop_app' | 'start_app') => { execFileSync('rabbitmqctl', [command], { stdio: 'ignore', timeout: 60_000 }); };

/** A store with `n` final records of three accounts, none exported yet: their event ids. */
async function storeWithRecords(n: number): Promise<{ store: Store; ids: Set<string> }> {
  const store = await openStore(await sqlite!.fixture.create());
  cleanups.push(() => store.close());
  const ids = new Set<string>();
  for (let hour = 0; hour < n / 10; hour++) {
    const hourMs = H0 + hour * HOUR;
    const drafts: UsageRecordDraft[] = Array.from({ length: 10 }, (_, i) => ({
      accountId: 800 + (i % 3), loadBalancerId: 100 + i, hourMs, startMs: hourMs, endMs: hourMs + HOUR, closing: false,
      bytesIn: BigInt(1000 * (i + 1) + hour), bytesOut: 7n, bytesInSsl: 0n, bytesOutSsl: 0n,
      averageNumConnections: 1, averageNumConnectionsSsl: 0, numVips: 1, numPolls: 12, vipType: 'PUBLIC', sslMode: 'OFF',
    }));
    await store.transaction((trx) => reviseFinalRecords(trx, hourMs, drafts.map((d) => d.loadBalancerId), drafts));
    for (const d of drafts) ids.add(usageEventId({ ...d, revision: 0 }));
  }
  return { store, ids };
}

/** The sink, with `interrupt` run before its `at`th batch (the broker goes away mid-export). */
function interrupted(sink: BillingSink, at: number, interrupt: () => Promise<void>): BillingSink {
  let batches = 0;
  return { ...sink, description: sink.description, async deliver(records) {
    if (++batches === at) await interrupt();
    return sink.deliver(records);
  } };
}

const exportOptions = { batchSize: 5, maxAttempts: 100, baseDelayMs: 0, maxDelayMs: 0 };
const unexported = async (store: Store) => Number((await store.db.selectFrom('usage_records').select((eb) => eb.fn.countAll().as('n')).where('exported_ms', 'is', null).executeTakeFirstOrThrow()).n);

test('RabbitMQ: persistent confirmed messages on a durable exchange; the broker stopped mid-export and started again: every record arrives', { skip: noRabbit, timeout: 120_000 }, async () => {
  const { store, ids } = await storeWithRecords(30);
  const exchange = `lbmeter.test.${randomBytes(4).toString('hex')}`;
  // The configuration as docs/integrations.md writes it.
  const config = loadConfig({ LBMETER_DB: ':memory:', LBMETER_EXPORT_URL: RABBIT, LBMETER_EXPORT_TOPIC: exchange });
  const sink = configuredSink(config.export)!;
  cleanups.push(async () => sink.close?.());
  assert.match(sink.description, new RegExp(`^amqp amqp://127\\.0\\.0\\.1:5672 exchange ${exchange.replace(/\./g, '\\.')} \\(cloudevents\\)$`), 'no password in the description');

  // A consumer's durable queue on the exchange, made before the first message.
  const admin = await amqp.connect(RABBIT);
  const channel = await admin.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const queue = (await channel.assertQueue(`${exchange}.billing`, { durable: true })).queue;
  await channel.bindQueue(queue, exchange, 'usage.#');
  await admin.close();
  cleanups.push(async () => {
    const c = await amqp.connect(RABBIT);
    const ch = await c.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteExchange(exchange);
    await c.close();
  });

  cleanups.push(async () => rabbitctl('start_app')); // whatever happens, the machine's broker runs again
  const first = await runExport(store, interrupted(sink, 3, async () => rabbitctl('stop_app')), exportOptions);
  assert.equal(first.delivered, 10, 'two batches confirmed before the broker went away');
  assert.match(first.stoppedBy ?? '', /^amqp /);
  assert.equal(await unexported(store), 20, 'nothing the broker did not confirm is marked exported');
  rabbitctl('start_app');
  for (let i = 0; i < 20 && (await runExport(store, sink, exportOptions)).stoppedBy; i++) await new Promise((r) => setTimeout(r, 500));
  assert.equal(await unexported(store), 0);

  // What the consumer finds: every record's event, by its message id; a redelivery at most repeats one.
  const consumer = await amqp.connect(RABBIT);
  const ch = await consumer.createChannel();
  const received = new Map<string, number>();
  for (let message = await ch.get(queue); message; message = await ch.get(queue)) {
    assert.equal(message.properties.deliveryMode, 2, 'persistent');
    assert.equal(message.properties.contentType, 'application/cloudevents+json');
    const event = JSON.parse(message.content.toString());
    assert.equal(message.properties.messageId, event.id);
    assert.equal(message.fields.routingKey, `usage.${event.data.accountId}`);
    received.set(event.id, (received.get(event.id) ?? 0) + 1);
    ch.ack(message);
  }
  await consumer.close();
  assert.deepEqual([...received.keys()].sort(), [...ids].sort(), 'every record, none missing');
});

test('NATS JetStream: Nats-Msg-Id drops redeliveries; the server killed mid-export and started again: each event stored once', { skip: noNats, timeout: 120_000 }, async () => {
  const { store, ids } = await storeWithRecords(30);
  const nats = await natsServer();
  const { port } = nats;
  const config = loadConfig({ LBMETER_DB: ':memory:', LBMETER_EXPORT_URL: nats.url, LBMETER_EXPORT_FORMAT: 'openmeter', LBMETER_EXPORT_TIMEOUT: '2' });
  const sink = configuredSink(config.export)!;
  cleanups.push(async () => sink.close?.());
  // Killed after the second batch is acknowledged, in the middle of the third.
  const first = await runExport(store, interrupted(sink, 3, async () => { setTimeout(() => void nats.stop(), 5); }), exportOptions);
  assert.ok(first.stoppedBy, 'the export stopped when the server went away');
  const left = await unexported(store);
  assert.ok(left >= 15 && left <= 20, `${left} records not acknowledged`);
  await nats.start();
  for (let i = 0; i < 20 && (await runExport(store, sink, exportOptions)).stoppedBy; i++) await new Promise((r) => setTimeout(r, 300));
  assert.equal(await unexported(store), 0);

  // The stream holds each event once: the events of a record for OpenMeter are one each here.
  const nc = await natsConnect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(streamName('lbmeter.usage'));
    assert.equal(info.state.messages, ids.size, 'each event stored once, redeliveries dropped');
    const seen = new Set<string>();
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(streamName('lbmeter.usage'), { seq }).catch(() => undefined);
      if (!m) continue;
      const event = JSON.parse(new TextDecoder().decode(m.data));
      assert.equal(m.header.get('Nats-Msg-Id'), event.id);
      assert.equal(m.subject, `lbmeter.usage.${event.subject}`);
      seen.add(event.id);
    }
    assert.equal(seen.size, ids.size);
  } finally {
    await nc.close();
  }
});

async function freshStore(): Promise<Store> {
  const store = await openStore(await sqlite!.fixture.create());
  cleanups.push(() => store.close());
  await putCluster(store.db, { id: 1, name: 'C1', dataCenter: 'ORD' });
  return store;
}

const create = (lb: number, account = 77) => ({
  id: `create-${lb}`, type: 'CREATE_LOADBALANCER', time: new Date(Date.now() - 3_600_000).toISOString(), accountId: account, loadBalancerId: lb,
  loadBalancer: { name: `lb-${lb}`, protocol: 'HTTP', clusterId: 1, status: 'ACTIVE', virtualIps: [{ id: lb, address: '10.0.0.1', ipVersion: 'IPV4', type: 'PUBLIC' }] },
});
const storedEvents = async (store: Store) => (await store.db.selectFrom('events').select('id').orderBy('id').execute()).map((r) => r.id);
async function until(check: () => Promise<boolean>, what: string, ms = 30_000) {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting: ${what}`);
}

// Malformed in four ways: not JSON, not events, an event the checks refuse, and a good batch
// with a bad event (all or nothing, as over HTTP).
const refused: [string, RegExp][] = [
  ['{"events": [', /^not JSON$/],
  [JSON.stringify({ hello: 'world' }), /must NOT have additional properties|must have required property/],
  [JSON.stringify({ events: [{ ...create(9), time: 'yesterday' }] }), /^events\[0\]\.time: expected/],
  [JSON.stringify({ events: [create(10), { ...create(11), clusterId: 1, accountId: -1 }] }), /must/],
];

test('RabbitMQ: batches and single events stored once by two consumers, redeliveries harmless, refused messages dead-lettered with the reason, a broker restart survived', { skip: noRabbit, timeout: 120_000 }, async () => {
  const store = await freshStore();
  const queue = `lbmeter.test-events.${randomBytes(4).toString('hex')}`;
  const publisher = await amqp.connect(RABBIT);
  const channel = await publisher.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
  const consumersOnQueue = async () => {
    const c = await amqp.connect(RABBIT);
    try {
      return (await (await c.createChannel()).checkQueue(queue)).consumerCount;
    } finally {
      await c.close();
    }
  };
  // Stopped while it is still connecting: the connection it was opening is closed too.
  await consumeEvents(store, { url: RABBIT, topic: queue, logger, retryMs: 200 }).stop();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await consumersOnQueue(), 0, 'a consumer stopped while connecting leaves nothing consuming');
  const metrics = new Metrics(store, { storeGauges: false });
  const consumers = [consumeEvents(store, { url: RABBIT, topic: queue, logger, retryMs: 200, metrics }), consumeEvents(store, { url: RABBIT, topic: queue, logger, retryMs: 200, metrics })];
  cleanups.push(async () => {
    const c = await amqp.connect(RABBIT);
    const ch = await c.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteQueue(`${queue}.dead-letters`);
    await c.close();
  });
  const publish = async (body: string) => {
    channel.sendToQueue(queue, Buffer.from(body), { persistent: true, contentType: 'application/json' });
    await channel.waitForConfirms();
  };
  // Every event twice (a control plane that retried), a batch, single events.
  for (let i = 0; i < 2; i++) {
    await publish(JSON.stringify({ events: [create(1), create(2), create(3)] }));
    for (const lb of [4, 5]) await publish(JSON.stringify(create(lb)));
  }
  for (const [body] of refused) await publish(body);
  await until(async () => (await storedEvents(store)).length === 5, 'five events stored');

  const dead = await publisher.createChannel();
  const letters: { body: string; fault: string }[] = [];
  await until(async () => {
    for (let m = await dead.get(`${queue}.dead-letters`); m; m = await dead.get(`${queue}.dead-letters`)) {
      letters.push({ body: m.content.toString(), fault: String(m.properties.headers?.['x-lbmeter-fault']) });
      dead.ack(m);
    }
    return letters.length === refused.length;
  }, 'the refused messages in the dead letters');
  for (const [body, reason] of refused) assert.match(letters.find((l) => l.body === body)!.fault, reason, body);
  await publisher.close();

  // The broker goes away and comes back; events published after it are consumed (the consumers reconnect).
  cleanups.push(async () => rabbitctl('start_app'));
  rabbitctl('stop_app');
  rabbitctl('start_app');
  const again = await amqp.connect(RABBIT);
  const ch2 = await again.createConfirmChannel();
  ch2.sendToQueue(queue, Buffer.from(JSON.stringify({ events: [create(6), create(1)] })), { persistent: true });
  await ch2.waitForConfirms();
  await again.close();
  await until(async () => (await storedEvents(store)).length === 6, 'the event published after the restart');
  for (const c of consumers) await c.stop();
  assert.deepEqual(await storedEvents(store), ['create-1', 'create-2', 'create-3', 'create-4', 'create-5', 'create-6'], 'each once');
  // Every message counted by its outcome: 7 stored (duplicates included: stored means taken), 4 refused.
  const counted = Object.fromEntries((await metrics.busEventMessages.get()).values.map((v) => [v.labels.result, v.value]));
  assert.deepEqual(counted, { stored: 7, dead_letter: 4 });
  // Stopped means closed: nothing left consuming, not even a session that was being opened again.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(await consumersOnQueue(), 0);
});

test('NATS JetStream: one durable consumer shared by two processes, each event stored once, refused messages dead-lettered, a server restart survived', { skip: noNats, timeout: 120_000 }, async () => {
  const store = await freshStore();
  const nats = await natsServer();
  const { url } = nats;
  const topic = 'lbmeter.events';
  const consumers = [consumeEvents(store, { url, topic, logger, retryMs: 200 }), consumeEvents(store, { url, topic, logger, retryMs: 200 })];
  cleanups.push(async () => { for (const c of consumers) await c.stop(); });

  const publish = async (bodies: string[]) => {
    const nc = await natsConnect({ servers: url });
    const js = nc.jetstream();
    // The stream is the consumers' to make: wait for it.
    const jsm = await nc.jetstreamManager();
    await until(async () => !!(await jsm.streams.info(streamName(topic)).catch(() => undefined)), 'the events stream');
    for (const body of bodies) await js.publish(topic, new TextEncoder().encode(body));
    await nc.close();
  };
  await publish([JSON.stringify({ events: [create(1), create(2)] }), JSON.stringify(create(3)), JSON.stringify(create(1)), ...refused.map(([b]) => b)]);
  await until(async () => (await storedEvents(store)).length === 3, 'three events stored');

  await nats.stop('SIGTERM');
  await nats.start();
  await publish([JSON.stringify({ events: [create(4), create(2)] })]);
  await until(async () => (await storedEvents(store)).length === 4, 'the event published after the restart');
  assert.deepEqual(await storedEvents(store), ['create-1', 'create-2', 'create-3', 'create-4']);

  const nc = await natsConnect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    const letters = `${streamName(topic)}_DEAD_LETTERS`;
    await until(async () => (await jsm.streams.info(letters)).state.messages === refused.length, 'the refused messages in the dead letters');
    for (let seq = 1; seq <= refused.length; seq++) {
      const m = await jsm.streams.getMessage(letters, { seq });
      const body = new TextDecoder().decode(m.data);
      const reason = refused.find(([b]) => b === body)![1];
      assert.match(m.header.get('Lbmeter-Fault'), reason, body);
    }
  } finally {
    await nc.close();
  }
});
