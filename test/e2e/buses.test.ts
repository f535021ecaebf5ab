// Bus sinks against real brokers (issue 22): RabbitMQ on this machine (127.0.0.1:5672) and a NATS
// JetStream server the test starts. A broker goes away in the middle of an export and comes back:
// every record reaches the bus, each is marked exported only after the broker confirmed it, and
// JetStream stores each event once (its duplicate window drops the redelivered ones).

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
import { engines } from '../helpers/engines.ts';
import { freePort } from '../helpers/haproxy.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { reviseFinalRecords } from '../../src/store/usageRecords.ts';
import { runExport } from '../../src/jobs/export.ts';
import { configuredSink } from '../../src/export/sinks.ts';
import { loadConfig } from '../../src/config.ts';
import { usageEventId } from '../../src/export/cloudEvents.ts';
import { streamOf } from '../../src/export/natsSink.ts';
import type { BillingSink } from '../../src/export/sink.ts';
import type { UsageRecordDraft } from '../../src/domain/rollup.ts';

const HOUR = 3_600_000;
const H0 = Date.UTC(2026, 10, 5, 0);
const RABBIT = 'amqp://guest:guest@127.0.0.1:5672';
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

  const rabbitctl = (command: string) => { execFileSync('rabbitmqctl', [command], { stdio: 'ignore', timeout: 60_000 }); };
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
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lbmeter-nats-'));
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(await reachable(port)); i++) await new Promise((r) => setTimeout(r, 100));
  };
  const stop = async () => {
    const s = server!;
    if (s.exitCode !== null || s.signalCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill('SIGKILL');
    await exited;
  };
  cleanups.push(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();

  const config = loadConfig({ LBMETER_DB: ':memory:', LBMETER_EXPORT_URL: `nats://127.0.0.1:${port}`, LBMETER_EXPORT_FORMAT: 'openmeter', LBMETER_EXPORT_TIMEOUT: '2' });
  const sink = configuredSink(config.export)!;
  cleanups.push(async () => sink.close?.());
  // Killed after the second batch is acknowledged, in the middle of the third.
  const first = await runExport(store, interrupted(sink, 3, async () => { setTimeout(() => void stop(), 5); }), exportOptions);
  assert.ok(first.stoppedBy, 'the export stopped when the server went away');
  const left = await unexported(store);
  assert.ok(left >= 15 && left <= 20, `${left} records not acknowledged`);
  await start();
  for (let i = 0; i < 20 && (await runExport(store, sink, exportOptions)).stoppedBy; i++) await new Promise((r) => setTimeout(r, 300));
  assert.equal(await unexported(store), 0);

  // The stream holds each event once: the events of a record for OpenMeter are one each here.
  const nc = await natsConnect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(streamOf('lbmeter.usage'));
    assert.equal(info.state.messages, ids.size, 'each event stored once, redeliveries dropped');
    const seen = new Set<string>();
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(streamOf('lbmeter.usage'), { seq }).catch(() => undefined);
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
