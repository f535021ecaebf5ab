// Lifecycle events from a bus (issue 22): the control plane publishes the documents POST
// /management/usage/events takes, one event or a batch a message, on RabbitMQ (this machine's)
// or NATS JetStream (a server the test starts). lbmeter stores each event once, however often it
// is delivered and by however many consumers; refused messages go to the dead letters with the
// reason; the broker goes away mid-consume and comes back: nothing lost.

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
import { engines } from '../helpers/engines.ts';
import { freePort } from '../helpers/haproxy.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { putCluster } from '../../src/store/inventory.ts';
import { consumeEvents, eventsStreamOf } from '../../src/ingest/busEvents.ts';

const RABBIT = 'amqp://guest:guest@127.0.0.1:5672';
const logger = pino({ level: process.env.LBMETER_TEST_LOG ?? 'silent' });
const [sqlite] = await engines();
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const reachable = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
  s.on('error', () => resolve(false));
});
const noRabbit = (await reachable(5672)) ? undefined : 'RabbitMQ is not running on 127.0.0.1:5672';
if (noRabbit && process.env.REQUIRE_TOOLS === '1') throw new Error(`REQUIRE_TOOLS=1 but ${noRabbit}`);

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
  const consumers = [consumeEvents(store, { url: RABBIT, topic: queue, logger, retryMs: 200 }), consumeEvents(store, { url: RABBIT, topic: queue, logger, retryMs: 200 })];
  cleanups.push(async () => {
    const c = await amqp.connect(RABBIT);
    const ch = await c.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteQueue(`${queue}.dead-letters`);
    await c.close();
  });
  const publisher = await amqp.connect(RABBIT);
  const channel = await publisher.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
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
  const rabbitctl = (command: string) => { execFileSync('rabbitmqctl', [command], { stdio: 'ignore', timeout: 60_000 }); };
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
});

test('NATS JetStream: one durable consumer shared by two processes, each event stored once, refused messages dead-lettered, a server restart survived', { timeout: 120_000 }, async () => {
  const store = await freshStore();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lbmeter-nats-events-'));
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await reachable(port)); i++) await new Promise((r) => setTimeout(r, 100));
  };
  const stop = async () => {
    const s = server!;
    if (s.exitCode !== null || s.signalCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill('SIGTERM');
    await exited;
  };
  cleanups.push(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  const url = `nats://127.0.0.1:${port}`;
  const topic = 'lbmeter.events';
  const consumers = [consumeEvents(store, { url, topic, logger, retryMs: 200 }), consumeEvents(store, { url, topic, logger, retryMs: 200 })];
  cleanups.push(async () => { for (const c of consumers) await c.stop(); });

  const publish = async (bodies: string[]) => {
    const nc = await natsConnect({ servers: url });
    const js = nc.jetstream();
    // The stream is the consumers' to make: wait for it.
    const jsm = await nc.jetstreamManager();
    await until(async () => !!(await jsm.streams.info(eventsStreamOf(topic)).catch(() => undefined)), 'the events stream');
    for (const body of bodies) await js.publish(topic, new TextEncoder().encode(body));
    await nc.close();
  };
  await publish([JSON.stringify({ events: [create(1), create(2)] }), JSON.stringify(create(3)), JSON.stringify(create(1)), ...refused.map(([b]) => b)]);
  await until(async () => (await storedEvents(store)).length === 3, 'three events stored');

  await stop();
  await start();
  await publish([JSON.stringify({ events: [create(4), create(2)] })]);
  await until(async () => (await storedEvents(store)).length === 4, 'the event published after the restart');
  assert.deepEqual(await storedEvents(store), ['create-1', 'create-2', 'create-3', 'create-4']);

  const nc = await natsConnect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    const letters = `${eventsStreamOf(topic)}_DEAD_LETTERS`;
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
