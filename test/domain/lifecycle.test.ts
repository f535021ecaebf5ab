import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalState, timeline, stateAt } from '../../src/domain/lifecycle.ts';
import { countAccountAt } from '../../src/domain/snapshot.ts';
import type { EventType, LifecycleEvent, LoadBalancerPatch } from '../../src/domain/types.ts';

const ev = (id: string, lb: number, type: EventType, t: number, loadBalancer?: LoadBalancerPatch): LifecycleEvent =>
  ({ id, type, timeMs: t, accountId: 1, loadBalancerId: lb, ...(loadBalancer ? { loadBalancer } : {}) });
const v4 = (id: number, address: string, type: 'PUBLIC' | 'SERVICENET') => ({ id, address, ipVersion: 'IPV4' as const, type });

test('replay is independent of arrival order', () => {
  const events = [
    ev('a', 1, 'CREATE_LOADBALANCER', 10, { name: 'web', protocol: 'HTTP', clusterId: 1 }),
    ev('b', 1, 'SSL_ONLY_ON', 20),
    ev('c', 1, 'SUSPEND_LOADBALANCER', 30),
    ev('d', 1, 'UNSUSPEND_LOADBALANCER', 40, { name: 'renamed' }),
  ];
  const inOrder = finalState(events);
  assert.deepEqual(finalState([...events].reverse()), inOrder);
  assert.deepEqual(inOrder && { name: inOrder.name, status: inOrder.status, ssl: inOrder.sslMode }, { name: 'renamed', status: 'ACTIVE', ssl: 'ON' });
});

test('events before the CREATE wait for it; nothing applies after a DELETE', () => {
  assert.equal(finalState([ev('x', 1, 'SSL_OFF', 5)]), undefined);
  const s = finalState([ev('d', 1, 'DELETE_LOADBALANCER', 50), ev('a', 1, 'CREATE_LOADBALANCER', 10, { name: 'n', protocol: 'HTTP', clusterId: 1 }), ev('z', 1, 'SSL_ONLY_ON', 60)]);
  assert.equal(s?.status, 'DELETED');
  assert.equal(s?.deletedMs, 50);
  assert.equal(s?.sslMode, 'OFF');
});

test('VIPs are kept IPv4 first, then IPv6, ascending id', () => {
  const s = finalState([ev('a', 1, 'CREATE_LOADBALANCER', 1, {
    name: 'n', protocol: 'HTTP', clusterId: 1,
    virtualIps: [{ id: 5, address: '::1', ipVersion: 'IPV6', type: 'PUBLIC' }, v4(9, '10.0.0.9', 'PUBLIC'), v4(3, '10.0.0.3', 'SERVICENET')],
  })]);
  assert.deepEqual(s?.virtualIps.map((v) => v.id), [3, 9, 5]);
});

test('account counts: non-deleted load balancers and distinct IPv4 VIPs by type', () => {
  const shared = v4(1, '10.0.0.1', 'PUBLIC');
  const a = timeline([ev('a', 1, 'CREATE_LOADBALANCER', 10, { name: 'a', protocol: 'HTTP', clusterId: 1, virtualIps: [shared, v4(2, '10.1.0.2', 'SERVICENET')] })]);
  const b = timeline([
    ev('b', 2, 'CREATE_LOADBALANCER', 20, { name: 'b', protocol: 'HTTP', clusterId: 1, virtualIps: [shared, { id: 3, address: '::3', ipVersion: 'IPV6', type: 'PUBLIC' }] }),
    ev('c', 2, 'DELETE_LOADBALANCER', 40),
  ]);
  assert.deepEqual(countAccountAt([a, b], 5), { numLoadBalancers: 0, numPublicVips: 0, numServicenetVips: 0 });
  assert.deepEqual(countAccountAt([a, b], 20), { numLoadBalancers: 2, numPublicVips: 1, numServicenetVips: 1 });
  assert.deepEqual(countAccountAt([a, b], 40), { numLoadBalancers: 1, numPublicVips: 1, numServicenetVips: 1 });
  assert.equal(stateAt(b, 39)?.status, 'ACTIVE');
});
