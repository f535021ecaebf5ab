// Virtual IPs on the wire as seed 003 prints them: IPv6 in full form, whatever form was received.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wireAddress } from '../../src/domain/ipAddress.ts';

test('IPv6 in full form (eight groups of four lower-case digits); IPv4 and anything else as received', () => {
  const cases: [string, string][] = [
    ['2001:4801:79f1:2:22d6:5749::1', '2001:4801:79f1:0002:22d6:5749:0000:0001'], // seed 003's address, compressed
    ['2001:4801:79f1:0002:22d6:5749:0000:0001', '2001:4801:79f1:0002:22d6:5749:0000:0001'],
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
    ['::1', '0000:0000:0000:0000:0000:0000:0000:0001'],
    ['::', '0000:0000:0000:0000:0000:0000:0000:0000'],
    ['2001:db8::', '2001:0db8:0000:0000:0000:0000:0000:0000'],
    ['::ffff:10.0.0.1', '0000:0000:0000:0000:0000:ffff:0a00:0001'],
    ['fe80::1%eth0', 'fe80:0000:0000:0000:0000:0000:0000:0001'],
    ['10.12.99.227', '10.12.99.227'],
    ['not an address <&>', 'not an address <&>'],
    ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
  ];
  for (const [given, wire] of cases) assert.equal(wireAddress(given), wire, given);
});
