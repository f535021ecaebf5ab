// One /metrics for a process group (LBMETER_WORKERS > 1, node:cluster): a scrape answered by any
// worker, or by the primary's metrics port, holds the counters of every process summed and the
// store gauges read once (by the primary), through prom-client's cluster aggregator. Without it
// each scrape answered one worker's counters, and the primary's jobs and polls never appeared.

import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const COLLECT = 'lbmeter:metrics-collect';
const COLLECTED = 'lbmeter:metrics-collected';
const ASK = 'lbmeter:metrics-ask';
const ANSWER = 'lbmeter:metrics-answer';
const TIMEOUT_MS = 5_000;

type Message = { type?: string; id?: number; json?: unknown; text?: string; error?: string };
let nextId = 0;

/**
 * In the primary: the exposition of its own registry and every worker's, each metric summed by
 * its aggregator; workers asking for it (workerExposition) are answered. A worker that does not
 * answer in 5 s is left out rather than failing the scrape.
 */
export function clusterExposition(own: Registry): () => Promise<string> {
  const waiting = new Map<number, { replies: unknown[]; pending: number; done: () => void }>();
  cluster.on('message', (worker, message: Message) => {
    if (message?.type === COLLECTED) {
      const request = waiting.get(message.id!);
      if (!request) return;
      request.replies.push(message.json);
      if (--request.pending === 0) request.done();
    } else if (message?.type === ASK) {
      exposition().then(
        (text) => worker.isConnected() && worker.send({ type: ANSWER, id: message.id, text }),
        (err: Error) => worker.isConnected() && worker.send({ type: ANSWER, id: message.id, error: err.message }),
      );
    }
  });
  const exposition = async (): Promise<string> => {
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
    if (workers.length === 0) return own.metrics();
    const id = nextId++;
    const replies: unknown[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, TIMEOUT_MS);
      function done() {
        clearTimeout(timer);
        waiting.delete(id);
        resolve();
      }
      waiting.set(id, { replies, pending: workers.length, done });
      for (const w of workers) w!.send({ type: COLLECT, id });
    });
    const all = [await own.getMetricsAsJSON(), ...replies] as Parameters<typeof AggregatorRegistry.aggregate>[0];
    return AggregatorRegistry.aggregate(all).metrics();
  };
  return exposition;
}

/** In a worker: answers the primary's collection with its registry, and asks the primary for the whole exposition. */
export function workerExposition(own: Registry): () => Promise<string> {
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  process.on('message', (message: Message) => {
    if (message?.type === COLLECT) {
      void own.getMetricsAsJSON().then((json) => process.send?.({ type: COLLECTED, id: message.id, json }));
    } else if (message?.type === ANSWER) {
      const request = waiting.get(message.id!);
      waiting.delete(message.id!);
      if (message.error !== undefined) request?.reject(new Error(message.error));
      else request?.resolve(message.text!);
    }
  });
  return () => new Promise<string>((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('the primary process did not answer for the metrics within 10 s'));
    }, 2 * TIMEOUT_MS);
    waiting.set(id, {
      resolve: (text) => { clearTimeout(timer); resolve(text); },
      reject: (err) => { clearTimeout(timer); reject(err); },
    });
    process.send!({ type: ASK, id });
  });
}
